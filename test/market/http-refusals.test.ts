import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { dataOf, startMarket } from './harness.ts';

/**
 * Issue 15.5: 404 and 413 refusals were answered but not on the ledger, though the docs say
 * every refusal is. They are now, as a bounded summary: never the payload.
 */
describe('refusals before the handler are recorded', { timeout: 60_000 }, () => {
  test('404 (no such endpoint) and 413 (body over 1 MiB): one beckn.request.rejected each, with size and SHA-256, not the body', async () => {
    const m = await startMarket({ gridOperator: false });
    try {
      const url = (path: string) => m.resolver.resolve(`http://bpp.caco.local${path}`);
      const secret = 'SECRET-PAYLOAD-MARKER';
      const before = (await m.events()).length;

      const small = JSON.stringify({ hello: secret });
      const nf = await fetch(url('/beckn/track?x=1'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: small });
      assert.equal(nf.status, 404);
      assert.equal(((await nf.json()) as { message: { ack: { status: string } } }).message.ack.status, 'NACK');

      const big = `{"pad":"${secret}${'x'.repeat(1_048_576)}"}`;
      const tl = await fetch(url('/beckn/search'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      assert.equal(tl.status, 413);
      const tlBody = (await tl.json()) as { error: { code: string; message: string } };
      assert.equal(tlBody.error.code, '30000');
      assert.match(tlBody.error.message, /body larger than 1048576 bytes/);

      await m.runtime.settle();
      const added = (await m.events()).slice(before);
      assert.deepEqual(added.map((e) => e.type), ['beckn.request.rejected', 'beckn.request.rejected']);
      const [a, b] = added.map((e) => dataOf<{ action: string; httpStatus: number; code: string; reason: string; request: { method: string; urlPath: string; sizeBytes: number | null; sha256: string | null } }>(e));
      assert.deepEqual(
        { action: a!.action, httpStatus: a!.httpStatus, reason: a!.reason, request: a!.request },
        { action: '(none)', httpStatus: 404, reason: 'no such endpoint', request: { method: 'POST', urlPath: '/beckn/track', sizeBytes: Buffer.byteLength(small), sha256: createHash('sha256').update(small).digest('hex') } },
      );
      assert.deepEqual(
        { action: b!.action, httpStatus: b!.httpStatus, request: b!.request },
        { action: 'search', httpStatus: 413, request: { method: 'POST', urlPath: '/beckn/search', sizeBytes: Buffer.byteLength(big), sha256: null } },
      );
      for (const e of added) assert.ok(!JSON.stringify(e).includes(secret), 'the payload is never recorded');
    } finally {
      await m.close();
    }
  });
});
