import { Command } from 'commander';
import { openStack } from '../../core/stack/index.ts';
import { existsSync, statSync } from 'node:fs';
import { describeBreak, verifyLedger, type AuditReport } from '../../core/ledger/index.ts';
import { openAnchorLog, readAnchor } from '../../core/anchor/index.ts';
import { LedgerNotFoundError } from '../../core/store/index.ts';
import type { CacoConfig } from '../../core/config/index.ts';
import { UsageError } from '../errors.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { replayLedger } from '../replay.ts';
import { verifiedView } from '../../core/store/index.ts';
import { createLogger } from '../../core/log/index.ts';
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
      .option('--json', 'print the report as JSON'),
  ).action(async (o: GlobalOptions & { json?: boolean; ledger?: string; anchor?: string; expectHead?: string }) => {
    const config = configFrom(o);
    if (o.expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.expectHead.trim())) throw new UsageError(`--expect-head: "${o.expectHead}" is not a head root (64 hex digits, as caco simulate prints after "anchor: head root")`);
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
      const log = await openAnchorLog(stack, { create: false, ...(o.anchor !== undefined ? { spec: o.anchor } : {}) });
      const present = await log.exists();
      if (o.anchor !== undefined && !present) throw new UsageError(`--anchor: no anchor at ${log.where}`);
      const anchor = present ? await readAnchor(log, stack.keyring) : undefined;
      // Progress rewrites one line on a terminal; elsewhere (a log, a pipe) it would run into the report.
      const tty = process.stderr.isTTY === true;
      const report = await verifyLedger(stack.store, stack.keyring, (n) => void (tty && process.stderr.write(`\rverified ${n.toLocaleString('en-GB')} events…`)), {
        ...(anchor ? { anchor } : {}),
        ...(o.expectHead !== undefined ? { expectHead: o.expectHead } : {}),
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (o.json) console.log(JSON.stringify(report, null, 2));
      // A broken ledger's reasons quote what was stored there, which whoever broke it chose: printed inert.
      else for (const line of describeReport(report, present ? undefined : log.where)) console.log(inert(line));
      process.exitCode = report.ok ? 0 : 1;
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
      const summary = await replayLedger(verifiedView(stack.store, stack.keyring, createLogger({ level: config.logLevel })));
      if (o.json) console.log(JSON.stringify(summary, null, 2));
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
      }
    } finally {
      await stack.close();
    }
  });
  return audit;
}

/** The report for people: what is broken (ledger order first), then the anchor and the expected head. */
export function describeReport(r: AuditReport, noAnchorAt?: string): string[] {
  const n = (x: number) => x.toLocaleString('en-GB');
  const out: string[] = [];
  const b = r.firstBroken;
  if (b) {
    // Every break (up to 20): refused and unreadable messages are passed over and the check goes on.
    for (const x of r.broken.slice(0, 20)) out.push(x.stream === '' ? `ledger BROKEN at ${describeBreak(x)}` : `ledger BROKEN: ${describeBreak(x)}`);
    if (r.broken.length > 20) out.push(`${r.broken.length - 20} more break(s); --json lists them`);
  } else {
    out.push(`ledger OK: ${n(r.events)} events in ${n(r.streams)} streams; head ${r.headHash}`);
  }
  const a = r.anchor;
  if (a) {
    if (a.ok && a.checkpoints === 0) out.push(`anchor ${a.where} holds no checkpoint yet: nothing is anchored, so a deleted last event, a deleted stream or a reorder across streams cannot be detected`);
    else if (a.ok) out.push(`anchor OK: the ledger matches all ${n(a.checkpoints)} checkpoints in ${a.where}; the last at position ${a.lastMatched!.position} (${n(a.lastMatched!.events)} events), root ${a.lastMatched!.root}`);
    else {
      out.push(`anchor BROKEN (${a.where}): ${a.problem}`);
      out.push(a.lastMatched ? `the ledger matches the anchor up to checkpoint #${a.lastMatched.seq} (position ${a.lastMatched.position}, ${n(a.lastMatched.events)} events)` : 'the ledger matches no checkpoint of the anchor');
    }
  } else if (noAnchorAt) {
    out.push(`no anchor at ${noAnchorAt}: a deleted last event, a deleted stream or a reorder across streams cannot be detected without one (or --expect-head)`);
  }
  if (r.expectHead) out.push(`expected head ${r.expectHead.ok ? 'OK' : 'BROKEN'}: ${r.expectHead.detail}`);
  out.push(`head root ${r.root} at position ${r.position}`);
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
