import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildJobsHttp } from '../../cli/jobs-http.ts';
import { subjects } from '../../core/runtime/subjects.ts';
import type { DeadLetter } from '../../core/runtime/dead-letter.ts';
import type { CommandReply } from '../../core/runtime/runtime.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { commandBytes, computeSite, eventsAfter, signedCommand, signedCommandBytes, validJob } from './support.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('bounded input over HTTP (POST /jobs)', { timeout: 60_000 }, () => {
  let site: Awaited<ReturnType<typeof computeSite>>;
  let app: FastifyInstance;
  before(async () => {
    site = await computeSite('http-bounds');
    app = buildJobsHttp(site.rt, site.rt.store, { rateLimit: { perSecond: 1, burst: 1000 }, now: () => 0 });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await site?.close();
  });
  const post = async (payload: string) => {
    const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload });
    return { status: r.statusCode, body: r.json() as { ok: boolean; error?: { reason: string; problems?: Array<{ path: string; reason: string }> } } };
  };
  /** A job as POST /jobs takes it: in a command envelope signed by a registered key. */
  const signed = async (job: Record<string, unknown>) => JSON.stringify(await signedCommand(site.rt, job));

  test('a body nested 6,000 levels deep is a 400 with the reason, and nothing is written', async () => {
    const head = await site.store.headPosition();
    const body = `{"jobId":"d1","class":"training","powerKw":1,"runtimeMin":1,"earliestStart":"2023-07-03T01:00:00Z","deadline":"2023-07-03T09:00:00Z","slaClass":"gold","preemptible":false,"features":${deep(6000)}}`;
    const r = await post(body);
    assert.equal(r.status, 400);
    assert.match(r.body.error?.reason ?? '', /nested too deep: more than 32 levels/);
    assert.equal(await site.store.headPosition(), head);
  });

  test('a 1,000,000-character jobId is a 413 with the reason, and nothing is written', async () => {
    const head = await site.store.headPosition();
    const r = await post(await signed(validJob('j'.repeat(1_000_000))));
    assert.equal(r.status, 413);
    assert.match(r.body.error?.reason ?? '', /too large.*65536/);
    assert.equal(await site.store.headPosition(), head);
  });

  test('jobId "a.b", a 129-character jobId, a negative runtime, a nanosecond time and a +00:00 offset are refused by the schema with the field', async () => {
    const head = await site.store.headPosition();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...validJob('a.b') }, 'data.jobId'],
      [{ ...validJob('x'.repeat(129)) }, 'data.jobId'],
      [{ ...validJob('neg'), runtimeMin: -5 }, 'data.runtimeMin'],
      [{ ...validJob('ns'), deadline: '2023-07-03T09:00:00.000000001Z' }, 'data.deadline'],
      [{ ...validJob('off'), earliestStart: '2023-07-03T01:00:00+00:00' }, 'data.earliestStart'],
      [{ ...validJob('extra'), colour: 'red' }, 'data.colour'],
    ];
    for (const [job, path] of cases) {
      const r = await post(await signed(job));
      assert.equal(r.status, 400, JSON.stringify(job).slice(0, 100));
      assert.ok(r.body.error?.reason, 'a reason');
      assert.deepEqual(r.body.error?.problems?.map((p) => p.path), [path]);
    }
    assert.equal(await site.store.headPosition(), head, 'schema refusals write nothing');
  });

  test('not JSON, and no body, are 400s with a reason', async () => {
    for (const payload of ['{"jobId":', 'null', '']) {
      const r = await post(payload);
      assert.equal(r.status, 400, payload);
      assert.ok((r.body.error?.reason ?? '').length > 0, payload);
    }
  });

  test('an unknown path, a bad percent-encoding and an overlong id are refusals in the site\'s shape, not Fastify\'s echo of the path', async () => {
    const get = async (url: string) => {
      const r = await app.inject({ method: 'GET', url });
      return { status: r.statusCode, body: r.json() as { ok: boolean; error?: { reason: string } } };
    };
    const nowhere = await get('/admin/secrets');
    assert.equal(nowhere.status, 404);
    assert.deepEqual(nowhere.body, { ok: false, error: { reason: 'no such endpoint: GET "/admin/secrets"; the site serves POST /jobs, GET /jobs/:id, GET /health and GET /metrics' } });
    const badUrl = await get('/jobs/%E0%A4%A');
    assert.equal(badUrl.status, 400);
    assert.deepEqual(badUrl.body, { ok: false, error: { reason: 'path refused: it is not a valid URL (bad percent-encoding)' } });
    const long = await get(`/jobs/${'x'.repeat(5000)}`);
    assert.equal(long.status, 414);
    assert.deepEqual(long.body, { ok: false, error: { reason: 'path refused: a part of it is longer than the site reads' } });
  });

  test('a signed-looking body whose type is not a string is a 400 naming type, not a 500', async () => {
    // String() of {"toString": 1} throws (toString is not callable): it used to end as "internal error".
    for (const type of [{ toString: 1 }, { valueOf: 1, toString: 1 }, ['compute.job.submit'], 7, null]) {
      const r = await post(JSON.stringify({ keyId: 'k', sig: 's', type }));
      assert.equal(r.status, 400, JSON.stringify(type));
      assert.match(r.body.error?.reason ?? '', /^type: POST \/jobs takes "compute\.job\.submit", not /, JSON.stringify(type));
    }
  });

  test('a refusal by the agent is a bounded summary on the ledger (under 1 KB)', async () => {
    const id = 'x'.repeat(128);
    assert.equal((await post(await signed(validJob(id)))).status, 202);
    const head = await site.store.headPosition();
    const dup = await post(await signed(validJob(id)));
    assert.equal(dup.status, 422);
    const { events, bytes } = await eventsAfter(site.store, head);
    assert.deepEqual(events.map((e) => e.type), ['compute.job.rejected']);
    assert.ok(bytes <= 1024, `${bytes} bytes`);
    assert.equal((await verifyLedger(site.store, site.keyring)).ok, true);
  });

  test('past the per-address rate limit the answer is 429 with the reason', async () => {
    const limited = buildJobsHttp(site.rt, site.rt.store, { rateLimit: { perSecond: 1, burst: 2 }, now: () => 0 });
    try {
      const send = () => limited.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: '{}' });
      // Unsigned: refused (401), and counted against the address all the same.
      assert.equal((await send()).statusCode, 401);
      assert.equal((await send()).statusCode, 401);
      const third = await send();
      assert.equal(third.statusCode, 429);
      assert.match((third.json() as { error: { reason: string } }).error.reason, /rate limit: address "[^"]*" may send 1 requests a second \(burst 2\)/);
      assert.ok(Number(third.headers['retry-after']) >= 1);
      // Counted before the body is read: past the limit a body is not parsed at all (a
      // malformed one was answered 400, after its parse, before the limit was looked at).
      const unparsed = await limited.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: `{"pad":"${'x'.repeat(60_000)}",` });
      assert.equal(unparsed.statusCode, 429);
    } finally {
      await limited.close();
    }
  });

  test('GET /jobs/:id (an explanation scans the ledger) takes from the same per-address bucket', async () => {
    const limited = buildJobsHttp(site.rt, site.rt.store, { rateLimit: { perSecond: 1, burst: 2 }, now: () => 0 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await limited.inject({ method: 'GET', url: `/jobs/no-such-job-${i}` })).statusCode);
      assert.deepEqual(codes, [404, 404, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('bounded input over the bus (caco.<site>.cmd.>)', { timeout: 60_000 }, () => {
  test('an oversized or deep command is refused with the reason; the dead letter keeps its size and hash, not its bytes', async () => {
    const site = await computeSite('bus-bounds');
    const letters: DeadLetter[] = [];
    const sub = await site.bus.subscribe(subjects.dlq(site.site), (m) => void letters.push(JSON.parse(Buffer.from(m.data).toString('utf8')) as DeadLetter));
    try {
      const subject = subjects.command(site.site, 'compute', 'submit');
      const ask = async (bytes: Uint8Array) => JSON.parse(Buffer.from((await site.bus.request(subject, bytes, { timeoutMs: 5000 })).data).toString('utf8')) as CommandReply;
      const head = await site.store.headPosition();
      const big = await signedCommandBytes(site.rt, validJob('j'.repeat(1_000_000)));
      const r1 = await ask(big);
      assert.equal(r1.ok, false);
      assert.match(r1.ok ? '' : r1.error.reason, /too large: \d+ bytes, the limit is 65536/);
      const r2 = await ask(Buffer.from(`{"id":"x","data":${deep(6000)}}`));
      assert.match(r2.ok ? '' : r2.error.reason, /nested too deep/);
      const r3 = await ask(await signedCommandBytes(site.rt, validJob('a.b')));
      assert.deepEqual(r3.ok ? [] : r3.error.problems?.map((p) => p.path), ['data.jobId']);
      await site.bus.flush();
      assert.equal(await site.store.headPosition(), head, 'nothing on the ledger');
      const bigLetter = letters.find((l) => l.reason.startsWith('too large'));
      assert.ok(bigLetter, 'dead-lettered');
      assert.deepEqual(Object.keys(bigLetter.payload as object), ['refused']);
      assert.equal((bigLetter.payload as { refused: { bytes: number } }).refused.bytes, big.byteLength);
      assert.ok(JSON.stringify(bigLetter).length < 2048);
    } finally {
      await sub.unsubscribe();
      await site.close();
    }
  });

  test('the largest refusal the agent can write, with every id at its longest, is within 1 KB', async () => {
    const site = await computeSite('bus-worst');
    try {
      const subject = subjects.command(site.site, 'compute', 'pin');
      const head = await site.store.headPosition();
      const pin = { jobId: 'p'.repeat(128), startAt: '2023-07-03T10:00:00Z', operator: 'o'.repeat(256), reason: 'r'.repeat(2048) };
      // The sender's source does not reach the ledger (the agent is the source of its refusal); its ids do.
      const res = await site.bus.request(subject, await signedCommandBytes(site.rt, pin, { id: 'i'.repeat(128), type: 'compute.job.pin' }), { timeoutMs: 5000 });
      const reply = JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
      assert.equal(reply.ok && reply.events[0]?.type, 'compute.job.rejected', JSON.stringify(reply).slice(0, 300));
      const { events, bytes } = await eventsAfter(site.store, head);
      assert.equal(events.length, 1);
      assert.ok(bytes <= 1024, `${bytes} bytes`);
    } finally {
      await site.close();
    }
  });

  test('a job whose runtime would fill the ledger with its slots is refused, naming runtimeMin; the refusal stays small', async () => {
    const site = await computeSite('bus-long-job');
    try {
      const subject = subjects.command(site.site, 'compute', 'submit');
      const head = await site.store.headPosition();
      // A 300-byte command: two years of runtime before a deadline three years out. Its
      // planned event used to list every half-hour of the run (35,000 slots, 1.5 MB); at
      // 8,000 years the list alone does not fit in memory.
      const job = { ...validJob('long'), runtimeMin: 1_000_000, deadline: '2026-07-03T00:00:00Z' };
      const t0 = performance.now();
      const res = await site.bus.request(subject, await signedCommandBytes(site.rt, job), { timeoutMs: 30_000 });
      const ms = performance.now() - t0;
      const reply = JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
      assert.equal(reply.ok && reply.events[0]?.type, 'compute.job.rejected', JSON.stringify(reply).slice(0, 300));
      const problems = (reply.ok ? reply.events[0]!.data : {}) as { problems?: Array<{ field: string; reason: string }> };
      assert.deepEqual(problems.problems?.map((p) => p.field), ['runtimeMin']);
      assert.match(problems.problems![0]!.reason, /longest runtime the site plans/);
      const { bytes } = await eventsAfter(site.store, head);
      assert.ok(bytes <= 1024, `${bytes} bytes on the ledger`);
      assert.ok(ms < 5_000, `${Math.round(ms)} ms`);
    } finally {
      await site.close();
    }
  });

  test('each signing key has its own token bucket; past it a command is refused with the reason', async () => {
    const site = await computeSite('bus-rate', { rateLimit: { perSecond: 1, burst: 3 } });
    try {
      const subject = subjects.command(site.site, 'compute', 'submit');
      const reply = async (bytes: Uint8Array) => JSON.parse(Buffer.from((await site.bus.request(subject, bytes, { timeoutMs: 5000 })).data).toString('utf8')) as CommandReply;
      const ask = async (source: string, jobId: string) => reply(await signedCommandBytes(site.rt, validJob(jobId), { source }));
      for (let i = 0; i < 3; i++) assert.equal((await ask('flood', `f${i}`)).ok, true);
      const refused = await ask('flood', 'f3');
      assert.equal(refused.ok, false);
      assert.match(refused.ok ? '' : refused.error.reason, /rate limit: key "flood" may send 1 commands a second \(burst 3\)/);
      assert.equal(!refused.ok && refused.error.code, 'rate-limited');
      assert.equal((await ask('calm', 'c0')).ok, true, 'another key is not held back');
      site.clock.advanceTo(site.clock.now() + 1000);
      assert.equal((await ask('flood', 'f4')).ok, true, 'a token comes back after a second');
    } finally {
      await site.close();
    }
  });

  test("the bucket is the verified key's, not the claimed source's: a flood in another's name does not hold them back", async () => {
    const site = await computeSite('bus-rate-claimed', { rateLimit: { perSecond: 1, burst: 3 } });
    try {
      const subject = subjects.command(site.site, 'compute', 'submit');
      const reply = async (bytes: Uint8Array) => JSON.parse(Buffer.from((await site.bus.request(subject, bytes, { timeoutMs: 5000 })).data).toString('utf8')) as CommandReply;
      const calm = await signedCommand(site.rt, validJob('c-ok'), { source: 'calm' });
      // Unsigned, and signed-looking with calm's key id but a forged signature: all in calm's name.
      const forged = { ...(await signedCommand(site.rt, validJob('c-forged'), { source: 'calm' })), sig: Buffer.alloc(64).toString('base64') };
      const floods = [...Array.from({ length: 4 }, (_, i) => commandBytes(validJob(`u${i}`), { source: 'calm' })), ...Array.from({ length: 4 }, () => Buffer.from(JSON.stringify(forged)))];
      const refusals = await Promise.all(floods.map(reply));
      assert.ok(refusals.every((r) => !r.ok));
      assert.ok(
        refusals.some((r) => !r.ok && /rate limit: unauthenticated senders/.test(r.error.reason)),
        'past the burst the unauthenticated share one bucket',
      );
      const ok = await reply(Buffer.from(JSON.stringify(calm)));
      assert.equal(ok.ok && ok.events[0]?.type, 'compute.job.submitted', JSON.stringify(ok));
    } finally {
      await site.close();
    }
  });
});

describe('bounded input on a real NATS server', { timeout: 60_000 }, async () => {
  const skip = await natsSkip();
  test('an oversized, a deep and an ill-formed command are refused with the reason; a good one still goes through', { skip }, async () => {
    const site = await computeSite('nats-bounds', { bus: await NatsBus.connect({ servers: natsUrl(), name: 'caco-bounded-input' }), site: uniqueToken('bounds') });
    try {
      const subject = subjects.command(site.site, 'compute', 'submit');
      const ask = async (bytes: Uint8Array) => JSON.parse(Buffer.from((await site.bus.request(subject, bytes, { timeoutMs: 10_000 })).data).toString('utf8')) as CommandReply;
      const head = await site.store.headPosition();
      const big = await ask(commandBytes(validJob('j'.repeat(200_000))));
      assert.equal(big.ok, false);
      assert.match(big.ok ? '' : big.error.reason, /too large: \d+ bytes, the limit is 65536/);
      const deepOne = await ask(Buffer.from(`{"id":"x","data":${deep(6000)}}`));
      assert.match(deepOne.ok ? '' : deepOne.error.reason, /nested too deep/);
      const dotted = await ask(await signedCommandBytes(site.rt, validJob('a.b')));
      assert.deepEqual(dotted.ok ? [] : dotted.error.problems?.map((p) => p.path), ['data.jobId']);
      assert.equal(await site.store.headPosition(), head, 'nothing on the ledger');
      const good = await ask(await signedCommandBytes(site.rt, validJob('nats-ok')));
      assert.equal(good.ok && good.events[0]?.type, 'compute.job.submitted');
    } finally {
      await site.close();
    }
  });
});
