// test-file-timeout: 300
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Schema } from 'effect';
import { Runtime } from '../../core/runtime/runtime.ts';
import { defineAgent } from '../../core/runtime/agent.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import { WallClock } from '../../core/clock/wall-clock.ts';
import { Uuid7Ids } from '../../core/ids/ids.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { createLogger, silentLogger } from '../../core/log/logger.ts';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { DEFAULT_DOMAIN, FileKeyDirectory, loadSigningKeyFile, natsBapUri, natsBppUri, publicKeyToBase64, type BecknSigningKey } from '../../beckn/index.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { defineCommand } from '../../schemas/registry.ts';
import { NonEmpty } from '../../schemas/common.ts';
import { createCoordinationAgent, natsTransport, writeKeyDirectoryFile, type CoordinationState } from '../../agents/coordination/index.ts';
import { createGridOperatorAgent, natsAddresses } from '../../agents/grid-operator/index.ts';
import { natsServerInstalled, NatsServerProcess } from '../../deploy/local/nats-server.ts';

/**
 * The rival buyer of examples/ts-rival-buyer runs as a separate process (it imports nothing
 * from CACO) against a real site on a real nats-server: the coordination agent on the NATS
 * binding, and the site's own grid operator buying over NATS too. Both buy from the same
 * offer; the site sells no more than it offered; a buyer claiming the rival's subscriber id
 * with another key is refused. A second test runs `caco run` itself and trades with it.
 */

const ROOT = join(import.meta.dirname, '../..');
const RIVAL = join(ROOT, 'examples/ts-rival-buyer/rival-buyer.ts');
const RIVAL_ID = 'rival-buyer.example.org';
const BPP_ID = 'bpp.rival-test.caco.local';
const GRID_OPERATOR_ID = 'grid-operator.caco.local';
const HOUR = 3_600_000;
const skip = !natsServerInstalled() && process.env['CI'] !== 'true' ? 'nats-server not installed' : false;

const FeedEmit = defineCommand('test.feed.emit', 1, 'Append a fact chosen by a test', Schema.Struct({ type: NonEmpty, data: Schema.Unknown }));

function keyFile(dir: string, name: string, subscriberId: string): { path: string; key: BecknSigningKey } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
  const path = join(dir, `${name}.signing-key.json`);
  writeFileSync(path, JSON.stringify({ format: 'caco-beckn-signing-key/1', subscriber_id: subscriberId, key_id: 'k1', signing_private_key: seed }), { mode: 0o600 });
  return { path, key: { subscriberId, uniqueKeyId: 'k1', privateKey } };
}

interface RivalRun {
  readonly code: number | null;
  readonly out: string;
  readonly result: { ok: boolean; orderId?: string; kw?: number; itemId?: string; reason?: string; status?: string } | null;
}

const children = new Set<ChildProcess>();

