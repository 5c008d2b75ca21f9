import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOpenApiYaml } from '../../beckn/index.ts';
import { OrderStatus } from '../../schemas/beckn/index.ts';
import { SPEC_DIR } from '../beckn/spec-dir.ts';

/**
 * Issue 15.5: the docs said the settled order's status is `COMPLETED`; the spec's Order.status
 * (and what CACO sends) is `COMPLETE`. `COMPLETED` is CACO's fulfillment state code, and the
 * docs must say which is which.
 */
test('docs/market.md names the order status as the spec and the code do', { timeout: 10_000 }, () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/market.md'), 'utf8');
  const ours: string[] = [...OrderStatus.literals].sort();
  if (SPEC_DIR) {
    const spec = loadOpenApiYaml(join(SPEC_DIR, 'core-v1.1.1', 'transaction.yaml')) as { components: { schemas: { Order: { properties: { status: { enum: string[] } } } } } };
    assert.deepEqual(ours, [...spec.components.schemas.Order.properties.status.enum].sort(), 'CACO sends the spec\'s order statuses');
  }
  const statuses = [...doc.matchAll(/"status": "([A-Z_-]+)"/g)].map((m) => m[1]!);
  assert.ok(statuses.includes('COMPLETE'), 'the settled order is documented as "status": "COMPLETE"');
  for (const s of statuses.filter((x) => !['PAID', 'NOT-PAID', 'ACK', 'NACK'].includes(x))) assert.ok(ours.includes(s), `docs name order status ${s}`);
  for (const m of doc.matchAll(/COMPLETED/g)) {
    const before = doc.slice(Math.max(0, m.index - 90), m.index);
    assert.match(before, /fulfil?lment( state)?[^.]*$/i, `"COMPLETED" must be called a fulfillment state: …${before}COMPLETED`);
  }
});
