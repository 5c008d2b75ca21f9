import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { verifyLedger } from '../../../core/ledger/index.ts';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';
import { AnchorWriter, anchorFileFor, FileAnchorLog, readAnchor } from '../../../core/anchor/index.ts';
import { shapedRecord } from '../../support/synthetic-anchor.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const event = (i: number): NewEvent => ({ id: randomUUID(), type: 'compute.job.noted', version: 1, time: new Date(T0 + i * 60_000).toISOString(), source: 'grid', correlationId: `c-${i}`, causationId: null, data: { i } });

/**
 * A crash (or power cut) while a checkpoint is written leaves anchor.jsonl ending in part of a
 * line. The site restarts and goes on anchoring: its next checkpoints must be lines of their
 * own that caco audit verify reads and holds the ledger to.
 */
describe('anchor.jsonl after a checkpoint cut short', { timeout: 30_000 }, () => {
  test('the checkpoints written after the restart are read and held, not glued to the cut line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-cut-'));
    const keyring = new MemoryKeyring();
    const path = join(dir, 'ledger.db');
    const store = new SqliteEventStore({ path, keyring });
    try {
      const log = new FileAnchorLog(anchorFileFor(path));
      const first = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
      for (let i = 0; i < 4; i++) {
        await store.append('s', [event(i)], 'any');
        await first.checkpoint();
      }
      // The crash: half of a fifth checkpoint line, no newline.
      const last = readFileSync(log.path, 'utf8').trimEnd().split('\n').at(-1)!;
      appendFileSync(log.path, last.slice(0, 40));

      const again = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
      assert.match(again.startProblem ?? '', /line 5 .*cut short/, 'the restart notices the cut line');
      // A crash mid-write is no sign of tampering: GET /health must not fail for it all run long.
      assert.equal(again.mismatch, undefined, 'a cut-short last line is not a mismatch');
      // The audit says what the cut line is: a note, not a break (a helper's review: it said BROKEN, exit 1).
      const cutRead = await verifyLedger(store, keyring, () => undefined, { anchor: await readAnchor(new FileAnchorLog(log.path), keyring) });
      assert.equal(cutRead.anchor?.ok, true, cutRead.anchor?.problem);
      assert.match(cutRead.anchor?.note ?? '', /line 5 .*cut short.*never reported written; the site's next checkpoint removes it/);
      for (let i = 4; i < 8; i++) {
        await store.append('s', [event(i)], 'any');
        await again.checkpoint();
      }
      await again.close();

      const anchor = await readAnchor(new FileAnchorLog(log.path), keyring);
      const report = await verifyLedger(store, keyring, () => undefined, { anchor });
      assert.equal(report.anchor?.checkpoints, 8, `every checkpoint is read (${anchor.problem ?? ''})`);
      assert.equal(report.anchor?.ok, true, report.anchor?.problem);
      assert.equal(report.anchor?.lastMatched?.seq, 8, 'the ledger is held to the checkpoints written after the restart');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The anchor file grows by a line a busy minute, so it is read in chunks, never whole: lines
 * that straddle chunk boundaries are read as they are, and one line longer than any checkpoint
 * is refused by line number rather than read on.
 */
describe('anchor.jsonl read in chunks', { timeout: 30_000 }, () => {
  test('records straddling 1 MiB chunk boundaries are all read, in order; a line over 64 KiB is a problem by number, passed over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-chunks-'));
    try {
      const path = join(dir, 'anchor.jsonl');
      // ~3.3 MiB of lines of uneven length, so boundaries fall inside lines.
      const lines: string[] = [];
      for (let i = 0; i < 9_000; i++) lines.push(JSON.stringify(shapedRecord(i + 1, { pad: 'x'.repeat(100 + ((i * 37) % 500)) })));
      writeFileSync(path, lines.join('\n') + '\n');
      const read = await new FileAnchorLog(path).read();
      assert.equal(read.problem, undefined);
      assert.equal(read.records.length, 9_000);
      assert.deepEqual(
        read.records.map((r) => (r as { seq: number }).seq),
        lines.map((_, i) => i + 1),
      );

      appendFileSync(path, 'y'.repeat(70 * 1024) + '\n' + lines[0] + '\n');
      const long = await new FileAnchorLog(path).read();
      assert.match(long.problem ?? '', /line 9001 is longer than 65536 bytes/);
      assert.equal(long.records.length, 9_001, 'the records before it are kept, and the one after it is read');
      assert.equal((long.records.at(-1) as { seq: number }).seq, 1);

      writeFileSync(path, lines.slice(0, 3).join('\n') + '\n' + lines[3]!.slice(0, 30));
      const cut = await new FileAnchorLog(path).read();
      assert.match(cut.problem ?? '', /line 4 is not a JSON checkpoint \(the last line is cut short\)/);
      assert.equal(cut.records.length, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Two writers on one anchor file (two `caco run` on one data dir, before the run lock): each
 * numbered checkpoints from its own cached last one, so the file held two `"seq":1` lines and
 * the anchor was broken for good. An append that does not link to the file's last line is
 * refused; the writer re-reads the tail and continues the one chain.
 */
describe('anchor.jsonl with a second writer', { timeout: 30_000 }, () => {
  test('a checkpoint numbered from a stale view is refused, and the next one continues the chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-fork-'));
    const keyring = new MemoryKeyring();
    const path = join(dir, 'ledger.db');
    const store = new SqliteEventStore({ path, keyring });
    try {
      const log = new FileAnchorLog(anchorFileFor(path));
      const a = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
      const b = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
      await store.append('s', [event(0)], 'any');
      assert.equal((await a.checkpoint())?.seq, 1);
      await assert.rejects(b.checkpoint(), /checkpoint 1 does not follow the file's last checkpoint \(hash [0-9a-f]{16}…\): another process appends to this anchor/);
      await store.append('s', [event(1)], 'any');
      assert.equal((await b.checkpoint())?.seq, 2, 'b re-read the tail and continued the chain');
      const seqs = readFileSync(log.path, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
      assert.deepEqual(seqs, [1, 2]);
      const report = await verifyLedger(store, keyring, () => undefined, { anchor: await readAnchor(new FileAnchorLog(log.path), keyring) });
      assert.equal(report.anchor?.ok, true, report.anchor?.problem);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A last line that is valid JSON but no checkpoint (`[1]`, `7`, an object with no hash to link
 * to): the start took it as the last checkpoint (numbering the next one 1, linked to genesis)
 * while the append's tail check passed over it to the real last checkpoint, so the first
 * append after a start failed with "another process appends to this anchor" (for `{"foo":1}`
 * the two agreed on genesis, and a checkpoint forking the chain was written). A line that is
 * not JSON in the middle did the same to a start: its read stops there. Both now pass over
 * what is not a checkpoint: the next checkpoint links to the last one before it, the start
 * reports the line, and the audit names it; moved aside, the chain is whole.
 */
describe('anchor.jsonl whose last line is not a checkpoint', { timeout: 30_000 }, () => {
  for (const junk of ['[1]', '7', 'null', '"a note"', '{"foo":1}', '{"seq":9}', 'not json']) {
    test(`${junk}: the next checkpoint follows the last one before it, and one that does not is still refused`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-junk-'));
      const keyring = new MemoryKeyring();
      const path = join(dir, 'ledger.db');
      const store = new SqliteEventStore({ path, keyring });
      try {
        const log = new FileAnchorLog(anchorFileFor(path));
        const first = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
        for (let i = 0; i < 2; i++) {
          await store.append('s', [event(i)], 'any');
          await first.checkpoint();
        }
        const two = first.lastCheckpoint!;
        appendFileSync(log.path, junk + '\n');
        assert.equal(((await log.lastRecord()) as { hash: string }).hash, two.hash, 'the tail reader passes over the line');

        const again = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
        assert.match(again.startProblem ?? '', /anchor checkpoint #3|line 3 /, 'the start reports the line');
        await store.append('s', [event(2)], 'any');
        const next = await again.checkpoint();
        assert.equal(next?.seq, 3);
        assert.equal(next?.prev, two.hash, 'linked to the last checkpoint, not to genesis');

        // Fork protection: a checkpoint that does not link to the file's last checkpoint is refused.
        const stale = await AnchorWriter.open({ store, log: new FileAnchorLog(log.path), keyring, site: 't', clock: new SimulatedClock(T0) });
        appendFileSync(log.path, junk + '\n');
        await store.append('s', [event(3)], 'any');
        assert.equal((await again.checkpoint())?.seq, 4);
        await store.append('s', [event(4)], 'any');
        await assert.rejects(stale.checkpoint(), /checkpoint 4 does not follow the file's last checkpoint \(hash [0-9a-f]{16}…\): another process appends to this anchor; not written/);
        // A start with the line in the middle (the read stops there when it is not JSON) continues after the last checkpoint too.
        const third = await AnchorWriter.open({ store, log: new FileAnchorLog(log.path), keyring, site: 't', clock: new SimulatedClock(T0) });
        await store.append('s', [event(5)], 'any');
        assert.equal((await third.checkpoint())?.seq, 5);

        const lines = readFileSync(log.path, 'utf8').trimEnd().split('\n');
        assert.deepEqual(lines.map((l) => (l === junk ? 'junk' : (JSON.parse(l) as { seq: number }).seq)), [1, 2, 'junk', 3, 'junk', 4, 5]);
        const audit = async () => (await verifyLedger(store, keyring, () => undefined, { anchor: await readAnchor(new FileAnchorLog(log.path), keyring) })).anchor;
        assert.match((await audit())?.problem ?? '', /anchor checkpoint #3|line 3 /, 'caco audit verify names the line');
        // Moved aside, the chain is whole: every checkpoint links to the one before.
        writeFileSync(log.path, lines.filter((l) => l !== junk).join('\n') + '\n');
        const healed = await audit();
        assert.equal(healed?.ok, true, healed?.problem);
        assert.equal(healed?.checkpoints, 5);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
