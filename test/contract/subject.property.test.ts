/**
 * `subjectMatches` against an independent reference model, on generated subjects and
 * patterns; and the same generated cases through real subscriptions on every bus adapter.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidSubject, subjectMatches } from '../../core/bus/subject.ts';
import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import type { Bus } from '../../core/bus/bus.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { SUBJECT_CASES, eventually } from './bus-contract.ts';
// Awaited before any test is registered (test/lint/late-test-registration.test.ts).
const skipNats = await natsSkip();

/** The reference: a pattern becomes a regular expression, token by token. */
function referenceMatches(pattern: string, subject: string): boolean {
  const parts = pattern.split('.').map((t, i, all) => {
    if (t === '>' && i === all.length - 1) return '[^.]+(?:\\.[^.]+)*';
    if (t === '*') return '[^.]+';
    return t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('\\.')}$`).test(subject);
}

const token = fc.constantFrom('a', 'b', 'c', 'ab', 'job', 'evt');
const subjectArb = fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join('.'));
const patternArb = fc
  .tuple(fc.array(fc.oneof(token, fc.constant('*')), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([toks, tail]) => (tail ? [...toks, '>'] : toks).join('.'));
/** Patterns made from a subject, so that matches are common, not rare. */
const derivedArb = subjectArb.chain((s) =>
  fc.tuple(fc.constant(s), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: s.split('.').length, maxLength: s.split('.').length }), fc.integer({ min: 0, max: 5 })).map(([subj, ops, cut]) => {
    const toks = subj.split('.').map((t, i) => (ops[i] === 1 ? '*' : t));
    const pattern = cut > 0 && cut < toks.length ? [...toks.slice(0, cut), '>'].join('.') : toks.join('.');
    return [pattern, subj] as const;
  }),
);

describe('subject matching, property-based', () => {
  test('the reference model agrees with the hand-written table', () => {
    for (const [p, s, m] of SUBJECT_CASES) assert.equal(referenceMatches(p, s), m, `${p} ~ ${s}`);
  });

  test('subjectMatches agrees with the reference on random patterns and subjects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(patternArb, subjectArb), derivedArb), ([p, s]) => {
        assert.ok(isValidSubject(p, true), `generated an invalid pattern ${p}`);
        assert.equal(subjectMatches(p, s), referenceMatches(p, s), `${p} ~ ${s}`);
      }),
      { numRuns: 5000, seed: 7 },
    );
  });

  test('a subject matches itself; ">" alone matches every subject; "*" only one-token subjects', () => {
    fc.assert(
      fc.property(subjectArb, (s) => {
        assert.ok(subjectMatches(s, s));
        assert.ok(subjectMatches('>', s));
        assert.equal(subjectMatches('*', s), !s.includes('.'));
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});

async function throughBus(bus: Bus): Promise<void> {
  const cases = fc.sample(fc.oneof(fc.tuple(patternArb, subjectArb), derivedArb), { numRuns: 60, seed: 3 });
  const root = uniqueToken('prop');
  const got = cases.map(() => [] as string[]);
  for (let i = 0; i < cases.length; i++) {
    const prefix = `${root}.c${i}`;
    await bus.subscribe(`${prefix}.${cases[i]![0]}`, (m) => void got[i]!.push(m.subject));
  }
  for (let i = 0; i < cases.length; i++) await bus.publish(`${root}.c${i}.${cases[i]![1]}`, new Uint8Array([1]));
  await bus.flush();
  const expected = cases.map(([p, s]) => referenceMatches(p, s));
  const want = expected.filter(Boolean).length;
  await eventually(() => got.reduce((n, g) => n + g.length, 0) >= want, `${want} deliveries`);
  await new Promise((r) => setTimeout(r, 100));
  cases.forEach(([p, s], i) => assert.equal(got[i]!.length, expected[i] ? 1 : 0, `${p} ~ ${s}`));
}

test('generated cases through real subscriptions: MemoryBus', async () => {
  const bus = new MemoryBus();
  await throughBus(bus);
  await bus.close();
});

test('generated cases through real subscriptions: NatsBus', { skip: skipNats }, async () => {
  const bus = await NatsBus.connect({ servers: natsUrl() });
  try {
    await throughBus(bus);
  } finally {
    await bus.close();
  }
});
