// test-file-timeout: 30
/** Which nats-server versions a replicated ledger is warned about (nats-io/nats-server#4365, fixed in 2.9.21). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseServerVersion, replicatedLedgerDefect } from '../../../core/store/nats-server-defects.ts';

test('versions before 2.9.21 with replicas are warned about, naming the version, the issue and the fix', () => {
  for (const v of ['2.9.10', 'v2.9.20', '2.8.4', '1.4.1', '2.9.0-RC.2']) {
    const w = replicatedLedgerDefect(v, 3);
    assert.ok(w, v);
    assert.match(w, new RegExp(v.replace(/\./g, '\\.')));
    assert.match(w, /#4365/);
    assert.match(w, /2\.9\.21/);
  }
  for (const v of ['2.9.21', '2.9.25', 'v2.10.0', '2.10.0-beta.3', '2.11.4', '3.0.0']) assert.equal(replicatedLedgerDefect(v, 3), undefined, v);
});

test('one replica, or a version that cannot be read, gives no warning', () => {
  assert.equal(replicatedLedgerDefect('2.9.10', 1), undefined);
  assert.equal(replicatedLedgerDefect(undefined, 3), undefined);
  assert.equal(replicatedLedgerDefect('nightly', 3), undefined);
});

test('property: the warning applies exactly when the version is ordered before 2.9.21', () => {
  fc.assert(
    fc.property(fc.nat(4), fc.nat(30), fc.nat(40), fc.integer({ min: 1, max: 5 }), (a, b, c, replicas) => {
      const before = a < 2 || (a === 2 && (b < 9 || (b === 9 && c < 21)));
      assert.deepEqual(parseServerVersion(`${a}.${b}.${c}`), [a, b, c]);
      assert.equal(replicatedLedgerDefect(`${a}.${b}.${c}`, replicas) !== undefined, before && replicas > 1);
    }),
  );
});
