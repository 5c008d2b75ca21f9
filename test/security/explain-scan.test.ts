// test-file-timeout: 60
/**
 * GET /jobs/<id> is answered to anyone. For an id with no stream of its own it read and
 * verified every rejection on the intake stream, on every request (review: 3,000 rejections,
 * 63–127 ms a request, the process doing nothing else meanwhile). Now the rejections are
 * read once and looked up by job id; counted here in events read, not in milliseconds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobsHttp } from '../../cli/jobs-http.ts';
import type { VerifiedEventStore } from '../../core/store/index.ts';
import { computeSite, signedCommand, validJob } from './support.ts';

describe('GET /jobs/<id> does not read every recorded rejection per request', { timeout: 60_000 }, () => {
  test('300 rejections: unknown ids read them once in all; a rejected id is explained; a later rejection is found', async () => {
    const site = await computeSite('explain-scan');
    try {
      const reject = async (jobId: string) => {
        const r = await site.rt.sendEnvelope('compute', 'submit', await signedCommand(site.rt, { ...validJob(jobId), runtimeMin: 100_000 }));
        assert.ok(r.ok && r.events[0]?.type === 'compute.job.rejected', JSON.stringify(r).slice(0, 300));
      };
      for (let i = 0; i < 300; i++) await reject(`bad-${i}`);
      await site.rt.settle();
      // The runtime's verified store, its intake reads counted.
      const inner = site.rt.store;
      let intakeRead = 0;
      const store = Object.assign(Object.create(inner) as VerifiedEventStore, {
        async *readStream(stream: string, fromRevision?: number) {
          for await (const e of inner.readStream(stream, fromRevision)) {
            if (stream === 'intake-main') intakeRead++;
            yield e;
          }
        },
      });
      const app = buildJobsHttp(site.rt, store, { rateLimit: false });
      await app.ready();
      try {
        for (let k = 0; k < 5; k++) {
          const r = await app.inject({ method: 'GET', url: `/jobs/nope-${k}` });
          assert.equal(r.statusCode, 404);
          assert.deepEqual(r.json(), { jobId: `nope-${k}`, found: false, summary: `no job "nope-${k}" on the ledger`, steps: [] });
        }
        assert.equal(intakeRead, 300, 'five unknown ids read the 300 rejections once (before: 1,500)');
        const bad = await app.inject({ method: 'GET', url: '/jobs/bad-7' });
        assert.equal(bad.statusCode, 200);
        assert.match((bad.json() as { summary: string }).summary, /^job bad-7 was rejected: runtimeMin: /);
        await reject('late');
        await site.rt.settle();
        const late = await app.inject({ method: 'GET', url: '/jobs/late' });
        assert.equal(late.statusCode, 200);
        assert.match((late.json() as { summary: string }).summary, /^job late was rejected/);
        assert.equal(intakeRead, 301);
      } finally {
        await app.close();
      }
    } finally {
      await site.close();
    }
  });
});
