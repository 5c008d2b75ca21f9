// test-file-timeout: 30
/** The fault tests' account of where a run's ledger parts from the reference's must point at the right event. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstDifference } from './simulate-on.ts';

const run = (ids: string[]) => ({ ids, what: ids.map((id) => `t.${id} on s-${id}@0 by a`) });

test('names the first event that differs, one missing at the end, or none', () => {
  assert.equal(firstDifference(run(['a', 'b', 'c']), run(['a', 'b', 'c'])), '');
  assert.equal(firstDifference(run(['a', 'x', 'c']), run(['a', 'b', 'c'])), 'event 2 of 3 (the reference has 3): this run has x (t.x on s-x@0 by a), the reference b (t.b on s-b@0 by a)');
  assert.equal(firstDifference(run(['a', 'b']), run(['a', 'b', 'c'])), 'event 3 of 2 (the reference has 3): this run has nothing, the reference c (t.c on s-c@0 by a)');
});
