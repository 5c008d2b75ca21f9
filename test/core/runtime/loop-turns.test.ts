// test-file-timeout: 30
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopTurns } from '../../../core/runtime/loop-turns.ts';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

test('after everyMs of work a turn lets waiting callbacks run; before it, and with 0, none does', async () => {
  const turns = new LoopTurns(5);
  let ran = 0;
  setImmediate(() => ran++);
  await turns.turn();
  assert.equal(ran, 0, 'no turn before 5 ms of work');
  busy(6);
  await turns.turn();
  assert.equal(ran, 1, 'the waiting callback ran inside the turn');

  const never = new LoopTurns(0);
  let ran0 = 0;
  setImmediate(() => ran0++);
  busy(6);
  await never.turn();
  assert.equal(ran0, 0, "off: the order of everything does not depend on the machine's speed");
  await new Promise((r) => setImmediate(r));
});
