/**
 * anchor.jsonl grows by a line a busy minute (a million checkpoints in two years, 650 MB), so a
 * reader that folds it as it goes takes its records one at a time (FileAnchorLog.records),
 * holding one 1 MiB chunk and one line, not every record: what `read` returns, in the same
 * order and with the same problems, and the file closed when the reader stops early.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAnchorLog } from '../../../core/anchor/index.ts';
import { shapedRecord } from '../../support/synthetic-anchor.ts';

const openFds = () => readdirSync('/proc/self/fd').length;

describe('FileAnchorLog.records', { timeout: 30_000 }, () => {
  test('yields what read returns, one record at a time; a line over 64 KiB or no checkpoint is named by its number and passed over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-records-'));
    try {
      const path = join(dir, 'anchor.jsonl');
      const lines = Array.from({ length: 3 }, (_, i) => JSON.stringify(shapedRecord(i + 1, { pad: 'x'.repeat(40_000) })));
      writeFileSync(path, [...lines, `"${'y'.repeat(70 * 1024)}"`, JSON.stringify({ seq: 5 }), JSON.stringify(shapedRecord(6))].join('\n') + '\n');
      const log = new FileAnchorLog(path);
      const items: unknown[] = [];
      for await (const item of log.records()) items.push(item);
      assert.equal(items.length, 6);
      assert.deepEqual(items.slice(0, 3).map((x) => ((x as { record: { seq: number } }).record.seq)), [1, 2, 3]);
      assert.deepEqual(items[3], { problem: `${path} line 4 is longer than 65536 bytes: not a checkpoint`, passedOver: true });
      assert.deepEqual(items[4], { problem: `${path} line 5 is not a checkpoint (an object not shaped as a checkpoint: format undefined, expected "caco-anchor/1")`, passedOver: true });
      assert.deepEqual(items[5], { record: shapedRecord(6) });
      const read = await log.read();
      assert.deepEqual(read.records.map((r) => (r as { seq: number }).seq), [1, 2, 3, 6]);
      assert.equal(read.problem, (items[3] as { problem: string }).problem);
      // A line that is not JSON, and a cut last line, as read says.
      writeFileSync(path, `${lines[0]}\nnot json\n`);
      assert.deepEqual((await log.read()).problem, `${path} line 2 is not a JSON checkpoint`);
      writeFileSync(path, `${lines[0]}\n{"seq":`);
      const cut: unknown[] = [];
      for await (const item of log.records()) cut.push(item);
      assert.deepEqual(cut.at(-1), { problem: `${path} line 2 is not a JSON checkpoint (the last line is cut short)`, cutShort: true }, "a crash's cut line is told apart from a broken anchor");
      assert.deepEqual(await new FileAnchorLog(join(dir, 'none.jsonl')).read(), { records: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a reader that stops after the first record has read one chunk, and the file is closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-records-'));
    try {
      const path = join(dir, 'anchor.jsonl');
      const line = JSON.stringify(shapedRecord(1, { pad: 'z'.repeat(600) }));
      writeFileSync(path, (line + '\n').repeat(20_000));
      const before = openFds();
      const it = new FileAnchorLog(path).records();
      const first = await it.next();
      assert.deepEqual((first.value as { record: { seq: number } }).record.seq, 1);
      assert.equal(openFds(), before + 1, 'the file is open while records are read');
      let n = 1;
      for await (const _ of it) if (++n === 3) break;
      assert.equal(openFds(), before, 'and closed when the reader stops');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
