// test-file-timeout: 60
/**
 * wireHeaders fills nats.js headers in one pass instead of the library's set(); what goes on
 * the wire must be byte for byte what the library would have sent, and what it refuses the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { headers, type MsgHdrsImpl } from '@nats-io/transport-node';
import { wireHeaders } from '../../../core/bus/index.ts';

/** The library's way, as the bus and the JetStream publisher built headers before. */
function librarys(h: Record<string, string>): MsgHdrsImpl {
  const out = headers() as MsgHdrsImpl;
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

const outcome = (f: () => MsgHdrsImpl): string => {
  try {
    return `ok:${Buffer.from(f().encode()).toString('latin1')}`;
  } catch (err) {
    return `throws:${(err as Error).message}`;
  }
};

// Names: the ones CACO sends, printable ASCII, and some the library refuses (':', space,
// control and non-ASCII characters). Values: any text, with CR/LF and edge spaces sometimes.
const name = fc.oneof(
  fc.constantFrom('Nats-Msg-Id', 'Caco-Type', 'Caco-Stream', 'Caco-Position', 'Caco-Commit-Proof', 'traceparent', 'Nats-Expected-Last-Subject-Sequence', 'nats-msg-id'),
  fc.string({ unit: fc.integer({ min: 33, max: 126 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 }),
  fc.string({ minLength: 0, maxLength: 6 }),
  fc.constantFrom('a:b', 'a b', 'é', 'x\r\ny', ''),
);
const value = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom(' padded ', 'a\r\nInjected: 1', 'x\ny', '', '{"json":[1,2]}'));

test('the same bytes as the library for any headers, or the same refusal', () => {
  fc.assert(
    fc.property(fc.dictionary(name, value, { maxKeys: 6 }), (h) => {
      assert.equal(outcome(() => wireHeaders(h)), outcome(() => librarys(h)));
    }),
    { seed: 11, numRuns: 3000 },
  );
});

test('a value with CR or LF is refused (no header injection), and an invalid name too', () => {
  assert.throws(() => wireHeaders({ 'Nats-Msg-Id': 'a\r\nNats-Expected-Last-Sequence: 0' }), /cannot contain/);
  assert.throws(() => wireHeaders({ 'Bad Name': 'x' }), /not a valid character/);
  // Names that passed once are remembered; a bad value under one is still refused.
  wireHeaders({ 'Caco-Type': 'ok' });
  assert.throws(() => wireHeaders({ 'Caco-Type': 'a\nb' }), /cannot contain/);
});
