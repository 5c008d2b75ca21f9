/**
 * Verify on read, played from outside: an attacker who can write to the ledger (publish on
 * `caco.<site>.ledger.<stream>` on a real NATS, or open the SQLite file) puts forged
 * commits, junk and tampered rows there. The agents must never evolve or decide on them,
 * the relay must never publish them, every reader must go on with the next good event,
 * each bad one must leave a quarantine record with its position and reason, and
 * `caco audit verify` must exit 1 naming them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';
import { WallClock } from '../../core/clock/wall-clock.ts';
import { SeededRandom, Uuid7Ids } from '../../core/ids/ids.ts';
import { FileKeyring, MemoryKeyring } from '../../core/ledger/keyring.ts';
import { sealBatch } from '../../core/ledger/seal.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import type { Logger } from '../../core/log/logger.ts';
import { defineAgent } from '../../core/runtime/agent.ts';
import { Runtime } from '../../core/runtime/runtime.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { CorruptCommitError } from '../../core/store/jetstream-commit.ts';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { encodeCommit, POSITIONS_PER_COMMIT } from '../../core/store/jetstream-commit.ts';
import type { QuarantineRecord } from '../../core/store/event-store.ts';
import type { Envelope, NewEvent } from '../../core/envelope/envelope.ts';
import { exampleRegistry } from '../example/messages.ts';
import { AnchorWriter, FileAnchorLog, readAnchor } from '../../core/anchor/index.ts';
import { explainJob } from '../../projections/explain/index.ts';
import { eventually } from '../contract/bus-contract.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const root = join(import.meta.dirname, '../..');
const attacker = new MemoryKeyring('attacker');

function reading(source = 'meter', kwh = 1): NewEvent {
  return { id: randomUUID(), type: 'example.meter.read', version: 1, time: '2023-07-03T00:00:00.000Z', source, correlationId: randomUUID(), causationId: null, data: { meter: 'main', periodStart: '2023-07-03T00:00:00.000Z', energyKwh: kwh } };
}

/** A commit as the store would write it, chained on `head`, signed by the attacker's key. */
function forged(stream: string, head: { revision: number; hash: string } | undefined, source = 'meter'): Envelope {
  return sealBatch(stream, [reading(source, 999)], head, attacker)[0]!;
}

interface Seen {
  readonly evolved: Set<string>;
  readonly decided: string[];
}

/** Reacts to every meter reading (decides) and folds them into its state (evolves). */
function watcher(seen: Seen) {
  return defineAgent<{ n: number }>({
    name: 'watcher',
    version: '1.0.0',
    categories: ['watch'],
    subscriptions: ['example.meter.read'],
    observes: ['example.meter.read'],
    initialState: () => ({ n: 0 }),
    evolve: (s, e) => {
      if (e.type === 'example.meter.read') seen.evolved.add(e.id);
      return s;
    },
    decide: (input) => {
      if (input.kind !== 'event') return [];
      seen.decided.push(input.event.id);
      return [{ stream: 'watch-main', events: [{ type: 'example.energy.totalled', data: { meter: 'main', readings: seen.decided.length, totalKwh: 1 } }] }];
    },
  });
}

/** A pino logger whose JSON lines the test can read. */
function capturingLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertQuarantined(records: ReadonlyArray<QuarantineRecord>, expected: ReadonlyArray<{ position: number; reason: RegExp }>) {
  assert.deepEqual(records.map((r) => r.position), expected.map((x) => x.position), JSON.stringify(records, null, 1));
  expected.forEach((x, i) => assert.match(records[i]!.reason, x.reason, `position ${x.position}`));
}

const skip = await natsSkip();

