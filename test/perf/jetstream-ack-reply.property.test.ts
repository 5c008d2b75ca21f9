import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAckReply } from '../../core/store/jetstream-reader.ts';

/** The split-based reading the reader used before, as the reference. */
function reference(reply: string): { seq: number; dseq: number; pending: number } {
  const t = reply.split('.');
  const v2 = t.length >= 12;
  return { seq: Number(t[v2 ? 7 : 5]), dseq: Number(t[v2 ? 8 : 6]), pending: Number(t[v2 ? 10 : 8]) };
}

const token = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), fc.nat().map(String));

test('ack subjects: the in-place parse reads the same numbers as splitting (v1, v2 and odd lengths)', () => {
  fc.assert(
    fc.property(fc.array(token, { minLength: 1, maxLength: 15 }), (tokens) => {
      const reply = tokens.join('.');
      assert.deepEqual(parseAckReply(reply), reference(reply));
    }),
    { numRuns: 3000 },
  );
  const v1 = '$JS.ACK.CACO_X.c1.1.4242.17.1700000000000000000.9';
  const v2 = '$JS.ACK.dom.acchash.CACO_X.c1.1.4242.17.1700000000000000000.9.rand';
  assert.deepEqual(parseAckReply(v1), { seq: 4242, dseq: 17, pending: 9 });
  assert.deepEqual(parseAckReply(v2), { seq: 4242, dseq: 17, pending: 9 });
});
