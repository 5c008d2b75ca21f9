import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { searchRequest } from '../../beckn/index.ts';
import { dataOf, startMarket } from './harness.ts';
import { contextFor, postRaw, send } from './client.ts';

/**
 * Anyone who can reach the BPP, signing nothing, made one ledger event per junk request (every
 * refusal was recorded: 4,000 junk POSTs, 4,000 events in 19 s). Refusals are still all
 * answered; past a rate they are counted into one summary instead of recorded one by one.
 */
describe('a flood of unsigned requests cannot grow the ledger one event per request', { timeout: 60_000 }, () => {
  test('unsigned junk past the bucket: answered 401, counted, one summary; a registered BAP is still recorded', async () => {
    const m = await startMarket({ gridOperator: false, coordination: { refusalRecords: { unverified: { perSecond: 0.1, burst: 3 }, perSigner: { perSecond: 1, burst: 10 } } } });
    try {
      const rejected = async () => (await m.events()).filter((e) => e.type === 'beckn.request.rejected');
      const before = (await rejected()).length;
      for (let i = 0; i < 25; i++) {
        const a = await postRaw(m, 'search', JSON.stringify({ junk: i }), {});
        assert.equal(a.status, 401, `junk ${i} is answered`);
      }
      // A 404 has no signer either: it shares the bucket.
      const nf = await fetch(m.resolver.resolve('http://bpp.caco.local/beckn/nowhere'), { method: 'POST', body: '{}' });
      assert.equal(nf.status, 404);
      await m.runtime.settle();
      assert.equal((await rejected()).length - before, 3, 'only the burst is recorded one by one');

      // A registered BAP's refusal (signed, bad context) is recorded: it is not held back by the flood.
      const bad = await send(m, 'search', searchRequest({ ...contextFor(m, 'search'), domain: 'not-ours' }, {}));
      assert.equal(bad.body.message.ack.status, 'NACK');
      await m.runtime.settle();
      const signed = (await rejected()).slice(before + 3);
      assert.equal(signed.length, 1);
      assert.equal(dataOf<{ bapId: string | null }>(signed[0]!).bapId, 'test-bap.caco.local');

      // Ten seconds on, a token is back: the next unsigned refusal comes after the summary of the 23 not recorded.
      await m.advanceTo(m.clock.now() + 10_000);
      assert.equal((await postRaw(m, 'search', '{"junk":"late"}', {})).status, 401);
      await m.runtime.settle();
      const later = (await rejected()).slice(before + 4).map((e) => dataOf<{ code: string; httpStatus: number; bapId: string | null; reason: string }>(e));
      assert.equal(later.length, 2);
      assert.equal(later[0]!.code, 'unrecorded-refusals');
      assert.equal(later[0]!.httpStatus, 429);
      assert.equal(later[0]!.bapId, null);
      assert.match(later[0]!.reason, /^23 refusals of requests without a verified signature (at|from) .* answered but not recorded one by one \(over 0\.1 a second, burst 3\); the last: no such endpoint$/);
      assert.notEqual(later[1]!.code, 'unrecorded-refusals');
    } finally {
      await m.close();
    }
  });
});