describe('verify on read against a real NATS site (JetStream ledger)', { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-vor-'));
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('forged commits (unknown key; chained on the real head), and junk bytes on a ledger subject are quarantined and skipped; the site goes on, the writer chains on the last verified event, audit verify exits 1 naming each', async () => {
    const site = uniqueToken('vor');
    // Keys where `caco audit verify --data-dir` finds them.
    const keyring = new FileKeyring(join(dir, site, 'keys'));
    const store = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring });
    closers.push(async () => {
      await store.destroy();
      await store.close();
    });
    const outsider = await connect({ servers: natsUrl(), name: 'attacker' });
    closers.push(() => outsider.close());
    const js = jetstream(outsider);
    const subject = (stream: string) => `caco.${site}.ledger.${stream}`;
    const publishRaw = async (stream: string, body: Uint8Array) => (await js.publish(subject(stream), body)).seq * POSITIONS_PER_COMMIT;

    const bus = new MemoryBus();
    closers.push(() => bus.close());
    const relayed: string[] = [];
    await bus.subscribe(`caco.${site}.evt.>`, (m) => void relayed.push((JSON.parse(Buffer.from(m.data).toString('utf8')) as Envelope).id));
    const { log, lines } = capturingLogger();
    const clock = new WallClock();
    const newRuntime = () => new Runtime({ site, store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock), registry: exampleRegistry(), keyring, log, delivery: 'independent' });

    // Before the site starts: two genuine readings, then junk on the same subject (the catch-up path).
    const g0 = (await store.append('meter-main', [reading()], 'no-stream')).events[0]!;
    const g1 = (await store.append('meter-main', [reading()], 0)).events[0]!;
    const junkBefore = await publishRaw('meter-main', Buffer.from('hello, this is not JSON'));

    const seen: Seen = { evolved: new Set(), decided: [] };
    const rt = newRuntime();
    rt.add(watcher(seen));
    await rt.start();
    closers.push(() => rt.stop());

    // Live: a forgery chained exactly on the real head, signed as "meter" by a key the site
    // does not know; a forgery by a source with no key at all; junk again.
    const chained = forged('meter-main', g1);
    const chainedPos = await publishRaw('meter-main', encodeCommit([chained]));
    const unknown = forged('evil-1', undefined, 'evil');
    const unknownPos = await publishRaw('evil-1', encodeCommit([unknown]));
    const junkLive = await publishRaw('meter-main', new Uint8Array([0xff, 0x00, 0x7b]));

    // The site's own next append chains on the last verified event, not on the forgery or
    // the junk (the expected sequence still sees both, so the server accepts it)...
    const g2 = (await store.append('meter-main', [reading()], 'any')).events[0]!;
    assert.equal(g2.revision, 2);
    assert.equal(g2.prevHash, g1.hash);
    // ...and an expected-revision append still works against the verified head.
    const g3 = (await store.append('meter-main', [reading()], 2)).events[0]!;
    assert.equal(g3.revision, 3);

    const genuine = [g0, g1, g2, g3].map((e) => e.id);
    await eventually(() => seen.decided.length >= 4, 'the watcher decided on every genuine reading', 20_000);
    await rt.settle();
    assert.deepEqual(seen.decided, genuine, 'decided on each genuine reading once, in order, and on nothing else');
    for (const bad of [chained.id, unknown.id]) {
      assert.ok(!seen.evolved.has(bad), 'never evolved on a forgery');
      assert.ok(!relayed.includes(bad), 'the relay never published a forgery');
    }
    for (const id of genuine) assert.ok(relayed.includes(id), 'the relay published every genuine event');

    const expected = [
      { position: junkBefore, reason: /not a CACO ledger commit/ },
      { position: chainedPos, reason: /bad signature.*"meter"/ },
      { position: unknownPos, reason: /no registered key for source "evil"/ },
      { position: junkLive, reason: /not a CACO ledger commit/ },
    ];
    assertQuarantined(await store.quarantined(), expected);
    const logged = lines().filter((l) => l['msg'] === 'ledger event quarantined: it failed verification and is skipped');
    assert.deepEqual(logged.map((l) => l['position']), expected.map((x) => x.position), 'one log line per refused message');
    const health = rt.readerHealth();
    assert.ok(health.ok, JSON.stringify(health));
    assert.equal(health.quarantine.refused, 4);
    // GET /jobs/:id reads the ledger too: junk on a subject no longer makes it fail.
    assert.equal((await explainJob(rt.store, 'no-such-job')).found, false);
    assert.ok(health.readers.some((r) => r.name === 'relay') && health.readers.every((r) => r.state === 'running'));

    // The audit names every bad message with its position and carries on.
    const report = await verifyLedger(store, keyring);
    assert.equal(report.ok, false);
    assert.deepEqual(report.broken.map((b) => b.position), expected.map((x) => x.position));
    const cli = caco(['audit', 'verify', '--store', 'jetstream', '--site', site, '--data-dir', dir, '--nats-url', natsUrl()]);
    assert.equal(cli.code, 1, cli.stderr + cli.stdout);
    for (const x of expected) assert.match(cli.stdout, new RegExp(`position ${x.position}\\): .*${x.reason.source}`));

    // A restart restores from the same ledger without acting on anything twice or on a forgery.
    await rt.stop();
    const seen2: Seen = { evolved: new Set(), decided: [] };
    const rt2 = newRuntime();
    rt2.add(watcher(seen2));
    await rt2.start();
    closers.push(() => rt2.stop());
    await rt2.settle();
    assert.deepEqual([...seen2.evolved].sort(), [...genuine].sort(), 'restored from the genuine readings only');
    assert.deepEqual(seen2.decided, []);
    const g4 = (await store.append('meter-main', [reading()], 3)).events[0]!;
    await eventually(() => seen2.decided.length === 1, 'the restarted site acts on the next genuine reading', 20_000);
    assert.deepEqual(seen2.decided, [g4.id]);
    assert.ok(rt2.readerHealth().ok);
  });
});

