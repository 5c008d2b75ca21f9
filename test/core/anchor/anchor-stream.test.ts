/**
 * The anchor is checked as it is read (F9: a million checkpoints, 647 MB, were held whole by
 * caco audit verify and by every site start): the chain a record at a time
 * (AnchorChainChecker), the audit taking the next checkpoint only when the ledger's read passes
 * its position, --expect-head looked for as checkpoints pass, the writer's start-up check
 * verifying the last signature only (the hash chain carries it to the others), and a writer
 * that lost its place reading only the file's last line.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { verifyLedger } from '../../../core/ledger/index.ts';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';
import { GENESIS_HASH } from '../../../core/envelope/envelope.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';
import {
  AnchorAuditor,
  AnchorChainChecker,
  ANCHOR_SIGNER,
  AnchorWriter,
  anchorFileFor,
  checkAnchorChain,
  FileAnchorLog,
  LedgerTracker,
  readAnchor,
  sealCheckpoint,
  type AnchorCheckpoint,
  type AnchorLog,
} from '../../../core/anchor/index.ts';
import { shapedRecord } from '../../support/synthetic-anchor.ts';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const T0 = Date.parse('2023-07-03T00:00:00Z');
const event = (i: number): NewEvent => ({ id: randomUUID(), type: 'compute.job.noted', version: 1, time: new Date(T0 + i * 60_000).toISOString(), source: 'grid', correlationId: `c-${i}`, causationId: null, data: { i } });

type Body = Omit<AnchorCheckpoint, 'hash' | 'sig' | 'root' | 'format'>;
const bodyOf = (c: AnchorCheckpoint): Body => {
  const { hash: _h, sig: _s, root: _r, format: _f, ...b } = c;
  return b;
};

/** Re-seal checkpoints from `from` on (renumbered and re-linked), each with `signer(i)`'s key. */
function reseal(cps: ReadonlyArray<AnchorCheckpoint>, from: number, signer: (i: number) => MemoryKeyring): AnchorCheckpoint[] {
  const out = cps.slice(0, from);
  for (let i = from; i < cps.length; i++) {
    out.push(sealCheckpoint({ ...bodyOf(cps[i]!), seq: i + 1, prev: out.at(-1)?.hash ?? GENESIS_HASH }, (b) => signer(i).sign(ANCHOR_SIGNER, b)));
  }
  return out;
}

/** The start-up check's way: the last signature only, and every signature when that fails. */
function checkLastThenEvery(items: ReadonlyArray<unknown>, keys: MemoryKeyring): { count: number; problem: string | undefined } {
  const last = new AnchorChainChecker(keys, 'last');
  for (const item of items) if (!last.push(item)) break;
  if (last.settle()) return { count: last.count, problem: last.problem };
  const every = checkAnchorChain(items, keys);
  return { count: every.valid.length, problem: every.problem };
}