/** The rival as its own process, run from the project root with tsx (its only import, the NATS client, resolves from the root's node_modules). */
function runRival(env: Record<string, string>): Promise<RivalRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RIVAL], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ code, out, result: line ? (JSON.parse(line.slice(7)) as RivalRun['result']) : null });
    });
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a rival buyer in its own process buys over NATS from a real site, competing with the grid operator without double-selling; an impostor is refused', { skip }, async (t) => {
  const server = await NatsServerProcess.start();
  const dir = mkdtempSync(join(tmpdir(), 'caco-rival-'));
  const bus = await NatsBus.connect({ servers: server.url, name: 'caco-rival-site' });
  const clock = new WallClock();
  const keyring = new MemoryKeyring('rival');
  const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 20 });
  const runtime = new Runtime({ site: 'rivaltest', store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock), registry: cacoRegistry([FeedEmit]), keyring, log: process.env['RIVAL_TEST_LOG'] ? createLogger({ level: 'warn' }) : silentLogger(), delivery: 'independent' });
  try {
    // The site's key directory: its own BPP key and its grid operator's; the rival is registered later, with no restart.
    const bpp = keyFile(dir, 'bpp', BPP_ID);
    const gridOp = keyFile(dir, 'grid-operator', GRID_OPERATOR_ID);
    const rival = keyFile(dir, 'rival', RIVAL_ID);
    const impostor = keyFile(dir, 'impostor', RIVAL_ID);
    const keysPath = join(dir, 'keys.json');
    writeKeyDirectoryFile(keysPath, [{ ...bpp.key, type: 'BPP', url: natsBppUri(DEFAULT_DOMAIN, BPP_ID) }, { ...gridOp.key, type: 'BAP', url: natsBapUri(DEFAULT_DOMAIN, GRID_OPERATOR_ID) }]);
    const keyDirectory = new FileKeyDirectory(keysPath);

    runtime.add(
      defineAgent<null>({
        name: 'feeder',
        version: '1.0.0',
        categories: ['feed'],
        commands: { emit: 'test.feed.emit' },
        initialState: () => null,
        evolve: (s) => s,
        decide: (input) => {
          if (input.kind !== 'command') return [];
          const d = input.command.data as { type: string; data: unknown };
          return [{ stream: `feed-${d.type.replace(/\./g, '_')}`, events: [{ type: d.type, data: d.data }] }];
        },
      }),
    );
    runtime.add(createCoordinationAgent({ runtime, signingKey: bpp.key, keyDirectory, listen: false, nats: { bus }, config: { sellShare: 1, bpp: { id: BPP_ID, uri: natsBppUri(DEFAULT_DOMAIN, BPP_ID) } } }));
    runtime.add(createGridOperatorAgent({ runtime, signingKey: gridOp.key, keyDirectory, transport: natsTransport(bus), config: { ...natsAddresses(DEFAULT_DOMAIN, GRID_OPERATOR_ID), wantKw: 1000, minLeadMin: 30 } }));
    await runtime.start();

    const events = async (): Promise<Envelope[]> => {
      const out: Envelope[] = [];
      for await (const e of store.readAll()) out.push(e);
      return out;
    };
    const ofType = (ev: Envelope[], type: string) => ev.filter((e) => e.type === type);
    let n = 0;
    const emit = async (type: string, data: unknown) => {
      const r = await runtime.send('feeder', 'emit', { type, data }, { id: `feed-${++n}` });
      assert.ok(r.ok, JSON.stringify(r));
    };

    // One hour of flexibility, 1500 kW, on the hour two hours ahead.
    const start = Math.ceil((Date.now() + 2 * HOUR) / HOUR) * HOUR;
    const iso = (ms: number) => new Date(ms).toISOString();
    await emit('compute.flexibility.available', { planId: 'plan-1', windows: [{ windowStart: iso(start), windowEnd: iso(start + HOUR), kw: 1500, marginalCostGbpPerMwh: 60, baselineKw: 9000 }] });
    const offer = await until('the offer', async () => ofType(await events(), 'flex.offer.published').map((e) => e.data as { offerId: string; availableKw: number })[0]);
    assert.equal(offer.availableKw, 1500);

    // Register the rival (the site re-reads its key directory), then let both buyers loose at once.
    writeKeyDirectoryFile(keysPath, [
      { ...bpp.key, type: 'BPP', url: natsBppUri(DEFAULT_DOMAIN, BPP_ID) },
      { ...gridOp.key, type: 'BAP', url: natsBapUri(DEFAULT_DOMAIN, GRID_OPERATOR_ID) },
      { ...rival.key, type: 'BAP', url: natsBapUri(DEFAULT_DOMAIN, RIVAL_ID) },
    ]);
    await new Promise((r) => setTimeout(r, 1100));
    const rivalEnv = { NATS_URL: server.url, RIVAL_KEY_FILE: rival.path, BPP_ID, BPP_PUBLIC_KEY: publicKeyToBase64(bpp.key.privateKey) };
    // Without the BPP's key it does not start: it would act on callbacks anyone could send (a
    // helper following the README bought from a forger).
    const { BPP_PUBLIC_KEY: _pinned, ...unpinned } = rivalEnv;
    const refused = await runRival({ ...unpinned, BPP_PUBLIC_KEY: '' });
    assert.notEqual(refused.code, 0, refused.out);
    assert.match(refused.out, /BPP_PUBLIC_KEY: the BPP's ed25519 public key/);
    const stressData = { stressId: `stress-price-peak-${iso(start).slice(0, 16)}Z`, forecastId: 'fc-1', windowStart: iso(start), windowEnd: iso(start + HOUR), kind: 'price-peak', peakCarbonGPerKwh: 150, peakPriceGbpPerMwh: 180, severity: 0.5 };
    const [first] = await Promise.all([runRival({ ...rivalEnv, WANT_KW: '800' }), emit('grid.stress.expected', stressData)]);
    assert.equal(first.code, 0, first.out);
    assert.ok(first.result?.ok && first.result.orderId, first.out);
    assert.match(first.out, /search → ACK \(Beckn-Status 200\)/);
    // select, confirm and status went to the BPP's own subject; the site reports the order as it keeps it.
    assert.match(first.out, /status → ACK \(Beckn-Status 200\)/);
    assert.match(first.out, /on_status: order ord-\S+ is ACTIVE/);

    // The grid operator's order too (it wants 1000 kW; whoever was second got what was left).
    const confirmedOf = (ev: Envelope[]) => ofType(ev, 'flex.order.confirmed').map((e) => e.data as { orderId: string; offerId: string; bapId: string; bapUri: string; kw: number });
    await until('the grid operator\'s order', async () => (confirmedOf(await events()).some((c) => c.bapId === GRID_OPERATOR_ID) ? true : undefined)).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify((await events()).map((x) => (x.type.startsWith("market.") || x.type === "grid.stress.expected" || x.type === "outbox.effect.failed" ? [x.type, x.data] : x.type)))}`.slice(0, 6000));
    });
    // Whatever is left goes to the rival's next attempt; after that the catalogue is empty.
    const second = await runRival({ ...rivalEnv, WANT_KW: '1500' });
    const third = await runRival({ ...rivalEnv, WANT_KW: '1500', ATTEMPTS: '1' });
    assert.equal(third.code, 3, third.out);
    assert.equal(third.result?.reason, 'nothing to buy');

    for (const r of [first, second, third]) t.diagnostic(r.out.trim());
    let ev = await events();
    const confirmed = confirmedOf(ev);
    t.diagnostic(JSON.stringify(confirmed.map((c) => [c.bapId, c.kw])));
    const rivals = confirmed.filter((c) => c.bapId === RIVAL_ID);
    // The site confirmed the rival's order on its ledger, at its nats: address.
    assert.ok(rivals.some((c) => c.orderId === first.result!.orderId));
    assert.deepEqual([...new Set(rivals.map((c) => c.bapUri))], [natsBapUri(DEFAULT_DOMAIN, RIVAL_ID)]);
    if (second.code === 0) assert.ok(rivals.some((c) => c.orderId === second.result!.orderId), second.out);
    else assert.equal(second.code, 3, second.out);
    // Same offer, two buyers, never more sold than offered: all of it, in fact.
    assert.deepEqual([...new Set(confirmed.map((c) => c.offerId))], [offer.offerId]);
    assert.equal(confirmed.reduce((s, c) => s + c.kw, 0), 1500, JSON.stringify(confirmed));
    const st = runtime.host('coordination')!.state as CoordinationState;
    assert.equal([...st.orders.values()].filter((o) => o.phase === 'confirmed').reduce((s, o) => s + o.kw, 0), 1500);

    // An impostor: the rival's subscriber id and key id, another key. Refused at the door, recorded, nothing sold.
    const before = confirmed.length;
    const fake = await runRival({ ...rivalEnv, RIVAL_KEY_FILE: impostor.path });
    assert.equal(fake.code, 2, fake.out);
    assert.match(fake.out, /search → NACK \(Beckn-Status 401\) 401: bad-signature/);
    ev = await until('the refusal on the ledger', async () => {
      const all = await events();
      return ofType(all, 'beckn.request.rejected').some((e) => /signature bad-signature/.test((e.data as { reason: string }).reason)) ? all : undefined;
    });
    const refusal = ofType(ev, 'beckn.request.rejected').map((e) => e.data as { bapId: string | null; httpStatus: number; code: string }).find((r) => r.httpStatus === 401)!;
    assert.deepEqual([refusal.bapId, refusal.code], [RIVAL_ID, '401']);
    assert.equal(confirmedOf(ev).length, before);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await runtime.stop();
    await bus.close();
    await store.close();
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('`caco run` on NATS hosts the coordination agent: the rival is answered over NATS once its key is registered, and refused before', { skip }, async () => {
  const server = await NatsServerProcess.start();
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-rival-'));
  let site: ChildProcess | undefined;
  try {
    let log = '';
    site = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/caco.ts'), 'run', '--recorded', '--site', 'rivalrun', '--data-dir', join(dir, 'var'), '--nats-url', server.url, '--http-port', '0', '--beckn-port', '0'], {
      cwd: ROOT,
      env: { ...process.env, CACO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    site.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    site.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    await until('caco run to start', async () => (/submit jobs:/.test(log) ? true : site!.exitCode !== null ? Promise.reject(new Error(log)) : undefined), 120_000);
    assert.match(log, /beckn: coordination agent bpp\.rivalrun\.caco\.local \(key k1\) sells flexibility on deg:compute-flexibility: NATS requests on beckn\.deg_compute-flexibility\.<action>/);

    const rival = keyFile(dir, 'rival', RIVAL_ID);
    const bppKey = loadSigningKeyFile(join(dir, 'var/rivalrun/beckn/bpp.signing-key.json'));
    const env = { NATS_URL: server.url, RIVAL_KEY_FILE: rival.path, BPP_PUBLIC_KEY: publicKeyToBase64(bppKey.privateKey), ATTEMPTS: '1', TIMEOUT_MS: '15000' };
    // Not registered yet: refused at the door.
    const unknown = await runRival(env);
    assert.equal(unknown.code, 2, unknown.out);
    assert.match(unknown.out, /search → NACK \(Beckn-Status 401\) 401: unknown-key/);

    // Registered in the site's key directory (made on first run), read again without a restart.
    const keysPath = join(dir, 'var/rivalrun/beckn/keys.json');
    const file = JSON.parse(readFileSync(keysPath, 'utf8')) as { format: string; keys: unknown[] };
    file.keys.push({ subscriber_id: RIVAL_ID, key_id: 'k1', signing_public_key: publicKeyToBase64(rival.key.privateKey), type: 'BAP', url: natsBapUri(DEFAULT_DOMAIN, RIVAL_ID) });
    writeFileSync(keysPath, JSON.stringify(file));
    await new Promise((r) => setTimeout(r, 1100));
    const known = await runRival(env);
    // A new site has no plan yet, so nothing is on sale: the search is ACKed and the signed on_search says so.
    assert.match(known.out, /search → ACK \(Beckn-Status 200\)/);
    assert.match(known.out, /on_search: 0 offer\(s\)/);
    assert.equal(known.code, 3, known.out);
  } finally {
    if (site && site.exitCode === null) {
      site.kill('SIGINT');
      await new Promise((r) => {
        const t = setTimeout(() => {
          site!.kill('SIGKILL');
          r(undefined);
        }, 15_000);
        site!.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
