import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildJobsHttp } from '../../cli/jobs-http.ts';
import { subjects } from '../../core/runtime/subjects.ts';
import type { CommandReply } from '../../core/runtime/runtime.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { commandEnvelope, computeSite, eventsAfter, signedCommand } from './support.ts';

/**
 * The outsider's view of intake: thousands of seeded inputs, valid, nearly valid and junk, sent
 * as NATS command payloads and as POST /jobs bodies to a site with the compute agent. Nothing
 * may crash or go unanswered, every refusal carries a reason, a refusal at intake writes
 * nothing, a refusal by the agent writes at most 1 KB, and the ledger verifies afterwards.
 */

const NATS_RUNS = 6_000;
const HTTP_RUNS = 4_000;
const MAX_LEDGER_BYTES_PER_REFUSAL = 1024;

const isoish = fc.oneof(
  fc.date({ min: new Date('2023-07-03T00:00:00Z'), max: new Date('2023-07-05T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2023-07-03T01:00:00Z', '2023-07-03T09:00Z', '2023-07-03T01:00:00.000000001Z', '2023-07-03T01:00:00+00:00', '2023-02-30T00:00:00Z', '2023-13-01T00:00Z', 'tomorrow', ''),
);
const weirdString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.integer({ min: 100, max: 5_000 }).map((n) => 'z'.repeat(n)),
  fc.constantFrom('a.b', 'a*b', 'a>b', 'a b', '\u0000', '😀'.repeat(129), '__proto__', 'constructor'),
);
const jobId = fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9_:-]{1,12}$/) }, { weight: 2, arbitrary: fc.constantFrom('dup-1', 'dup-2', 'x'.repeat(128)) }, { weight: 1, arbitrary: weirdString });
const number = fc.oneof(fc.double({ noNaN: true }), fc.integer(), fc.constantFrom(-1, 0, 0.5, 30, 60, 500, 1e9, 2 ** 53));
const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A fuzzed value for one field of a submission: a good one, a wrong one, or the field removed. */
const FIELDS: Record<string, fc.Arbitrary<unknown>> = {
  jobId,
  class: fc.oneof(fc.constantFrom('training', 'batch-inference', 'serving'), weirdString),
  powerKw: fc.oneof(number, anyJson),
  gpuCount: fc.oneof(fc.integer({ min: -2, max: 2000 }), anyJson),
  runtimeMin: fc.oneof(number, anyJson),
  features: fc.oneof(fc.dictionary(weirdString, fc.oneof(weirdString, number), { maxKeys: 70 }), anyJson),
  earliestStart: isoish,
  deadline: isoish,
  slaClass: fc.oneof(fc.constantFrom('gold', 'silver', 'bronze'), weirdString),
  preemptible: fc.oneof(fc.boolean(), anyJson),
  extra: anyJson,
};
const change = fc.constantFrom(...Object.keys(FIELDS)).chain((k) => fc.tuple(fc.constant(k), fc.option(FIELDS[k]!, { nil: undefined, freq: 8 })));

/** A `compute.job.submit` payload: a good one with zero to three fields changed or removed. */
const submitBody = fc.tuple(jobId, fc.integer({ min: 1, max: 600 }), fc.integer({ min: 0, max: 40 }), fc.array(change, { maxLength: 3 })).map(([id, runtimeMin, startH, changes]) => {
  const body: Record<string, unknown> = {
    jobId: id,
    class: 'training',
    powerKw: 100,
    runtimeMin,
    earliestStart: new Date(Date.parse('2023-07-03T00:00:00Z') + startH * 3_600_000).toISOString(),
    deadline: new Date(Date.parse('2023-07-03T00:00:00Z') + (startH + 12) * 3_600_000).toISOString(),
    slaClass: 'silver',
    preemptible: false,
  };
  for (const [k, v] of changes) {
    if (v === undefined) delete body[k];
    else body[k] = v;
  }
  return body;
});

