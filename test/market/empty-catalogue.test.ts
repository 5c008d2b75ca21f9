import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BecknSpecValidator, searchRequest } from '../../beckn/index.ts';
import type { Catalog } from '../../schemas/beckn/index.ts';
import { flexibility, HOUR, startMarket, T0 } from './harness.ts';
import { contextFor, send } from './client.ts';
import { SPEC_DIR } from '../beckn/spec-dir.ts';

/** Issue 15.5: after start-up the catalogue is empty until the first plan; on_search says until when. */
describe('an empty catalogue says when offers will appear', { timeout: 60_000 }, () => {
  test('before the first plan, with no match, and with offers', async () => {
    const m = await startMarket({ gridOperator: false });
    const spec = SPEC_DIR ? BecknSpecValidator.fromFile(join(SPEC_DIR, 'core-v1.1.1', 'transaction.yaml')) : undefined;
    const search = async (minKw?: number) => {
      const n = m.testBapInbox.length;
      const a = await send(m, 'search', searchRequest(contextFor(m, 'search'), minKw === undefined ? {} : { minKw }));
      assert.equal(a.body.message.ack.status, 'ACK');
      await m.runtime.settle();
      const got = m.testBapInbox.slice(n);
      assert.deepEqual(got.map((r) => r.action), ['on_search']);
      if (spec) assert.deepEqual(spec.validateRequest('on_search', got[0]!.body, 'strict'), [], 'the explanation is spec-valid');
      return (got[0]!.body as { message: { catalog: Catalog } }).message.catalog;
    };
    const statusOf = (c: Catalog) => Object.fromEntries((c.providers[0]!.tags ?? []).find((g) => g.descriptor.code === 'catalogue-status')?.list.map((t) => [t.descriptor.code, t.value]) ?? []);
    try {
      const first = await search();
      assert.equal(first.providers[0]!.items.length, 0);
      assert.deepEqual(statusOf(first), { status: 'awaiting-first-plan', 'next-plan-at': '2026-01-15T10:30:00Z' });
      assert.match(first.descriptor?.long_desc ?? '', /after its first plan, due at 2026-01-15T10:30:00Z/);

      await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: T0 + 4 * HOUR, kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
      const none = await search(5000);
      assert.deepEqual(statusOf(none), { status: 'none-matching', 'next-plan-at': '2026-01-15T10:30:00Z' });

      const some = await search();
      assert.equal(some.providers[0]!.items.length, 1);
      assert.deepEqual(statusOf(some), {}, 'no explanation when there are offers');
    } finally {
      await m.close();
    }
  });
});
