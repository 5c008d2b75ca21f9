import { Command } from 'commander';
import { openStack, siteDir } from '../../core/stack/index.ts';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { describeBreak, keyFingerprint, keysOf, publicKeyFromRaw, verifyLedger, type AuditReport, type Keyring } from '../../core/ledger/index.ts';
import { ANCHOR_SIGNER, openAnchorLog, readAnchor } from '../../core/anchor/index.ts';
import { LedgerNotFoundError, type EventStore, type ReadAllOptions } from '../../core/store/index.ts';
import type { Envelope } from '../../core/envelope/index.ts';
import type { CacoConfig } from '../../core/config/index.ts';
import { UsageError } from '../errors.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { replayVerified, refusedLine } from '../verified-replay.ts';
import { unreadLines } from '../../projections/audit/index.ts';
import { SITE_SIGNERS } from '../../core/identity/index.ts';
import { inert } from '../terminal.ts';

export function auditCommand(): Command {
  const audit = new Command('audit').description('check and replay the ledger');

  addGlobalOptions(
    audit
      .command('verify')
      .description('verify every stream (revisions, hash chain, hashes, signatures), that no event is missing between positions, and the ledger against its anchor; exit 1 if anything is broken, 2 if there is no such ledger')
      .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
      .option('--anchor <file|kv>', 'the anchor to hold the ledger to: an anchor.jsonl file, or kv for the site\'s anchor stream on NATS (default: anchor.jsonl beside a SQLite ledger, the site\'s anchor stream for JetStream, when present)')
      .option('--expect-head <root>', 'the head root recorded earlier (printed by caco simulate as "anchor: head root …"): the ledger must still have it')
      .option('--anchor-key <key>', 'the anchor key you hold apart from the ledger: its base64 public key, or its fingerprint fp:… (printed by caco simulate as "anchor key: site-anchor fp:…"); exit 1 when keys.json gives another')
      .option('--json', 'print the report as JSON'),
  ).action(async (o: GlobalOptions & { json?: boolean; ledger?: string; anchor?: string; expectHead?: string; anchorKey?: string }) => {
    const config = configFrom(o);
    if (o.expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.expectHead.trim())) throw new UsageError(`--expect-head: "${o.expectHead}" is not a head root (64 hex digits, as caco simulate prints after "anchor: head root")`);
    const pinnedFp = o.anchorKey !== undefined ? anchorKeyPin(o.anchorKey) : undefined;
    if (o.anchor !== undefined && o.anchor !== 'kv' && o.anchor !== 'nats') {
      if (!existsSync(o.anchor)) throw new UsageError(`--anchor: no anchor file at ${o.anchor}`);
      if (!statSync(o.anchor).isFile()) throw new UsageError(`--anchor: ${o.anchor} is not a file; give the anchor.jsonl file (or kv)`);
    }
    let stack;
    try {
      stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    } catch (err) {
      const lost = err instanceof LedgerNotFoundError ? await lostLedgerFinding(config, err) : undefined;
      if (lost === undefined) throw err;
      console.log(lost);
      process.exitCode = 1;
      return;
    }
    try {
      // The anchor proves something only if its key is the site's: keys.json is not signed,
      // and whoever can write it can put their own key there and re-sign every checkpoint.
      const anchorPub = stack.keyring.publicKey(ANCHOR_SIGNER);
      const foundFp = anchorPub ? keyFingerprint(anchorPub) : undefined;
      if (pinnedFp !== undefined && pinnedFp !== foundFp) {
        const line = `anchor key BROKEN: --anchor-key is site-anchor key ${pinnedFp}, but ${keyDirOf(config, o.ledger)}/keys.json ${foundFp ? `gives ${foundFp}` : 'has no site-anchor key'}: the anchor's checkpoints may be signed by someone else, so they prove nothing`;
        if (o.json) console.log(JSON.stringify({ ok: false, anchorKey: { expected: pinnedFp, found: foundFp ?? null } }, null, 2));
        else console.log(line);
        process.exitCode = 1;
        return;
      }
      const log = await openAnchorLog(stack, { create: false, ...(o.anchor !== undefined ? { spec: o.anchor } : {}) });
      const present = await log.exists();
      if (o.anchor !== undefined && !present) throw new UsageError(`--anchor: no anchor at ${log.where}`);
      // Checked as verify reads the ledger, a checkpoint at a time; --expect-head is looked for
      // among the checkpoints as they pass, so none is kept.
      const anchor = present ? await readAnchor(log, stack.keyring, o.expectHead !== undefined ? { expectHead: o.expectHead } : {}) : undefined;
      // Progress rewrites one line on a terminal; elsewhere (a log, a pipe) it would run into the report.
      const tty = process.stderr.isTTY === true;
      const sources = new Map<string, number>();
      const report = await verifyLedger(countingSources(stack.store, sources), stack.keyring, (n) => void (tty && process.stderr.write(`\rverified ${n.toLocaleString('en-GB')} events…`)), {
        ...(anchor ? { anchor } : {}),
        ...(o.expectHead !== undefined ? { expectHead: o.expectHead } : {}),
      });
      if (tty) process.stderr.write('\r\x1b[K');
      const signers = await judgeSigners(sources, stack.keyring, config, o.ledger);
      const anchorKey = foundFp ? { fingerprint: foundFp, ...(pinnedFp ? { pinned: true } : {}) } : undefined;
      // The key held apart vouches for checkpoints only: with none (the anchor deleted, or emptied
      // with the ledger) it vouches for nothing, and a verify that exited 0 read as if it had.
      const unanchored = pinnedFp !== undefined && (report.anchor === undefined || report.anchor.checkpoints === 0);
      const ok = report.ok && signers.unknown.length === 0 && signers.keyMismatch.length === 0 && !unanchored;
      const walNote = walBeside(stack.sqlitePath);
      const missing = unanchored ? `anchor MISSING: --anchor-key was given, but ${present ? `the anchor at ${log.where} holds no checkpoint` : `there is no anchor at ${log.where}`}: nothing the key signs vouches for this ledger (a site anchors every minute, a simulation at its end)` : undefined;
      if (o.json) console.log(JSON.stringify({ ...report, ok, ...(anchorKey ? { anchorKey } : {}), ...(missing ? { anchorMissing: missing } : {}), ...(walNote ? { walRead: walNote } : {}), signers }, null, 2));
      // A broken ledger's reasons quote what was stored there, which whoever broke it chose: printed inert.
      else for (const line of [...describeReport(report, present ? undefined : log.where, anchorKey), ...(missing ? [missing] : []), ...(walNote ? [walNote] : []), ...describeSigners(signers)]) console.log(inert(line));
      process.exitCode = ok ? 0 : 1;
    } finally {
      await stack.close();
    }
  });

  addGlobalOptions(
    audit
      .command('replay')
      .description('rebuild every projection from the ledger and print what it holds')
      .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
      .option('--json', 'print the projections as JSON'),
  ).action(async (o: GlobalOptions & { json?: boolean; ledger?: string }) => {
    const config = configFrom(o);
    const stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    try {
      // The projections are folded from what verify-on-read lets through, as the site's readers
      // see it; what it refuses is counted here, so totals that leave events out say so.
      const { summary, refused, unlisted } = await replayVerified(stack, config.logLevel);
      if (o.json) console.log(JSON.stringify({ ...summary, refused, refusedUnlisted: unlisted }, null, 2));
      else {
        const r = summary;
        const n = (x: number, d = 0) => x.toLocaleString('en-GB', { maximumFractionDigits: d, minimumFractionDigits: d });
        console.log(`replayed ${n(r.events)} events into every projection in ${n(r.ms)} ms (${n(r.events / Math.max(r.ms / 1000, 1e-9))} events/s)`);
        console.log(`schedule:    ${n(r.schedule.jobs)} jobs (${Object.entries(r.schedule.byStatus).map(([k, v]) => `${v} ${k}`).join(', ')}), ${r.schedule.rejected} rejected, ${r.schedule.deadlineMisses} deadline misses, ${n(r.schedule.plansPublished)} plans`);
        console.log(`energy:      ${n(r.cost.importMwh, 1)} MWh imported, £${n(r.cost.costGbp)} (£${n(r.cost.avgPriceGbpPerMwh, 1)}/MWh) over ${n(r.cost.periods)} half-hours`);
        console.log(`carbon:      ${n(r.carbon.carbonKg / 1000, 1)} tCO2, ${n(r.carbon.avgGPerKwh, 1)} gCO2/kWh`);
        console.log(`flexibility: ${r.flexibility.offers} offers, ${r.flexibility.orders} orders, ${n(r.flexibility.deliveredMwh, 2)} of ${n(r.flexibility.contractedSettledMwh, 2)} MWh delivered, £${n(r.flexibility.netGbp, 2)} net, ${r.flexibility.becknRejections} Beckn requests refused`);
        console.log(`ledger:      ${n(r.audit.streams)} streams, head ${r.audit.headHash}${r.audit.chainOk ? '' : ' (chain broken: run caco audit verify)'}`);
        for (const [type, count] of Object.entries(r.audit.byType)) console.log(`  ${inert(type).padEnd(36)} ${count}`);
        // Events the projections could not read (a version this release does not know, a payload
        // its schema refuses): the totals above leave them out, so say which.
        for (const l of unreadLines(r.audit.projections)) console.log(inert(l));
      }
      if (refused.length > 0) {
        // On stderr as well as in the JSON: the totals above are not the ledger's.
        const line = inert(refusedLine({ refused, unlisted }));
        if (o.json) process.stderr.write(`caco: ${line}\n`);
        else console.log(line);
        process.exitCode = 1;
      }
    } finally {
      await stack.close();
    }
  });
  return audit;
}