for (const delivery of ['independent', 'lockstep'] as const) {
  describe(`verify on read on the SQLite ledger (${delivery} delivery)`, { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-vor-sqlite-'));
    const closers: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of closers.reverse()) await c().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    test('a tampered row, a row that is not JSON, a forged row chained on the head and one by an unknown key are quarantined and skipped; audit verify exits 1 naming each', async () => {
      const path = join(dir, 'ledger.db');
      const keyring = new FileKeyring(join(dir, 'keys'));
      const store = new SqliteEventStore({ path, keyring, pollMs: 20 });
      closers.push(() => store.close());
      // The attacker's own connection to the file.
      const raw = new Database(path);
      closers.push(async () => void raw.close());
      const insert = (e: Envelope, data = JSON.stringify(e.data)) =>
        Number(
          raw
            .prepare('INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .run(e.id, e.stream, e.revision, e.type, e.version, e.time, e.source, e.correlationId, e.causationId, data, e.prevHash, e.hash, e.sig).lastInsertRowid,
        );

      const bus = new MemoryBus();
      closers.push(() => bus.close());
      const relayed: string[] = [];
      await bus.subscribe('caco.test.evt.>', (m) => void relayed.push((JSON.parse(Buffer.from(m.data).toString('utf8')) as Envelope).id));
      const { log, lines } = capturingLogger();
      const clock = new SimulatedClock(Date.parse('2023-07-03T00:00:00Z'));
      const rt = new Runtime({ site: 'test', store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock, new SeededRandom('vor')), registry: exampleRegistry(), keyring, log, delivery });
      const seen: Seen = { evolved: new Set(), decided: [] };
      rt.add(watcher(seen));

      // Before the start: g1 is tampered with in place (its stored hash kept), and a row of junk.
      const g0 = (await store.append('meter-main', [reading()], 'no-stream')).events[0]!;
      const g1 = (await store.append('meter-main', [reading()], 0)).events[0]!;
      raw.prepare('UPDATE events SET data = ? WHERE id = ?').run(JSON.stringify({ meter: 'main', periodStart: '2023-07-03T00:00:00.000Z', energyKwh: 123456 }), g1.id);
      const junkPos = insert(forged('junk-1', undefined), '{"meter": "main", not json');
      const g2 = (await store.append('meter-main', [reading()], 1)).events[0]!;
      await rt.start();
      closers.push(() => rt.stop());
      await rt.settle();

      // Live: a forgery chained on the real head, and one by a source without a key.
      const chained = forged('meter-main', g2);
      const chainedPos = insert(chained);
      const unknown = forged('evil-1', undefined, 'evil');
      const unknownPos = insert(unknown);
      // SQLite cannot fork a stream (one row a revision), and the writer does not sign over a
      // head it did not write and cannot verify: the site's next append to it is refused, by name.
      await assert.rejects(store.append('meter-main', [reading()], 'any'), (e: unknown) => e instanceof CorruptCommitError && /: append refused at position \d+: stream "meter-main": its head in the table, revision 3 .* does not verify \(bad signature/.test(e.message) && !/not a CACO ledger commit/.test(e.message));
      for (let i = 0; i < 400 && (await store.quarantined()).length < 4; i++) await new Promise((r) => setTimeout(r, 50));
      await rt.settle();

      const genuine = [g0, g2].map((e) => e.id);
      assert.deepEqual(seen.decided, genuine, 'decided on each genuine, untampered reading once, in order');
      for (const bad of [g1.id, chained.id, unknown.id]) {
        assert.ok(!seen.evolved.has(bad), `never evolved on ${bad}`);
        assert.ok(!relayed.includes(bad), `never relayed ${bad}`);
      }
      const expected = [
        { position: g1.position, reason: /hash mismatch/ },
        { position: junkPos, reason: /not JSON/ },
        { position: chainedPos, reason: /bad signature.*"meter"/ },
        { position: unknownPos, reason: /no registered key for source "evil"/ },
      ];
      assertQuarantined(await store.quarantined(), expected);
      assert.equal(lines().filter((l) => l['msg'] === 'ledger event quarantined: it failed verification and is skipped').length, 4);
      const health = rt.readerHealth();
      assert.ok(health.ok, JSON.stringify(health));
      assert.equal(health.quarantine.refused, 4);

      const report = await verifyLedger(store, keyring);
      assert.deepEqual(report.broken.map((b) => b.position), expected.map((x) => x.position));
      await rt.stop();
      const cli = caco(['audit', 'verify', '--ledger', path]);
      assert.equal(cli.code, 1, cli.stderr + cli.stdout);
      for (const x of expected) assert.match(cli.stdout, new RegExp(`position ${x.position}\\): .*${x.reason.source}`));
    });
  });
}

