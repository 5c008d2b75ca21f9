/** A simulated day of the site (seeded, 30 jobs, no baselines) on a given stack, for the cluster tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../../sim/simulation.ts';
import { cacoTotals } from '../../sim/results.ts';
import { siteConfig } from '../../agents/compute/jobs/index.ts';
import { loadConfig } from '../../core/config/config.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';

const FROM = Date.parse('2023-07-10T00:00:00Z');

export async function simulate(site: string, stack: { store: 'sqlite' | 'jetstream'; natsUrl?: string; replicas?: number }, seed: string, onSlot?: (slot: number) => void, o: { refold?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'caco-cluster-sim-'));
  // SIM_LOG_LEVEL=warn shows, e.g., events the readers quarantined, when a fault test fails.
  const config = loadConfig({
    env: { CACO_SITE: site, CACO_BUS: 'memory', CACO_STORE: stack.store, LOG_LEVEL: process.env['SIM_LOG_LEVEL'] ?? 'error', ...(stack.natsUrl ? { NATS_URL: stack.natsUrl } : {}), ...(stack.replicas ? { CACO_REPLICAS: String(stack.replicas) } : {}) },
  });
  const slotsAt: Array<{ slot: number; at: number }> = [];
  let last = -1;
  const run = await runSimulation({
    config: { ...config, dataDir: dir },
    seed,
    fromMs: FROM,
    days: 1,
    site: siteConfig(),
    jobsPerDay: 30,
    outDir: join(dir, 'run'),
    baselines: false,
    onProgress: (p) => {
      if (p.phase !== 'simulating' || p.slot === last) return;
      last = p.slot;
      slotsAt.push({ slot: p.slot, at: Date.now() });
      onSlot?.(p.slot);
    },
  });
  try {
    const totals = await cacoTotals(run.stack.store, run.inputs.jobs, siteConfig());
    const ids: string[] = [];
    // What each event is, for a failure to name the first one that differs from the reference.
    const what: string[] = [];
    for await (const e of run.stack.store.readAll() as AsyncIterable<Envelope>) {
      ids.push(e.id);
      what.push(`${e.type} on ${e.stream}@${e.revision} by ${e.source}`);
    }
    // What made the audit fail, if it did: the first breaks, and the anchor's verdict.
    const problems = [...run.audit.broken.slice(0, 3).map((b) => `position ${b.position} ${b.stream}@${b.revision}: ${b.reason}`), ...(run.audit.anchor && !run.audit.anchor.ok ? [`anchor: ${run.audit.anchor.problem ?? 'not ok'}`] : [])].join('; ');
    // `refold`: folded again after the reads above, so a fault test whose totals differ says
    // whether the ledger differs or only the first read of it did.
    const totalsAgain = o.refold ? await cacoTotals(run.stack.store, run.inputs.jobs, siteConfig()) : totals;
    return { natsSite: run.stack.site, head: run.audit.headHash, ok: run.audit.ok, problems, events: run.audit.events, ids, what, totals, totalsAgain, slotsAt };
  } finally {
    await run.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Run = Awaited<ReturnType<typeof simulate>>;

/** Where a run's ledger first parts from the reference's, in words ('' when the two are the same). */
export function firstDifference(run: Pick<Run, 'ids' | 'what'>, reference: Pick<Run, 'ids' | 'what'>): string {
  const n = Math.max(run.ids.length, reference.ids.length);
  for (let i = 0; i < n; i++) {
    if (run.ids[i] === reference.ids[i]) continue;
    const side = (r: Pick<Run, 'ids' | 'what'>) => (i < r.ids.length ? `${r.ids[i]} (${r.what[i]})` : 'nothing');
    return `event ${i + 1} of ${run.ids.length} (the reference has ${reference.ids.length}): this run has ${side(run)}, the reference ${side(reference)}`;
  }
  return '';
}