/** The report for people: what is broken (ledger order first), then the anchor and the expected head. */
export function describeReport(r: AuditReport, noAnchorAt?: string, anchorKey?: { readonly fingerprint: string; readonly pinned?: boolean }): string[] {
  const n = (x: number) => x.toLocaleString('en-GB');
  const out: string[] = [];
  const b = r.firstBroken;
  if (b) {
    // Every break (up to 20): refused and unreadable messages are passed over and the check goes on.
    for (const x of r.broken.slice(0, 20)) out.push(x.stream === '' ? `ledger BROKEN at ${describeBreak(x)}` : `ledger BROKEN: ${describeBreak(x)}`);
    const more = r.broken.length + r.brokenMore - 20;
    if (more > 0) out.push(`${n(more)} more break(s); --json lists ${r.brokenMore > 0 ? `the first ${n(r.broken.length)}` : 'them'}`);
  } else {
    out.push(`ledger OK: ${n(r.events)} events in ${n(r.streams)} streams; head ${r.headHash}`);
  }
  const a = r.anchor;
  if (a) {
    if (a.ok && a.checkpoints === 0) out.push(`anchor ${a.where} holds no checkpoint yet: nothing is anchored, so a deleted last event, a deleted stream or a reorder across streams cannot be detected`);
    // The checkpoints' roots are of the stored hashes: an event edited in place (its hash left)
    // still matches them, so beside a broken ledger "OK" must not read as reassurance.
    else if (a.ok && b) out.push(`anchor: the ledger's stored hashes match all ${n(a.checkpoints)} checkpoints in ${a.where} (the last at position ${a.lastMatched!.position}, root ${a.lastMatched!.root}), so nothing was added, removed or reordered before it; that does not vouch for the events BROKEN above, whose content no longer matches its hash`);
    else if (a.ok) out.push(`anchor OK: the ledger matches all ${n(a.checkpoints)} checkpoints in ${a.where}; the last at position ${a.lastMatched!.position} (${n(a.lastMatched!.events)} events, signed ${a.lastMatched!.time}), root ${a.lastMatched!.root}`);
    else {
      out.push(`anchor BROKEN (${a.where}): ${a.problem}`);
      out.push(a.lastMatched ? `the ledger matches the anchor up to checkpoint #${a.lastMatched.seq} (position ${a.lastMatched.position}, ${n(a.lastMatched.events)} events)` : 'the ledger matches no checkpoint of the anchor');
    }
    if (a.note) out.push(`anchor note: ${a.note}`);
    // Past the last checkpoint, only the chains hold the ledger: say how much that is.
    const after = a.lastMatched && a.ok ? r.events - a.lastMatched.events : 0;
    if (after > 0) out.push(`${n(after)} event${after === 1 ? '' : 's'} after the last checkpoint ${after === 1 ? 'is' : 'are'} not anchored`);
    if (anchorKey) {
      out.push(
        anchorKey.pinned
          ? `anchor key: site-anchor key ${anchorKey.fingerprint}, the one --anchor-key gives`
          : `anchor key: site-anchor key ${anchorKey.fingerprint}, from keys.json beside the ledger: the anchor proves something only if this is the key you hold apart (--anchor-key), or with --expect-head`,
      );
    }
  } else if (noAnchorAt) {
    out.push(`no anchor at ${noAnchorAt}: a deleted last event, a deleted stream or a reorder across streams cannot be detected without one (or --expect-head)`);
  }
  if (r.expectHead) out.push(`expected head ${r.expectHead.ok ? 'OK' : 'BROKEN'}: ${r.expectHead.detail}`);
  out.push(`head root ${r.root} at position ${r.position}`);
  return out;
}

