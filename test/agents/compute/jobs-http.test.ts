import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import { request as httpRequest } from 'node:http';
import { buildJobsHttp, startJobsHttp } from '../../../cli/jobs-http.ts';
import { newKeyFile, signWithKey, privateKeyFromSeedB64 } from '../../support/identity.ts';
import { SiteIdentity } from '../../../core/identity/index.ts';
import type { VerifiedEventStore } from '../../../core/store/index.ts';

test('jobs arrive over HTTP: accepted, rejected with field and reason, malformed with paths, and explained', async () => {
  const s = embeddedStack('http');
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity });
  rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false }, rejectionRecords: { perSecond: 0.001, burst: 2 } }));
  await rt.start();
  const app = await startJobsHttp(rt, rt.store, 0);
  const port = (app.server.address() as { port: number }).port;
  // A customer's key, registered by the site's admin; every POST is signed with it.
  const kf = newKeyFile({ party: 'customer-a', role: 'third-party' });
  await identity.admin.add({ keyId: kf.keyId, party: kf.party, role: kf.role, publicKey: kf.publicKey });
  const key = { ...kf, privateKey: privateKeyFromSeedB64(kf.privateKey) };
  let n = 0;
  const envelope = (data: unknown) => ({ id: `http-${++n}`, type: 'compute.job.submit', version: 1, time: '2023-07-03T00:00:00Z', source: kf.party, correlationId: `http-${n}`, causationId: null, data });
  const postRaw = async (body: unknown) => {
    const r = await fetch(`http://127.0.0.1:${port}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const post = (data: unknown) => postRaw(signWithKey(envelope(data), key));
  const job = { jobId: 'h1', class: 'training', gpuCount: 100, runtimeMin: 60, earliestStart: '2023-07-03T01:00:00Z', deadline: '2023-07-03T09:00:00Z', slaClass: 'gold', preemptible: false };
  const ok = await post(job);
  assert.equal(ok.status, 202);
  assert.deepEqual((ok.body['events'] as Array<{ type: string }>).map((e) => e.type), ['compute.job.submitted', 'compute.job.planned']);
  const rejected = await post({ ...job, jobId: 'h2', gpuCount: 100000 });
  assert.equal(rejected.status, 422);
  assert.equal((rejected.body['problems'] as Array<{ field: string }>)[0]?.field, 'powerKw');
  const malformed = await post({ jobId: 'h3', class: 'quantum' });
  assert.equal(malformed.status, 400);
  assert.ok(((malformed.body['error'] as { problems: Array<{ path: string }> }).problems ?? []).some((p) => p.path === 'data.class'));
  const dup = await post(job);
  assert.equal(dup.status, 422, 'the same job id twice is refused');
  // A third refusal within the burst of 2 recorded ones: still 422 with its problems, not recorded.
  const unrecorded = await post({ ...job, jobId: 'h7', gpuCount: 100000 });
  assert.equal(unrecorded.status, 422);
  assert.equal((unrecorded.body['error'] as { code: string }).code, 'refused');
  assert.equal((unrecorded.body['error'] as { problems: Array<{ path: string }> }).problems[0]?.path, 'powerKw');
  const unsigned = await postRaw(job);
  assert.equal(unsigned.status, 401);
  assert.match((unsigned.body['error'] as { reason: string }).reason, /^unsigned/);
  const impostor = await postRaw(signWithKey({ ...envelope({ ...job, jobId: 'h4' }) }, { ...key, party: 'compute' }));
  assert.equal(impostor.status, 403, 'a source other than the key\'s party is forbidden');
  assert.match((impostor.body['error'] as { reason: string }).reason, /source "compute" does not match key/);
  // Signed for another site, or expired by the site's clock: forbidden, like a bad signature.
  const elsewhere = await postRaw(signWithKey({ ...envelope({ ...job, jobId: 'h5' }), site: 'elsewhere' }, key));
  assert.equal(elsewhere.status, 403);
  assert.match((elsewhere.body['error'] as { reason: string }).reason, /^wrong site/);
  const late = await postRaw(signWithKey({ ...envelope({ ...job, jobId: 'h6' }), site: 't', expiresAt: new Date(s.clock.now() - 1000).toISOString() }, key));
  assert.equal(late.status, 403);
  assert.match((late.body['error'] as { reason: string }).reason, /^expired/);
  const submitted = rt.host('compute')!.state as { jobs: Map<string, { submittedBy: unknown }> };
  assert.deepEqual(submitted.jobs.get('h1')?.submittedBy, { keyId: kf.keyId, party: 'customer-a', role: 'third-party' });
  const explained = await (await fetch(`http://127.0.0.1:${port}/jobs/h1`)).json() as { found: boolean; steps: unknown[] };
  assert.equal(explained.found, true);
  assert.equal(explained.steps.length, 2);
  assert.equal((await fetch(`http://127.0.0.1:${port}/jobs/nope`)).status, 404);
  // Bound to loopback: a page that points its own name here (DNS rebinding) is refused, not answered.
  const rebound = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/jobs/h1', headers: { host: 'attacker.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(rebound, 421);
  await app.close();
  await rt.stop();
  await s.close();
});

test('a command shed because the agent\'s backlog is full: 503 with Retry-After, so a client retries rather than gives up', { timeout: 30_000 }, async () => {
  // The runtime answers as it does when a flood has filled the agent's backlog (Runtime's onShed).
  const busy = { ok: false, error: { code: 'busy', reason: 'busy: 1000 commands … are waiting to be checked; this one was not queued: send it again later' } };
  const runtime = { sendEnvelope: async () => busy } as unknown as Runtime;
  // POST /jobs reads no ledger.
  const app = buildJobsHttp(runtime, {} as unknown as VerifiedEventStore);
  try {
    const body = { id: 'busy-1', type: 'compute.job.submit', version: 1, time: '2023-07-03T00:00:00Z', source: 'customer-b', correlationId: 'busy-1', causationId: null, data: {}, keyId: 'k', sig: 's' };
    const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    assert.equal(r.statusCode, 503, r.body);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal((r.json() as { error: { code: string } }).error.code, 'busy');
  } finally {
    await app.close();
  }
});
