import { DEFAULT_SITE } from '../agents/compute/jobs/index.ts';
import { generateWorkload, loadTraceStats } from '../sim/workload/index.ts';
import type { Runtime } from '../core/runtime/index.ts';

/** `20261207T175230`: the run a generated job belongs to, in its id. */
function runTag(startMs: number): string {
  return new Date(startMs).toISOString().replace(/[-:]/g, '').slice(0, 15);
}

/**
 * Submit a generated workload (`caco bpp --synthetic-jobs`) as its jobs are released, on the
 * wall clock. Each run's job ids carry its start (`inf-000001-20261207T175230`): the generator
 * numbers jobs from 0 whenever it starts, so after a restart on the same ledger every id was
 * one the site had already had, every submit was answered as a duplicate, and the site ran
 * with little or no load and nothing said why (a helper's review). A submit that is refused or
 * answered as a duplicate is logged.
 */
export function submitSyntheticJobs(runtime: Pick<Runtime, 'send'>, perDay: number, seed: string, log: (s: string) => void, startMs = Date.now()): () => void {
  const { jobs } = generateWorkload({ seed, startMs, days: 7, site: DEFAULT_SITE, jobsPerDay: perDay }, loadTraceStats());
  const tag = runTag(startMs);
  // Jobs whose window has already gone by are not worth submitting.
  const timers = jobs
    .filter((j) => j.deadlineMs - Math.max(j.earliestStartMs, startMs) >= j.runtimeMin * 60_000)
    .map((j) => {
      const jobId = `${j.id}-${tag}`;
      return setTimeout(
        () => {
          void runtime
            .send(
              'compute',
              'submit',
              {
                jobId,
                class: j.class,
                powerKw: j.powerKw,
                runtimeMin: j.runtimeMin,
                earliestStart: new Date(Math.max(j.earliestStartMs, Date.now())).toISOString(),
                deadline: new Date(j.deadlineMs).toISOString(),
                slaClass: j.slaClass,
                preemptible: j.preemptible,
              },
              { id: `submit-${seed}-${jobId}`, source: 'workload' },
            )
            .then((r) => {
              if (!r.ok) log(`job ${jobId} not submitted: ${r.error.reason}`);
              else if (r.duplicate) log(`job ${jobId} not submitted: the site had its submit command already`);
            });
        },
        Math.max(0, j.earliestStartMs - Date.now()),
      );
    });
  return () => timers.forEach(clearTimeout);
}
