// test-file-timeout: 60
/**
 * FifoMap / FifoSet: bounded memories that forget the oldest-inserted key first, in O(1).
 * Checked against a plain model (an array in insertion order) on random operation sequences.
 * (Their cost is a benchmark's business: see the consumers' rows in `npm run bench -- runtime`.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FifoMap, FifoSet } from '../../../core/collections/fifo-map.ts';

/** The reference: keys in insertion order, the oldest dropped past capacity; a set keeps its key's age. */
class ModelMap {
  readonly entries: Array<[number, number]> = [];
  constructor(private readonly capacity: number) {}
  set(k: number, v: number): void {
    const at = this.entries.findIndex(([key]) => key === k);
    if (at >= 0) this.entries[at] = [k, v];
    else {
      this.entries.push([k, v]);
      if (this.entries.length > this.capacity) this.entries.shift();
    }
  }
  get(k: number): number | undefined {
    return this.entries.find(([key]) => key === k)?.[1];
  }
}

test('FifoMap behaves like the insertion-ordered model on any sequence of sets and reads', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 }), fc.integer()), { maxLength: 200 }), (capacity, ops) => {
      const m = new FifoMap<number, number>(capacity);
      const model = new ModelMap(capacity);
      for (const [isSet, k, v] of ops) {
        if (isSet) {
          m.set(k, v);
          model.set(k, v);
        }
        assert.equal(m.get(k), model.get(k));
        assert.equal(m.has(k), model.get(k) !== undefined);
        assert.equal(m.size, model.entries.length);
      }
      for (let k = 0; k <= 15; k++) assert.equal(m.get(k), model.get(k), `key ${k}`);
    }),
    { numRuns: 500 },
  );
});

test('FifoSet keeps the last `capacity` distinct keys; re-adding a key does not make it younger', () => {
  const s = new FifoSet<string>(3);
  s.add('a').add('b').add('c').add('a');
  assert.equal(s.size, 3);
  s.add('d');
  assert.equal(s.has('a'), false, 'a was the oldest, re-adding it kept its age');
  assert.deepEqual(['b', 'c', 'd'].map((k) => s.has(k)), [true, true, true]);
});

test('a capacity that is not a positive integer is refused with the reason', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new FifoMap(bad), /capacity must be a positive integer/);
});
