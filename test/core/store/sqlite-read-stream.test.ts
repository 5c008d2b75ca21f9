// test-file-timeout: 60
/**
 * readStream reads a page of rows at a time (0d68f3e). A helper's review of that change: paging
 * by "last revision + 1" ended the read at a row whose revision was not a whole number, and the
 * rest of the stream (688 of 1,200 events) was dropped with no error and no unreadable row named.
 * Pages now follow the stored order itself: every row is read or named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embeddedStack } from '../../support/embedded.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

let n = 0;
const ev = (): NewEvent => ({ id: `rs-${++n}`, type: 'test.thing.happened', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'compute', correlationId: 'c', causationId: null, data: { n } });

test('a planted revision of 511.5 in a stream of 1,200: every row is still read, the planted one as stored', async () => {
  const s = embeddedStack('read-stream-pages');
  try {
    for (let i = 0; i < 12; i++) await s.store.append('job-x', Array.from({ length: 100 }, ev), 'any');
    s.store.unsafeExec('UPDATE events SET revision = 511.5 WHERE stream = ? AND revision = 100', 'job-x');
    const read: number[] = [];
    const unreadable: number[] = [];
    for await (const e of s.store.readStream('job-x', 0, { onUnreadable: (u) => void unreadable.push(u.position) })) read.push(e.revision);
    assert.equal(read.length + unreadable.length, 1200, `${read.length} read, ${unreadable.length} named`);
    assert.ok(read.includes(511.5), 'the planted row is handed on as stored (a verifying reader refuses it)');
    assert.equal(read.at(-1), 1199);
  } finally {
    await s.close();
  }
});