/**
 * What a SQLite ledger's write-ahead log beside it added to what was read: a running or
 * crashed site's latest commits, or whatever was put there with the file. SQLite reads it as
 * part of the ledger, so the report says so: the file alone may hold another ledger.
 */
function walBeside(sqlitePath: string | undefined): string | undefined {
  if (sqlitePath === undefined) return undefined;
  const wal = `${sqlitePath}-wal`;
  const size = existsSync(wal) ? statSync(wal).size : 0;
  return size > 0 ? `read with ${wal} beside it (${size.toLocaleString('en-GB')} bytes): SQLite reads a write-ahead log as part of the ledger (a running or crashed site's latest commits); ${sqlitePath} alone may hold less, or other events` : undefined;
}

/** The key folder openStack uses (core/stack/stack.ts): beside a ledger file given, whatever the store, else the site's. */
function keyDirOf(config: CacoConfig, ledger: string | undefined): string {
  return ledger ? join(dirname(ledger), 'keys') : join(siteDir(config), 'keys');
}

/** `--anchor-key`: a fingerprint (fp: and 16 hex digits) or a base64 raw public key, as its fingerprint. */
function anchorKeyPin(given: string): string {
  const v = given.trim();
  if (/^fp:[0-9a-fA-F]{16}$/.test(v)) return v.toLowerCase();
  const raw = /^[A-Za-z0-9+/]{43}=$/.test(v) ? Buffer.from(v, 'base64') : Buffer.alloc(0);
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(raw);
  } catch {
    throw new UsageError(`--anchor-key: "${given}" is neither a key fingerprint (fp: and 16 hex digits, as caco simulate prints after "anchor key: site-anchor") nor the base64 of a raw 32-byte ed25519 public key`);
  }
  return keyFingerprint(key);
}

