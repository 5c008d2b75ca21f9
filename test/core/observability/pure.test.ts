import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { contextFromHeaders, enableTracing, judgeHealth, traceHeaders } from '../../../core/observability/index.ts';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));

describe('traceparent headers', { timeout: 30_000 }, () => {
  let stop: () => Promise<void>;
  before(async () => {
    stop = await enableTracing(new InMemorySpanExporter());
  });
  after(async () => {
    await stop?.();
  });

  test('a valid traceparent reads back to the same header; an all-zero id or junk gives no parent', () => {
    fc.assert(
      fc.property(hex(32), hex(16), fc.constantFrom('00', '01'), (traceId, spanId, flags) => {
        const header = `00-${traceId}-${spanId}-${flags}`;
        const ctx = contextFromHeaders({ traceparent: header });
        const valid = !/^0+$/.test(traceId) && !/^0+$/.test(spanId);
        assert.equal(ctx !== undefined, valid);
        if (ctx) assert.deepEqual(traceHeaders(ctx), { traceparent: header });
      }),
    );
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (junk) => assert.equal(contextFromHeaders({ traceparent: junk }), undefined)));
    assert.equal(contextFromHeaders({}), undefined);
  });
});

describe('judgeHealth', { timeout: 10_000 }, () => {
  const probe = fc.record({ name: fc.constantFrom('agent:a', 'agent:b', 'relay', 'lockstep'), position: fc.nat(1000), failure: fc.option(fc.string({ minLength: 1, maxLength: 20 }).map((m) => new Error(m)), { nil: undefined }) });
  test('ok exactly when running and no subscription failed; every dead part is a reason; lag is never negative', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.option(fc.constant('runtime stopping'), { nil: undefined }), fc.array(probe, { maxLength: 5 }), (head, running, probes) => {
        const h = judgeHealth('s', head, running, probes);
        const failed = probes.filter((p) => p.failure !== undefined);
        assert.equal(h.ok, running === undefined && failed.length === 0);
        assert.equal(h.reasons.length, failed.length + (running ? 1 : 0));
        for (const p of failed) assert.ok(h.reasons.includes(`${p.name} failed: ${(p.failure as Error).message}`));
        for (const [i, s] of h.subscriptions.entries()) assert.equal(s.lag, Math.max(0, head - probes[i]!.position));
      }),
    );
  });
});
