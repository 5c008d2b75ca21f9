import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from '../../core/ledger/canonical-json.ts';
import { hashEvent, sealableJson, sealableOf } from '../../core/ledger/seal.ts';
import type { Sealable } from '../../core/envelope/envelope.ts';

/**
 * The first implementation, kept verbatim as the reference: every ledger hash already
 * written was taken over its output, so the faster one must produce the same bytes.
 */
function referenceCanonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot hash a non-finite number (${value})`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : referenceCanonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${referenceCanonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`cannot encode a ${typeof value} as canonical JSON`);
  }
}

/** Whether `v` holds an array with a hole anywhere (which the encoder refuses; see below). */
function hasHole(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || hasHole(v[i])) return true;
    return false;
  }
  return Object.values(v).some(hasHole);
}

/**
 * The reference's outcome, except for a hole: the reference wrote it as nothing (`[,1]`, not
 * JSON), so such an event could never verify once stored (the stored form has null there). The
 * encoder refuses it instead; no ledger can hold one that verifies, so no hash changes.
 */
const expectedOutcome = (v: unknown, f: () => string): string => (hasHole(v) ? 'throws:TypeError' : outcome(f));

const outcome = (f: () => string): string => {
  try {
    return `ok:${f()}`;
  } catch (err) {
    return `throws:${(err as Error).constructor.name}`;
  }
};

// Keys that sort differently by code unit than by locale, astral characters, escapes, and
// keys that arrive already sorted as well as reversed.
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('a', 'B', 'b', '_', 'é', 'Z', '\u0000', '"', '\\', 'ab', 'a\u{1F600}', 'A', '10', '9', '__proto__x'),
);
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 0.1 + 0.2, NaN, Infinity),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const { value: anyValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('sparse')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  sparse: fc.sparseArray(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
}));

describe('canonical JSON: the fast encoder writes the same bytes as the reference', () => {
  test('any value: same output, or both throw the same error type (a hole is refused)', () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        assert.equal(outcome(() => canonicalJson(v)), expectedOutcome(v, () => referenceCanonicalJson(v)));
      }),
      { numRuns: 3000 },
    );
  });

  test('JSON values round-tripped through JSON.parse (what the stores hand back)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const parsed: unknown = JSON.parse(JSON.stringify(v));
        assert.equal(canonicalJson(parsed), referenceCanonicalJson(parsed));
      }),
      { numRuns: 2000 },
    );
  });

  test('objects with keys already in order, in reverse, and with undefined members', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 8 }), fc.array(leaf, { minLength: 8, maxLength: 8 }), (keys, vals) => {
        for (const order of [[...keys].sort(), [...keys].sort().reverse(), keys]) {
          const o: Record<string, unknown> = {};
          order.forEach((k, i) => (o[k] = vals[i]));
          assert.equal(outcome(() => canonicalJson(o)), outcome(() => referenceCanonicalJson(o)));
        }
      }),
    );
  });

  test('an array with a hole is refused with the index, not written as invalid JSON', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3];
    assert.throws(() => canonicalJson({ data: { xs: sparse } }), (e: unknown) => e instanceof TypeError && /hole \(index 1 of 3/.test(e.message));
    assert.equal(canonicalJson([1, undefined, 3]), '[1,null,3]', 'an undefined element is still null');
  });

  test('functions, symbols and bigints are refused as before', () => {
    for (const bad of [() => 1, Symbol('s'), 1n, { a: () => 1 }, [Symbol('x')]]) {
      assert.equal(outcome(() => canonicalJson(bad)), outcome(() => referenceCanonicalJson(bad)));
      assert.match(outcome(() => canonicalJson(bad)), /^throws:TypeError$/);
    }
  });
});

describe('sealable envelope encoding', () => {
  const sealable = fc.record({
    id: fc.string({ minLength: 1, maxLength: 12 }),
    type: fc.string({ minLength: 1, maxLength: 20 }),
    version: fc.integer({ min: 1, max: 9 }),
    stream: fc.string({ minLength: 1, maxLength: 12 }),
    revision: fc.nat(),
    time: fc.string({ maxLength: 24 }),
    source: fc.string({ minLength: 1, maxLength: 10 }),
    correlationId: fc.string({ maxLength: 10 }),
    causationId: fc.oneof(fc.constant(null), fc.string({ maxLength: 10 })),
    data: anyValue,
    prevHash: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
  });

  test('sealableJson(e) = reference canonical JSON of sealableOf(e), and hashEvent is SHA-256 over it', () => {
    fc.assert(
      fc.property(sealable, fc.integer(), fc.string(), fc.string(), (s, position, hash, sig) => {
        const envelope = { ...s, position, hash, sig };
        const ref = expectedOutcome(s.data, () => referenceCanonicalJson(sealableOf(envelope)));
        assert.equal(outcome(() => sealableJson(envelope)), ref);
        assert.equal(outcome(() => sealableJson(s as Sealable)), ref);
        if (ref.startsWith('ok:')) assert.equal(hashEvent(envelope), createHash('sha256').update(ref.slice(3)).digest('hex'));
      }),
      { numRuns: 2000 },
    );
  });

  test('a known event keeps its known hash', () => {
    // Hash of this event as written by the first implementation (the ledger's format).
    const e: Sealable = {
      id: 'e-1',
      type: 'compute.job.started',
      version: 1,
      stream: 'job-7',
      revision: 0,
      time: '2023-07-01T00:00:00.000Z',
      source: 'compute',
      correlationId: 'c-1',
      causationId: null,
      data: { kw: 712.5, jobId: 'job-7', tags: ['b', 'a'], nested: { z: 1, a: [null, true] } },
      prevHash: '0'.repeat(64),
    };
    const expected = createHash('sha256').update(referenceCanonicalJson(sealableOf(e))).digest('hex');
    assert.equal(hashEvent(e), expected);
    assert.equal(
      sealableJson(e),
      '{"causationId":null,"correlationId":"c-1","data":{"jobId":"job-7","kw":712.5,"nested":{"a":[null,true],"z":1},"tags":["b","a"]},"id":"e-1","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","revision":0,"source":"compute","stream":"job-7","time":"2023-07-01T00:00:00.000Z","type":"compute.job.started","version":1}',
    );
  });
});
