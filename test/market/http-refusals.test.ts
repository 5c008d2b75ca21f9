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

  test('a path Fastify cannot route is a NACK naming why, and recorded; the path is not echoed', async () => {
    const m = await startMarket({ gridOperator: false });
    try {
      const before = (await m.events()).length;
      const res = await fetch(m.resolver.resolve('http://bpp.caco.local/beckn/%zz<b>x</b>'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 400);
      const text = await res.text();
      assert.ok(!text.includes('<b>'), `the path is not echoed: ${text}`);
      const body = JSON.parse(text) as { message: { ack: { status: string } }; error: { code: string; message: string } };
      assert.deepEqual([body.message.ack.status, body.error.code], ['NACK', '30000']);
      assert.match(body.error.message, /not a valid URL \(bad percent-encoding\)/);
      await m.runtime.settle();
      const added = (await m.events()).slice(before);
      // Before: Fastify's own answer ({"code":"FST_ERR_BAD_URL", … the path …}), and no record.
      assert.deepEqual(added.map((e) => e.type), ['beckn.request.rejected']);
      assert.equal(dataOf<{ httpStatus: number }>(added[0]!).httpStatus, 400);
    } finally {
      await m.close();
    }
  });

  test('an unsigned body is not parsed before its signature is refused; the ids it claims are still read for the record', async () => {
    const m = await startMarket({ gridOperator: false });
    const parse = JSON.parse;
    let bigParses = 0;
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      if (typeof text === 'string' && text.length > 100_000) bigParses++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      const before = (await m.events()).length;
      const big = `{"context":{"message_id":"m-unsigned-1","transaction_id":"t-unsigned-1","bap_id":"bap.nowhere"},"message":{"pad":[${Array.from({ length: 100_000 }, () => '{"a":1}').join(',')}]}}`;
      const res = await fetch(m.resolver.resolve('http://bpp.caco.local/beckn/search'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      assert.equal(res.status, 401);
      // Before: the whole ~800 KB body was parsed (about 25 ms) for the audit record first.
      assert.equal(bigParses, 0, 'no parse of the unsigned body');
      JSON.parse = parse;
      await m.runtime.settle();
      const added = (await m.events()).slice(before);
      assert.deepEqual(added.map((e) => e.type), ['beckn.request.rejected']);
      const r = dataOf<{ messageId: string | null; transactionId: string | null; bapId: string | null }>(added[0]!);
      assert.deepEqual([r.messageId, r.transactionId, r.bapId], ['m-unsigned-1', 't-unsigned-1', 'bap.nowhere']);
    } finally {
      JSON.parse = parse;
      await m.close();
    }
  });
});
