import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COMMAND_LIMITS, duplicateKeyProblem, jsonDepth, parseBoundedJson, summarizePayload, truncateText } from '../../../core/runtime/input-limits.ts';
import { RateLimiter } from '../../../core/runtime/rate-limit.ts';
import { EVENT_LIMITS } from '../../../core/runtime/intake.ts';
import { inputLimitsFromEnv } from '../../../core/config/input-limits-config.ts';
import { ConfigError } from '../../../core/errors/errors.ts';

function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const kids = Array.isArray(v) ? v : Object.values(v);
  return 1 + kids.reduce<number>((m, k) => Math.max(m, depthOf(k)), 0);
}

describe('input limits', { timeout: 30_000 }, () => {
  test('jsonDepth of the text equals the nesting of the parsed value, brackets inside strings aside', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        const text = JSON.stringify(v);
        assert.equal(jsonDepth(text), depthOf(v));
      }),
      { seed: 11, numRuns: 500 },
    );
    assert.equal(jsonDepth('{"a":"[[[[\\"{{{"}'), 1);
  });

  test('what I-JSON forbids is refused: a member name twice in one object, a lone surrogate (in a value or a name)', () => {
    const limits = { maxBytes: 1000, maxDepth: 8 };
    const reason = (t: string) => { const r = parseBoundedJson(t, limits); return r.ok ? '' : r.reason; };
    assert.match(reason('{"kw":999,"kw":1}'), /member name "kw" appears twice/);
    assert.match(reason('{"a":{"b":1,"c":[{"d":1,"d":2}]}}'), /member name "d" appears twice/);
    assert.match(reason('{"a\\u0062":1,"ab":2}'), /member name "ab" appears twice/, 'an escape spells the same name');
    assert.match(reason('{"note":"a\\ud800b"}'), /lone UTF-16 surrogate/);
    assert.match(reason('{"\\udfff":1}'), /member name holds a lone UTF-16 surrogate/);
    assert.deepEqual(parseBoundedJson('{"a":{"b":1},"b":2,"c":[{"x":1},{"x":1}],"s":"\\ud83d\\ude00 \\"b\\":1,"}', limits), { ok: true, value: { a: { b: 1 }, b: 2, c: [{ x: 1 }, { x: 1 }], s: '😀 "b":1,' } });
  });

  test('relayed ledger events are read as the store reads them: no I-JSON refusal (a bus-fed agent must get what a store-fed one gets)', () => {
    for (const t of ['{"note":"half a pair: \\ud800"}', '{"a":1,"a":2}']) {
      assert.equal(parseBoundedJson(t, EVENT_LIMITS).ok, true, t);
      assert.equal(parseBoundedJson(t, DEFAULT_COMMAND_LIMITS).ok, false, t);
    }
  });

  test('duplicateKeyProblem: none in any text JSON.stringify makes; one found wherever a name is repeated', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.nat(), (v, pick) => {
        const text = JSON.stringify(v);
        assert.equal(duplicateKeyProblem(text), undefined);
        // Repeat the first member of some object in the text: found.
        const objects = [...text.matchAll(/\{("(?:[^"\\]|\\.)*":)/g)];
        if (objects.length === 0) return;
        const m = objects[pick % objects.length]!;
        const at = m.index! + 1;
        const dup = `${text.slice(0, at)}${m[1]}0,${text.slice(at)}`;
        assert.notEqual(duplicateKeyProblem(dup), undefined, dup);
      }),
      { seed: 12, numRuns: 500 },
    );
  });

  test('a value within the limits parses; beyond them the reason names the limit and the payload is only hashed', () => {
    const limits = { maxBytes: 100, maxDepth: 3 };
    assert.deepEqual(parseBoundedJson('{"a":[[1]]}', limits), { ok: true, value: { a: [[1]] } });
    const deep = parseBoundedJson('{"a":[[[1]]]}', limits);
    assert.equal(deep.ok, false);
    assert.match(deep.ok ? '' : deep.reason, /nested too deep: more than 3 levels/);
    const big = parseBoundedJson(`"${'x'.repeat(200)}"`, limits);
    assert.match(big.ok ? '' : big.reason, /too large: 202 bytes, the limit is 100/);
    assert.deepEqual(big.ok ? null : big.payload, summarizePayload(`"${'x'.repeat(200)}"`));
    assert.match((parseBoundedJson('{"a":', limits) as { reason: string }).reason, /^malformed JSON/);
    assert.match((parseBoundedJson('[1e999]', limits) as { reason: string }).reason, /too large for a 64-bit float/);
    assert.deepEqual(parseBoundedJson('[1e300, "1e999"]', limits), { ok: true, value: [1e300, '1e999'] });
  });

  test('a number that overflows a double is refused however it is written', () => {
    const wide = { maxBytes: 4096, maxDepth: 8 };
    // A long mantissa with a two-digit exponent, or a fraction before it: no 3-digit exponent, no run of 300 digits.
    for (const n of [`1${'0'.repeat(250)}e99`, `1${'0'.repeat(250)}.0e99`, `${'9'.repeat(299)}e10`, '-1e999']) {
      const r = parseBoundedJson(`{"data":{"n":${n}}}`, wide);
      assert.equal(r.ok, false, n.slice(0, 20));
      assert.match(r.ok ? '' : r.reason, /too large for a 64-bit float/);
    }
    // The largest double and a long but finite number still go in.
    assert.deepEqual(parseBoundedJson(`[1.7976931348623157e308, 1${'0'.repeat(250)}e50]`, wide), { ok: true, value: [1.7976931348623157e308, 1e300] });
  });

  test('truncateText keeps at most max code points and never splits a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 1, max: 40 }), (s, max) => {
        const t = truncateText(s, max);
        assert.ok(Array.from(t).length <= max);
        assert.ok(!/[\uD800-\uDBFF]$/.test(t.replace(/…$/, '')));
        if (Array.from(s).length <= max) assert.equal(t, s);
      }),
      { seed: 12, numRuns: 300 },
    );
  });

  test('a token bucket never lets a source exceed burst + rate × elapsed, and sources are independent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 200 }), (perSecond, burst, gaps) => {
        const rl = new RateLimiter({ perSecond, burst });
        let t = 0;
        let taken = 0;
        for (const g of gaps) {
          t += g;
          if (rl.take('a', t).ok) taken++;
        }
        assert.ok(taken <= burst + (perSecond * t) / 1000 + 1e-9, `${taken} taken in ${t} ms`);
        assert.equal(rl.take('b', t).ok, true);
      }),
      { seed: 13, numRuns: 300 },
    );
    const rl = new RateLimiter({ perSecond: 1, burst: 1, maxSources: 2 });
    rl.take('a', 0);
    rl.take('b', 0);
    rl.take('c', 0);
    assert.equal(rl.size, 2, 'the least recently seen source is forgotten');
  });

  test('a full limiter forgets the least recently seen source, whatever the order of takes', () => {
    // With burst 1 and no time passing, a take succeeds exactly when the source is not
    // remembered; the reference is a plain list kept most recent last.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 200 }), (max, takes) => {
        const rl = new RateLimiter({ perSecond: 1e-6, burst: 1, maxSources: max });
        const lru: number[] = [];
        for (const s of takes) {
          const i = lru.indexOf(s);
          assert.equal(rl.take(`s${s}`, 0).ok, i === -1, `source ${s} after ${JSON.stringify(lru)}`);
          if (i !== -1) lru.splice(i, 1);
          else if (lru.length === max) lru.shift();
          lru.push(s);
          assert.equal(rl.size, lru.length);
        }
      }),
      { seed: 14, numRuns: 500 },
    );
  });

  test('the limits come from the environment, and a bad value names the variable', () => {
    assert.deepEqual(inputLimitsFromEnv({}), { commandLimits: { maxBytes: 65536, maxDepth: 32 }, commandRate: { perSecond: 50, burst: 100 }, httpRate: { perSecond: 20, burst: 40 }, commandPartyBudget: { commands: 20_000, bytes: 64 * 1024 * 1024 }, requireBoundCommands: false, maxOpenJobsPerParty: 1000, maxOpenKwPerParty: undefined, maxOnsiteOffersPerSource: 16 });
    const c = inputLimitsFromEnv({ CACO_COMMAND_MAX_BYTES: '4096', CACO_COMMAND_MAX_DEPTH: '8', CACO_COMMAND_RATE: 'off', CACO_HTTP_RATE: '5', CACO_REQUIRE_BOUND_COMMANDS: '1', CACO_MAX_OPEN_JOBS_PER_PARTY: '3', CACO_MAX_OPEN_KW_PER_PARTY: '2500.5', CACO_MAX_ONSITE_OFFERS_PER_SOURCE: '40', CACO_COMMAND_PARTY_BUDGET: 'off' });
    assert.deepEqual(c, { commandLimits: { maxBytes: 4096, maxDepth: 8 }, commandRate: undefined, httpRate: { perSecond: 5, burst: 10 }, commandPartyBudget: undefined, requireBoundCommands: true, maxOpenJobsPerParty: 3, maxOpenKwPerParty: 2500.5, maxOnsiteOffersPerSource: 40 });
    // The kW of a third party's open jobs: a positive number, or off; unset, the compute agent's default (half the site).
    assert.equal(inputLimitsFromEnv({ CACO_MAX_OPEN_KW_PER_PARTY: 'off' }).maxOpenKwPerParty, 'off');
    // Set but empty is refused, naming the variable: for CACO_REQUIRE_BOUND_COMMANDS the default is the open one.
    for (const name of ['CACO_REQUIRE_BOUND_COMMANDS', 'CACO_COMMAND_RATE', 'CACO_HTTP_RATE', 'CACO_MAX_OPEN_JOBS_PER_PARTY', 'CACO_COMMAND_PARTY_BUDGET']) {
      assert.throws(() => inputLimitsFromEnv({ [name]: '' }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${name}: is set but empty`), name);
    }
    for (const bad of ['0', '-5', 'lots', '1e400', '9'.repeat(400), '5000kW']) {
      assert.throws(() => inputLimitsFromEnv({ CACO_MAX_OPEN_KW_PER_PARTY: bad }), (e: unknown) => e instanceof ConfigError && /CACO_MAX_OPEN_KW_PER_PARTY: ".*" must be a number of kW above 0/.test(e.message), bad);
    }
    assert.throws(() => inputLimitsFromEnv({ CACO_MAX_ONSITE_OFFERS_PER_SOURCE: '0' }), (e: unknown) => e instanceof ConfigError && /CACO_MAX_ONSITE_OFFERS_PER_SOURCE: "0" must be a whole number from 1 to 1000/.test(e.message));
    assert.throws(() => inputLimitsFromEnv({ CACO_COMMAND_MAX_BYTES: 'lots' }), (e: unknown) => e instanceof ConfigError && /CACO_COMMAND_MAX_BYTES/.test(e.message));
    assert.throws(() => inputLimitsFromEnv({ CACO_COMMAND_RATE: '0:5' }), (e: unknown) => e instanceof ConfigError && /CACO_COMMAND_RATE/.test(e.message));
    // Hundreds of digits parse to Infinity: a limit that would be off without saying so.
    assert.throws(() => inputLimitsFromEnv({ CACO_COMMAND_RATE: '9'.repeat(400) }), (e: unknown) => e instanceof ConfigError && /CACO_COMMAND_RATE/.test(e.message));
    // Twenty digits are finite but as good as off: refused, with the bound named.
    assert.throws(() => inputLimitsFromEnv({ CACO_COMMAND_RATE: '9'.repeat(20) }), (e: unknown) => e instanceof ConfigError && /CACO_COMMAND_RATE/.test(e.message) && /1000000 a second/.test(e.message));
    assert.throws(() => inputLimitsFromEnv({ CACO_HTTP_RATE: '5:' + '9'.repeat(20) }), (e: unknown) => e instanceof ConfigError && /CACO_HTTP_RATE/.test(e.message) && /bursts of at most 10000000/.test(e.message));
    assert.deepEqual(inputLimitsFromEnv({ CACO_COMMAND_RATE: '1000000:10000000' }).commandRate, { perSecond: 1_000_000, burst: 10_000_000 });
    assert.throws(() => inputLimitsFromEnv({ CACO_HTTP_RATE: `5:${'9'.repeat(400)}` }), (e: unknown) => e instanceof ConfigError && /CACO_HTTP_RATE/.test(e.message));
    assert.throws(() => inputLimitsFromEnv({ CACO_COMMAND_PARTY_BUDGET: '20000' }), (e: unknown) => e instanceof ConfigError && /CACO_COMMAND_PARTY_BUDGET/.test(e.message));
  });
});