/**
 * The ledger handed through with every event's source counted. verifyLedger reads the store
 * once; this rides on that read instead of making a second one.
 */
function countingSources(store: EventStore, counts: Map<string, number>): EventStore {
  async function* counted(it: AsyncIterable<Envelope>): AsyncIterable<Envelope> {
    for await (const e of it) {
      const s = String(e.source);
      counts.set(s, (counts.get(s) ?? 0) + 1);
      yield e;
    }
  }
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'readAll') return (opts?: ReadAllOptions) => counted(target.readAll(opts));
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

// The site's own signers live in core/identity, where the gateway and `caco keys add` reserve them too.
export { SITE_SIGNERS };

export interface SignerReport {
  /** Every source found in the ledger, with its event count and the fingerprint of the key keys.json gives it. */
  readonly sources: ReadonlyArray<{ readonly source: string; readonly events: number; readonly key: string | null; readonly known: 'site' | 'registry' | 'unknown' | 'unchecked' }>;
  /** Sources that are neither the site's own nor in the registry (only when the registry was read). */
  readonly unknown: ReadonlyArray<string>;
  /** Site parties whose keys.json key is not the one the registry holds for them. */
  readonly keyMismatch: ReadonlyArray<{ readonly source: string; readonly keysJson: string; readonly registry: string }>;
  /** Where the registry was read, or why it could not be. */
  readonly registry: { readonly where: string } | { readonly unreadable: string };
}

/**
 * Who signed the ledger, against who may: keys.json alone decides which signatures verify,
 * and anyone who can write it can add a party. The admin-signed registry (checked with the
 * admin key keys.json gives) says which parties the site knows.
 */
async function judgeSigners(counts: ReadonlyMap<string, number>, keyring: Keyring, config: CacoConfig, ledger: string | undefined): Promise<SignerReport> {
  const registry = await readRegistry(keyring, config, ledger);
  const parties = 'entries' in registry ? registry.entries : undefined;
  const sources: Array<SignerReport['sources'][number]> = [];
  const unknown: string[] = [];
  const keyMismatch: Array<SignerReport['keyMismatch'][number]> = [];
  for (const [source, events] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    const keys = keysOf(keyring, source);
    const key = keys[0] ? keyFingerprint(keys[0]) : null;
    const entries = parties?.filter((e) => e.party === source) ?? [];
    const known = SITE_SIGNERS.includes(source) ? 'site' : entries.length > 0 ? 'registry' : parties ? 'unknown' : 'unchecked';
    if (known === 'unknown') unknown.push(source);
    // A site party registers the key it signs with under its own name (docs/identity.md).
    const own = entries.filter((e) => e.keyId === e.party && e.role !== 'third-party' && e.status === 'active');
    if (key !== null && own.length > 0 && !own.some((e) => keyFingerprint(e.publicKey) === key)) keyMismatch.push({ source, keysJson: key, registry: keyFingerprint(own[0]!.publicKey) });
    sources.push({ source, events, key, known });
  }
  return { sources, unknown, keyMismatch, registry: 'entries' in registry ? { where: registry.where } : { unreadable: registry.unreadable } };
}