describe('verify on read and the anchor', { timeout: 60_000 }, () => {
  test('junk and forged rows between anchor checkpoints are named by audit verify, and the anchor still matches: writer and audit pass over them alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-vor-anchor-'));
    const keyring = new FileKeyring(join(dir, 'keys'));
    const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring });
    const raw = new Database(join(dir, 'ledger.db'));
    try {
      const log = new FileAnchorLog(join(dir, 'anchor.jsonl'));
      const writer = await AnchorWriter.open({ store, log, keyring, site: 'test', clock: new WallClock() });
      const g0 = (await store.append('meter-main', [reading()], 'no-stream')).events[0]!;
      await writer.checkpoint();
      const bad = forged('junk-1', undefined);
      raw.prepare('INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(bad.id, bad.stream, 0, bad.type, 1, bad.time, bad.source, bad.correlationId, null, 'not json', bad.prevHash, bad.hash, bad.sig);
      const evil = forged('evil-1', undefined, 'evil');
      raw.prepare('INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(evil.id, evil.stream, 0, evil.type, 1, evil.time, evil.source, evil.correlationId, null, JSON.stringify(evil.data), evil.prevHash, evil.hash, evil.sig);
      await writer.checkpoint();
      const g1 = (await store.append('meter-main', [reading()], 0)).events[0]!;
      await writer.close();
      const report = await verifyLedger(store, keyring, undefined, { anchor: await readAnchor(new FileAnchorLog(join(dir, 'anchor.jsonl')), keyring) });
      assert.deepEqual(report.broken.map((b) => [b.position, b.revision]), [[g0.position + 1, -1], [g0.position + 2, 0]], JSON.stringify(report.broken));
      assert.match(report.broken[1]!.reason, /no registered key for source "evil"/);
      assert.ok(report.anchor?.ok, JSON.stringify(report.anchor));
      assert.equal(report.anchor?.matched, 3);
      assert.equal(report.position, g1.position);
    } finally {
      raw.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