describe('the anchor checked as it is read', { timeout: 60_000 }, () => {
  const keyring = new MemoryKeyring();
  keyring.signingKey(ANCHOR_SIGNER);
  const forger = new MemoryKeyring();
  forger.signingKey(ANCHOR_SIGNER);

  const chain = (n: number): AnchorCheckpoint[] => {
    const t = new LedgerTracker();
    const out: AnchorCheckpoint[] = [];
    for (let i = 0; i < n; i++) {
      t.observe({ stream: `s${i % 3}`, revision: Math.floor(i / 3), position: i + 1, hash: h(String(i)) });
      const s = t.snapshot();
      out.push(sealCheckpoint({ site: 't', seq: i + 1, time: '2023-07-03T00:00:00.000Z', position: s.position, events: s.events, streams: s.streams, headsHash: s.headsHash, logHash: s.logHash, prev: out.at(-1)?.hash ?? GENESIS_HASH, signer: ANCHOR_SIGNER }, (b) => keyring.sign(ANCHOR_SIGNER, b)));
    }
    return out;
  };

  // (A `sig` replaced on a checkpoint whose content a later signature vouches for is the one
  // difference, on purpose: the third test.)
  test('checking the last signature only, and all when it fails, gives every-signature verdicts, whatever is forged', () => {
    const cps = chain(12);
    const tamper = fc.oneof(
      fc.record({ kind: fc.constant('edit' as const), i: fc.nat(11) }),
      fc.record({ kind: fc.constant('forged from' as const), i: fc.nat(11) }),
      fc.record({ kind: fc.constant('removed' as const), i: fc.nat(10) }),
      fc.record({ kind: fc.constant('backwards' as const), i: fc.integer({ min: 1, max: 11 }), forged: fc.boolean() }),
      fc.record({ kind: fc.constant('junk' as const), i: fc.nat(11) }),
    );
    fc.assert(
      fc.property(tamper, (t) => {
        let items: unknown[];
        if (t.kind === 'edit') items = cps.map((c, i) => (i === t.i ? { ...c, position: c.position + 1 } : c));
        else if (t.kind === 'forged from') items = reseal(cps, t.i, () => forger);
        else if (t.kind === 'removed') items = cps.filter((_, i) => i !== t.i);
        else if (t.kind === 'junk') items = cps.map((c, i) => (i === t.i ? 'junk' : c));
        else {
          const moved = cps.map((c, i) => (i === t.i ? ({ ...c, position: cps[t.i - 1]!.position - 1 } as AnchorCheckpoint) : c));
          items = reseal(moved, t.i, (i) => (t.forged && i === t.i ? forger : keyring));
        }
        const every = checkAnchorChain(items, keyring);
        assert.notEqual(every.problem, undefined);
        assert.deepEqual(checkLastThenEvery(items, keyring), { count: every.valid.length, problem: every.problem });
      }),
      { numRuns: 150 },
    );
    assert.deepEqual(checkLastThenEvery(cps, keyring), { count: 12, problem: undefined });
  });

  test('the audit takes each checkpoint when the ledger passes its position, and finds --expect-head among them', () => {
    const cps = chain(30);
    const events = Array.from({ length: 40 }, (_, i) => ({ stream: `s${i % 3}`, revision: Math.floor(i / 3), position: i + 1, hash: h(String(i)) }));
    let taken = 0;
    const source = {
      *[Symbol.iterator]() {
        for (const c of cps) {
          taken++;
          yield c;
        }
      },
    };
    const a = new AnchorAuditor('sqlite', { where: 'test', checkpoints: source, expectHead: ` ${cps[6]!.root.toUpperCase()} ` });
    for (const e of events) {
      a.observe(e);
      // Those before the event's position, and one looked at ahead: never the rest.
      assert.ok(taken <= Math.min(e.position, 30), `at position ${e.position}, ${taken} checkpoints taken`);
    }
    const fold = a.finish(cps[6]!.root);
    assert.equal(taken, 30);
    assert.deepEqual([fold.anchor?.ok, fold.anchor?.checkpoints, fold.anchor?.matched, fold.anchor?.lastMatched?.seq], [true, 30, 30, 30]);
    assert.equal(fold.expectHead?.ok, true);
    assert.match(fold.expectHead?.detail ?? '', /anchor checkpoint #7 .* 33 events were appended since/);
  });

  test('a site start trusts the chain on its last signature; caco audit verify still checks each; a forged one is named either way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-stream-'));
    const keys = new MemoryKeyring();
    const path = join(dir, 'ledger.db');
    const store = new SqliteEventStore({ path, keyring: keys });
    try {
      const log = new FileAnchorLog(anchorFileFor(path));
      const w = await AnchorWriter.open({ store, log, keyring: keys, site: 't', clock: new SimulatedClock(T0) });
      for (let i = 0; i < 5; i++) {
        await store.append('s', [event(i)], 'any');
        await w.checkpoint();
      }
      const good = readFileSync(log.path, 'utf8');
      const cps = good.trim().split('\n').map((l) => JSON.parse(l) as AnchorCheckpoint);
      const write = (list: ReadonlyArray<unknown>) => writeFileSync(log.path, list.map((c) => JSON.stringify(c)).join('\n') + '\n');
      const start = async () => (await AnchorWriter.open({ store, log, keyring: keys, site: 't', clock: new SimulatedClock(T0) })).startProblem;
      const audit = async () => (await verifyLedger(store, keys, () => undefined, { anchor: await readAnchor(log, keys) })).anchor?.problem;

      assert.equal(await start(), undefined);
      // #2's sig replaced by #1's: its content is vouched for by #3-#5's signatures through the
      // hash chain, so a start goes on; the audit names it.
      write(cps.map((c, i) => (i === 1 ? { ...c, sig: cps[0]!.sig } : c)));
      assert.equal(await start(), undefined);
      assert.match((await audit()) ?? '', /anchor checkpoint #2: bad signature/);
      // #3 on re-signed by another key: the last signature fails, and the start names #3.
      const forger = new MemoryKeyring();
      write(reseal(cps, 2, () => forger));
      assert.match((await start()) ?? '', /anchor checkpoint #3: bad signature/);
      assert.match((await audit()) ?? '', /anchor checkpoint #3: bad signature/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a writer that lost its place reads the last line of the file, not the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-stream-'));
    const keys = new MemoryKeyring();
    const path = join(dir, 'ledger.db');
    const store = new SqliteEventStore({ path, keyring: keys });
    try {
      const file = new FileAnchorLog(anchorFileFor(path));
      let failNext = false;
      let whole = 0;
      const log: AnchorLog = {
        where: file.where,
        exists: () => file.exists(),
        read: () => {
          whole++;
          return file.read();
        },
        scan: () => file.scan(),
        lastRecord: () => file.lastRecord(),
        append: async (cp) => {
          if (failNext) {
            failNext = false;
            // Another writer got there first, then this append failed.
            await file.append(cp);
            throw new Error('append failed');
          }
          return file.append(cp);
        },
        close: () => file.close(),
      };
      const w = await AnchorWriter.open({ store, log, keyring: keys, site: 't', clock: new SimulatedClock(T0) });
      await store.append('s', [event(0)], 'any');
      failNext = true;
      await assert.rejects(w.checkpoint(), /append failed/);
      await store.append('s', [event(1)], 'any');
      const next = await w.checkpoint();
      assert.equal(next?.seq, 2, 'it continues after the last checkpoint in the file');
      assert.equal(whole, 0, 'the anchor was never read whole');
      const after = await readAnchor(file, keys);
      assert.equal((await verifyLedger(store, keys, () => undefined, { anchor: after })).anchor?.ok, true);

      // The tail: a cut-short line is not a checkpoint; nor is a junk line, nor JSON with no hash to link to; lines longer than a read.
      const p = join(dir, 'tail.jsonl');
      const tail = new FileAnchorLog(p);
      assert.equal(await tail.lastRecord(), undefined, 'no file');
      writeFileSync(p, '');
      assert.equal(await tail.lastRecord(), undefined, 'empty');
      const one = JSON.stringify(shapedRecord(1));
      writeFileSync(p, one);
      assert.equal(await tail.lastRecord(), undefined, 'only a cut line');
      writeFileSync(p, `${one}\n`);
      assert.deepEqual(await tail.lastRecord(), shapedRecord(1));
      writeFileSync(p, `${one}\n[1]\n7\nnull\n{"seq":2}\n{"hash":2}\n{"hash":"x"}\n`);
      assert.deepEqual(await tail.lastRecord(), shapedRecord(1), 'JSON that is no checkpoint is passed over');
      writeFileSync(p, '[1]\n');
      assert.equal(await tail.lastRecord(), undefined, 'a first line that is no checkpoint');
      const big = (seq: number) => JSON.stringify(shapedRecord(seq, { pad: 'p'.repeat(60_000) }));
      writeFileSync(p, [big(1), big(2), big(3)].join('\n') + '\n');
      assert.equal(((await tail.lastRecord()) as { seq: number }).seq, 3);
      appendFileSync(p, big(4).slice(0, 50_000));
      assert.equal(((await tail.lastRecord()) as { seq: number }).seq, 3, 'a cut-short last line is passed over');
      writeFileSync(p, `${big(1)}\nnot json\n${'q'.repeat(200_000)}\n`);
      assert.equal(((await tail.lastRecord()) as { seq: number }).seq, 1, 'lines that are not checkpoints are passed over');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