async function readRegistry(keyring: Keyring, config: CacoConfig, ledger: string | undefined): Promise<{ where: string; entries: ReadonlyArray<{ keyId: string; party: string; role: string; status: string; publicKey: string }> } | { unreadable: string }> {
  const { ADMIN_PARTY, KeyRegistry, keyBucketName, openRegistryStore } = await import('../../core/identity/index.ts');
  const dir = keyDirOf(config, ledger);
  const where = config.store === 'jetstream' ? `KV bucket ${keyBucketName(config.site)}` : join(dir, 'registry.db');
  if (config.store !== 'jetstream' && !existsSync(where)) return { unreadable: `no key registry at ${where}` };
  const admin = keyring.publicKey(ADMIN_PARTY);
  if (!admin) return { unreadable: `no "${ADMIN_PARTY}" key in ${dir}/keys.json to check the key registry ${where} with` };
  let store;
  try {
    store = await openRegistryStore({ config, dir, mustExist: true });
  } catch (err) {
    return { unreadable: `key registry ${where}: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    const { entries } = await new KeyRegistry(store, admin).list();
    return { where: `${where} (checked with admin key ${keyFingerprint(admin)})`, entries };
  } catch (err) {
    return { unreadable: `key registry ${where}: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    await store.close();
  }
}

/** The signers for people: one line of every source, then each that is not the site's. */
export function describeSigners(s: SignerReport): string[] {
  const n = (x: number) => x.toLocaleString('en-GB');
  const shown = s.sources.slice(0, 30).map((x) => `${x.source} ${n(x.events)} (${x.key ?? 'no key'})`);
  const more = s.sources.length > shown.length ? `, and ${n(s.sources.length - shown.length)} more (--json lists them)` : '';
  const checked = 'where' in s.registry && s.unknown.length === 0 ? `: each the site's own or a party in the key registry ${s.registry.where}` : '';
  const out = [`signers: ${shown.join(', ')}${more}${checked}`];
  for (const u of s.unknown.slice(0, 20)) {
    const x = s.sources.find((y) => y.source === u)!;
    const plural = x.events === 1 ? '' : 's';
    // Without a key in keys.json its events did not verify at all (the ledger check above says so).
    out.push(
      x.key === null
        ? `signer NOT KNOWN: "${u}" is named as the source of ${n(x.events)} event${plural}, and is neither one of the site's own parties nor in the key registry; keys.json has no key for it either, so ${x.events === 1 ? 'that event does' : 'those events do'} not verify`
        : `signer NOT KNOWN: "${u}" signed ${n(x.events)} event${plural} with ${x.key}, and is neither one of the site's own parties nor in the key registry: its events verify only because keys.json lists its key, which anyone who can write the key folder can do`,
    );
  }
  if (s.unknown.length > 20) out.push(`${s.unknown.length - 20} more unknown signer(s); --json lists them`);
  for (const m of s.keyMismatch) out.push(`signer key NOT REGISTERED: keys.json gives "${m.source}" key ${m.keysJson}, but the key registry holds ${m.registry} for it`);
  if ('unreadable' in s.registry) {
    const others = s.sources.filter((x) => x.known === 'unchecked').map((x) => x.source);
    out.push(`key registry not read (${s.registry.unreadable}): ${others.length ? `${others.slice(0, 10).join(', ')}${others.length > 10 ? ', …' : ''} ${others.length === 1 ? 'is' : 'are'} not the site's own and cannot be checked` : 'every signer is one of the site\'s own parties'}`);
  }
  return out;
}

/**
 * The site's JetStream ledger is gone. With no anchor either, it is a wrong site name (exit 2,
 * nothing created); with an anchor left behind, the ledger was deleted: that is a finding.
 */
async function lostLedgerFinding(config: CacoConfig, err: LedgerNotFoundError): Promise<string | undefined> {
  const [{ connectNats }, { jetstreamManager }, { anchorStreamName }, { isStreamNotFound }] = await Promise.all([
    import('../../core/bus/nats-bus.ts'),
    import('@nats-io/jetstream'),
    import('../../core/store/jetstream-commit.ts'),
    import('../../core/store/nats-checkpoints.ts'),
  ]);
  const nc = await connectNats({ servers: config.natsUrl, name: `caco-audit-${config.site}` });
  try {
    const jsm = await jetstreamManager(nc);
    const name = anchorStreamName(config.site);
    let info;
    try {
      info = await jsm.streams.info(name);
    } catch (e) {
      if (isStreamNotFound(e)) return undefined;
      throw e;
    }
    return `ledger BROKEN: ${err.streamName} is gone, but its anchor ${name} holds ${info.state.messages} checkpoint(s): the whole ledger was deleted`;
  } finally {
    await nc.close();
  }
}