const nested = fc.integer({ min: 1, max: 5_000 }).chain((n) => fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}0${'}'.repeat(n)}`, `{"jobId":"n","features":${'['.repeat(n)}${']'.repeat(n)}}`));
const huge = fc.integer({ min: 60_000, max: 300_000 }).map((n) => JSON.stringify({ jobId: 'j'.repeat(n) }));

/** Raw HTTP bodies: junk, deep nesting and oversized text. */
const rawBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '{', '{"jobId":', '[]', '"x"', '1e999') },
  { weight: 1, arbitrary: huge },
);

/**
 * An HTTP body: mostly submissions, signed by a registered key (the property signs them, so
 * the fuzzed job is what reaches the schema and the agent), sometimes sent unsigned; also junk.
 */
type HttpBody = { readonly job: Record<string, unknown>; readonly signed: boolean } | { readonly raw: string };
const httpBody: fc.Arbitrary<HttpBody> = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(submitBody, fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })).map(([job, signed]) => ({ job, signed })) },
  { weight: 6, arbitrary: rawBody.map((raw) => ({ raw })) },
);

const wildEnvelope = fc.record({
  id: fc.oneof(fc.uuid(), weirdString),
  type: fc.oneof(fc.constantFrom('compute.job.submit', 'compute.job.pin', 'compute.job.release', 'compute.job.exploded', 'grid.forecast.published'), weirdString),
  version: fc.oneof(fc.constant(1), number, anyJson),
  time: isoish,
  source: fc.oneof(fc.constantFrom('tester', 'http', 'compute', 'operator'), weirdString),
  correlationId: fc.oneof(fc.uuid(), weirdString),
  causationId: fc.oneof(fc.constant(null), weirdString),
  keyId: fc.option(fc.oneof(fc.constantFrom('tester', 'operator', 'compute'), weirdString), { nil: undefined }),
  sig: fc.option(weirdString, { nil: undefined }),
  signed: fc.constant(false),
});
const goodEnvelope = fc.record({
  id: fc.uuid(),
  type: fc.constantFrom('compute.job.submit', 'compute.job.submit', 'compute.job.submit', 'compute.job.pin', 'compute.job.release'),
  version: fc.constant(1),
  time: fc.constant('2023-07-03T00:00:00Z'),
  source: fc.constantFrom('tester', 'http', 'operator', 'compute'),
  correlationId: fc.uuid(),
  causationId: fc.constant(null),
  keyId: fc.constant(undefined),
  sig: fc.constant(undefined),
  // Signed by the source's registered key, mostly: the body is what is fuzzed.
  signed: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});
/** Mostly a well-formed envelope (so the body is what is fuzzed), sometimes a wild one. */
const envelope = fc.oneof({ weight: 4, arbitrary: goodEnvelope }, { weight: 1, arbitrary: wildEnvelope });

const pinOrRelease = fc.record({ jobId, startAt: isoish, operator: weirdString, reason: fc.option(weirdString, { nil: undefined }) }, { requiredKeys: ['jobId'] });

/** A NATS command payload: an envelope around a body (to be signed or not), or bytes that are no envelope at all. */
type NatsPayload = { readonly command: Record<string, unknown>; readonly signed: boolean } | Uint8Array;
const natsPayload: fc.Arbitrary<NatsPayload> = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.tuple(envelope, fc.oneof({ weight: 4, arbitrary: submitBody as fc.Arbitrary<unknown> }, pinOrRelease, anyJson)).map(([env, data]) => {
      const { sig, keyId, signed, ...rest } = env;
      return { command: { ...rest, ...(keyId === undefined ? {} : { keyId }), ...(sig === undefined ? {} : { sig }), data }, signed };
    }),
  },
  { weight: 2, arbitrary: rawBody.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
);

describe('fuzzing intake: NATS command payloads and POST /jobs bodies', { timeout: 180_000 }, () => {
  let site: Awaited<ReturnType<typeof computeSite>>;
  let app: FastifyInstance;
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => void crashes.push(err);
  before(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    site = await computeSite('fuzz');
    app = buildJobsHttp(site.rt, site.rt.store, { rateLimit: false });
    await app.ready();
  });
  after(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    await app?.close();
    await site?.close();
  });

  const stats = { accepted: 0, refusedAtIntake: 0, refusedByAgent: 0 };
  const reasons = new Map<string, number>();

  /** The invariants after one input: a reason for every refusal, bounded ledger growth. */
  async function judge(head: number, outcome: { kind: 'accepted' } | { kind: 'refused-at-intake'; reason: unknown } | { kind: 'refused-by-agent' }, input: string): Promise<void> {
    const grown = await eventsAfter(site.store, head);
    if (outcome.kind === 'refused-at-intake') {
      stats.refusedAtIntake++;
      assert.ok(typeof outcome.reason === 'string' && outcome.reason.length > 0, `a refusal without a reason: ${input}`);
      assert.equal(grown.events.length, 0, `a refusal at intake wrote ${grown.events.map((e) => e.type).join(', ')}: ${input}`);
    } else if (outcome.kind === 'refused-by-agent') {
      stats.refusedByAgent++;
      assert.ok(grown.bytes <= MAX_LEDGER_BYTES_PER_REFUSAL, `a refusal wrote ${grown.bytes} bytes: ${input}`);
      for (const e of grown.events) {
        assert.equal(e.type, 'compute.job.rejected');
        assert.ok((e.data as { problems: Array<{ reason: string }> }).problems.every((p) => p.reason.length > 0), 'every problem has a reason');
      }
    } else stats.accepted++;
  }

  test(`${NATS_RUNS} seeded NATS command payloads`, async () => {
    const subject = subjects.command(site.site, 'compute', 'submit');
    await fc.assert(
      fc.asyncProperty(natsPayload, async (p) => {
        // Signed as it will travel (JSON turns -0 and Infinity into 0 and null), so the signature covers what is sent.
        const wire = p instanceof Uint8Array ? undefined : (JSON.parse(JSON.stringify(p.command)) as { source: string });
        const bytes = p instanceof Uint8Array ? p : Buffer.from(JSON.stringify(p.signed ? await site.rt.identity.sign(wire!) : wire));
        const head = await site.store.headPosition();
        const res = await site.bus.request(subject, bytes, { timeoutMs: 10_000 });
        const reply = JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
        const input = Buffer.from(bytes).toString('utf8').slice(0, 300);
        if (!reply.ok) {
          if (process.env['FUZZ_DEBUG']) reasons.set(reply.error.reason.slice(0, 60), (reasons.get(reply.error.reason.slice(0, 60)) ?? 0) + 1);
          return judge(head, { kind: 'refused-at-intake', reason: reply.error.reason }, input);
        }
        const rejected = reply.events.some((e) => e.type === 'compute.job.rejected');
        return judge(head, rejected ? { kind: 'refused-by-agent' } : { kind: 'accepted' }, input);
      }),
      { seed: 9_001, numRuns: NATS_RUNS, endOnFailure: true },
    );
  });

  test(`${HTTP_RUNS} seeded POST /jobs bodies`, async () => {
    await fc.assert(
      fc.asyncProperty(httpBody, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'), async (b, contentType) => {
        const job = 'raw' in b ? undefined : (JSON.parse(JSON.stringify(b.job)) as Record<string, unknown>);
        const payload = 'raw' in b ? b.raw : JSON.stringify(b.signed ? await signedCommand(site.rt, job) : commandEnvelope(job));
        const head = await site.store.headPosition();
        const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': contentType }, payload });
        const input = `${contentType} ${payload.slice(0, 300)}`;
        assert.notEqual(r.statusCode, 500, `500 for ${input}: ${r.body.slice(0, 300)}`);
        const body = r.json() as { ok: boolean; error?: { reason?: unknown }; problems?: unknown[] };
        if (r.statusCode === 202) return judge(head, { kind: 'accepted' }, input);
        if (r.statusCode === 422) return judge(head, { kind: 'refused-by-agent' }, input);
        assert.ok([400, 401, 413, 415].includes(r.statusCode), `status ${r.statusCode} for ${input}`);
        return judge(head, { kind: 'refused-at-intake', reason: body.error?.reason }, input);
      }),
      { seed: 9_002, numRuns: HTTP_RUNS, endOnFailure: true },
    );
  });

  test('afterwards: no crash, the site still takes a valid job, and the ledger verifies', async () => {
    assert.deepEqual(crashes, []);
    const ok = await site.rt.send('compute', 'submit', { jobId: 'after-fuzz', class: 'training', powerKw: 100, runtimeMin: 30, earliestStart: '2023-07-03T01:00:00Z', deadline: '2023-07-03T12:00:00Z', slaClass: 'gold', preemptible: false });
    assert.equal(ok.ok && ok.events[0]?.type, 'compute.job.submitted');
    const report = await verifyLedger(site.store, site.keyring);
    assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
    if (process.env['FUZZ_DEBUG']) process.stderr.write(`${JSON.stringify([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 20), null, 1)}\n`);
    assert.ok(stats.accepted > 50 && stats.refusedAtIntake > 1000 && stats.refusedByAgent > 50, JSON.stringify(stats));
    process.stderr.write(`fuzz: ${JSON.stringify(stats)}, ${report.events} events on the ledger\n`);
  });
});
