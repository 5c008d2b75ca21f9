// test-file-timeout: 120
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { canonicalJson } from '../../../core/ledger/canonical-json.ts';

/**
 * core/ledger/canonical-json.ts is what every stored hash and every signature is taken over.
 * It is kept (it is faster than the reference and its bytes must never change), and this
 * proves it is RFC 8785 (JCS): on arbitrary JSON values it gives exactly the bytes of the
 * `canonicalize` package, the scheme's reference implementation by its authors.
 */
test('canonicalJson equals the RFC 8785 reference (`canonicalize`) on arbitrary JSON values', () => {
  // Full Unicode strings (astral planes, lone surrogates), doubles of every magnitude, -0.
  const json = fc.jsonValue({ maxDepth: 6, noUnicodeString: false });
  fc.assert(
    fc.property(json, (v) => {
      assert.equal(canonicalJson(v), canonicalize(v));
    }),
    { numRuns: 3000 },
  );
});

test('canonicalJson equals `canonicalize` on the numbers RFC 8785 calls out', () => {
  // RFC 8785 appendix B: the ECMAScript shortest round-trip form of IEEE 754 doubles.
  const numbers = [0, -0, 1e21, 1e-7, 333333333.3333333, 5e-324, 1.7976931348623157e308, 9007199254740992, 0.000001, 1e23, 295147905179352830000, -1.5e-10];
  for (const n of numbers) assert.equal(canonicalJson(n), canonicalize(n), String(n));
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => canonicalJson(n) === canonicalize(n)), { numRuns: 5000 });
});

test('canonicalJson equals `canonicalize` on keys that sort differently by code unit and by code point', () => {
  // RFC 8785 sorts keys by UTF-16 code units, not code points: "\uFB33" before "\u{1F600}" by code point, after by code unit.
  const v = { '\u{1F600}': 1, '\uFB33': 2, a: { z: null, é: [true, 'x\u2028y'] }, '': 0 };
  assert.equal(canonicalJson(v), canonicalize(v));
  fc.assert(fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.integer()), (o) => canonicalJson(o) === canonicalize(o)), { numRuns: 2000 });
});
