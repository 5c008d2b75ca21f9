// test-file-timeout: 30
/**
 * Numeric flags are read as people write numbers: `--days 0x3` and `1e1` were taken as 3 and 10
 * (Number() reads hex, binary, octal and exponents), found by the hostile-files review.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numberBetween, positiveNumber, wholeNumber } from '../../cli/flag-values.ts';
import { UsageError } from '../../cli/errors.ts';

test('wholeNumber takes digits only; hex, binary, octal, exponents, signs and fractions are refused naming the flag', () => {
  assert.equal(wholeNumber('--days', '7', 1, 60), 7);
  assert.equal(wholeNumber('--days', ' 12 ', 1, 60), 12);
  for (const v of ['0x3', '1e1', '0b11', '0o7', '+3', '-3', '3.0', '3.5', '', ' ', 'Infinity']) {
    assert.throws(() => wholeNumber('--days', v, 1, 60), (e: unknown) => e instanceof UsageError && e.message.startsWith(`--days: "${v}" must be a whole number from 1 to 60`), JSON.stringify(v));
  }
});

test('numberBetween and positiveNumber take decimals (with a sign or an exponent), not hex or binary', () => {
  assert.equal(numberBetween('--margin', '-2.5', -10, 10), -2.5);
  assert.equal(numberBetween('--share', '.5', 0, 1), 0.5);
  assert.equal(positiveNumber('--kw', '1e3'), 1000);
  for (const v of ['0x10', '0b1', 'Infinity', 'NaN', '1,5', '']) {
    assert.throws(() => numberBetween('--margin', v, -1e9, 1e9), UsageError, JSON.stringify(v));
    assert.throws(() => positiveNumber('--kw', v), UsageError, JSON.stringify(v));
  }
});
