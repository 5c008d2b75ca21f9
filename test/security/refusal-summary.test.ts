import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_REJECTION_DATA_BYTES, rejection } from '../../agents/compute/rejection.ts';
import { boundRejection } from '../../agents/coordination/bounded-rejection.ts';
import { cacoRegistry } from '../../schemas/index.ts';

const registry = cacoRegistry();
const anyText = fc.oneof(fc.string({ maxLength: 50 }), fc.string({ unit: 'grapheme', maxLength: 3000 }), fc.integer({ min: 0, max: 100_000 }).map((n) => 'x'.repeat(n)));

describe('a refusal on the ledger is a bounded summary, whatever was refused', { timeout: 30_000 }, () => {
  test('compute.job.rejected: schema-valid and under 1 KB of data for any job id and any problems', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.jsonValue()), fc.array(fc.record({ field: anyText, reason: anyText }), { maxLength: 30 }), (jobId, problems) => {
        const e = rejection(jobId, problems.length ? problems : [{ field: 'jobId', reason: 'refused' }]);
        const decoded = registry.decode(e.type, 1, e.data);
        assert.equal(decoded.ok, true, JSON.stringify(decoded.ok ? [] : decoded.problems).slice(0, 300));
        const d = e.data as { jobId: string; problems: unknown[] };
        assert.ok(d.problems.length <= 8);
        assert.ok(typeof jobId === 'string' && /^[A-Za-z0-9_:-]{1,128}$/.test(jobId) ? d.jobId === jobId : d.jobId === '');
      }),
      { seed: 21, numRuns: 300 },
    );
    // The agent's own problems (ASCII fields and reasons): the data fits the budget that keeps the event within 1 KB.
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/), fc.array(fc.record({ field: fc.string({ minLength: 1, maxLength: 64 }), reason: fc.string({ minLength: 1, maxLength: 300 }) }), { minLength: 1, maxLength: 12 }), (jobId, problems) => {
        const e = rejection(jobId, problems);
        assert.ok(Buffer.byteLength(JSON.stringify(e.data)) <= MAX_REJECTION_DATA_BYTES, JSON.stringify(e.data));
      }),
      { seed: 23, numRuns: 300 },
    );
    const typical = rejection('j'.repeat(1_000_000), [{ field: 'jobId', reason: 'use letters, digits, "_", ":" and "-" only (1 to 128 characters)' }]);
    assert.ok(Buffer.byteLength(JSON.stringify(typical.data)) < 200, 'a 1,000,000-character job id leaves no trace of itself');
  });

  test('beckn.request.rejected: schema-valid for any request, reason at most 512 characters', () => {
    fc.assert(
      fc.property(
        fc.record({ action: anyText, messageId: fc.option(anyText), transactionId: fc.option(anyText), bapId: fc.option(anyText), httpStatus: fc.integer({ min: -5, max: 1000 }), code: anyText, reason: anyText, path: fc.option(anyText) }),
        (r) => {
          const b = boundRejection(r);
          const decoded = registry.decode('beckn.request.rejected', 1, b);
          assert.equal(decoded.ok, true, JSON.stringify(decoded.ok ? [] : decoded.problems).slice(0, 300));
          assert.ok(Array.from(b.reason).length <= 512);
        },
      ),
      { seed: 22, numRuns: 300 },
    );
  });
});
