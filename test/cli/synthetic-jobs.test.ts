// test-file-timeout: 60
/**
 * `caco bpp --synthetic-jobs` after a restart on the same ledger: the generator numbers jobs
 * from 0 whenever it starts, so every id (and command id) was one the site had had, each submit
 * was answered as a duplicate, and nothing was logged (a helper's review).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { submitSyntheticJobs } from '../../cli/synthetic-jobs.ts';
import type { Runtime } from '../../core/runtime/index.ts';

type Send = Runtime['send'];

/** A runtime that records what is sent and answers the way the real one does to a re-sent command id. */
function fakeRuntime(): { runtime: Pick<Runtime, 'send'>; jobIds: string[]; commandIds: string[] } {
  const jobIds: string[] = [];
  const commandIds: string[] = [];
  const seen = new Set<string>();
  const send = (async (_agent, _cmd, data, opts) => {
    const id = opts?.id ?? '';
    commandIds.push(id);
    jobIds.push((data as { jobId: string }).jobId);
    const duplicate = seen.has(id);
    seen.add(id);
    return { ok: true, duplicate, events: [] };
  }) as Send;
  return { runtime: { send }, jobIds, commandIds };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

test('a restarted run submits its jobs under new ids; a duplicate answer is logged', async () => {
  const fake = fakeRuntime();
  const logged: string[] = [];
  // Started a day ago: the jobs released since are sent at once.
  const first = Date.now() - 24 * 3_600_000;
  const stop1 = submitSyntheticJobs(fake.runtime, 200, 'bpp', (s) => logged.push(s), first);
  await settle();
  stop1();
  const firstIds = new Set(fake.jobIds);
  assert.ok(firstIds.size > 10, `${firstIds.size} jobs sent`);
  // The same seed restarted an hour later: none of its ids is one already used.
  const stop2 = submitSyntheticJobs(fake.runtime, 200, 'bpp', (s) => logged.push(s), first + 3_600_000);
  await settle();
  stop2();
  const second = fake.jobIds.slice(firstIds.size);
  assert.ok(second.length > 10);
  assert.equal(second.filter((id) => firstIds.has(id)).length, 0, 'no id of the first run again');
  assert.equal(logged.length, 0, logged.join('\n'));
  // The same run twice (the same start): the site answers duplicate, and each is logged.
  const stop3 = submitSyntheticJobs(fake.runtime, 200, 'bpp', (s) => logged.push(s), first);
  await settle();
  stop3();
  assert.ok(logged.length > 10 && logged.every((l) => /not submitted: the site had its submit command already/.test(l)), logged.slice(0, 3).join('\n'));
});
