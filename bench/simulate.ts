/**
 * `npm run bench -- simulate [--days 7] [--seed 42] [--from 2023-07-03] [--bus memory|nats] [--store sqlite|jetstream|postgres]` (postgres: CACO_DATABASE_URL)
 *
 * The default seven-day simulation, timed: wall seconds and events/s (target ≤ 60 s on the
 * 2-core machine). Baselines are left out: they are the schedule benchmark's business.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../sim/index.ts';
import { siteConfig } from '../agents/compute/jobs/index.ts';
import { loadConfig } from '../core/config/index.ts';
import { benchFlags, dateFlag, printTable, wholeFlag, writeResults } from './report.ts';
import { cacoTotals, flexSummary } from '../sim/index.ts';

/** The simulation benchmark's flags, checked before anything runs (bus and store names are checked by loadConfig). */
export function simulateArgs(argv: string[]): { days: number; seed: string; fromMs: number; bus: string; store: string } {
  const v = benchFlags(argv, {
    days: { type: 'string', default: '7' },
    seed: { type: 'string', default: '42' },
    from: { type: 'string', default: '2023-07-03' },
    bus: { type: 'string', default: 'memory' },
    store: { type: 'string', default: 'sqlite' },
  });
  const days = wholeFlag('days', v.days);
  const fromMs = dateFlag('from', v.from);
  return { days, seed: v.seed, fromMs, bus: v.bus, store: v.store };
}

export async function main(argv: string[]): Promise<void> {
  const a = simulateArgs(argv);
  const { days, seed } = a;
  const config = loadConfig({ env: { ...process.env, CACO_BUS: a.bus, CACO_STORE: a.store, LOG_LEVEL: 'error' } });
  const dir = mkdtempSync(join(tmpdir(), 'caco-bench-sim-'));
  const slotTimes: number[] = [];
  let last = performance.now();
  try {
    const run = await runSimulation({
      config: { ...config, dataDir: dir },
      seed,
      fromMs: a.fromMs,
      days,
      site: siteConfig(),
      outDir: join(dir, 'run'),
      baselines: false,
      onProgress: (p) => {
        if (p.phase !== 'simulating') return;
        const now = performance.now();
        slotTimes.push(now - last);
        last = now;
      },
    });
    const wallS = run.wallMs / 1000;
    const sorted = [...slotTimes].sort((a, b) => a - b);
    const row = {
      stack: `${config.bus} bus + ${config.store} store`,
      days,
      jobs: run.inputs.jobs.length,
      events: run.events,
      'wall s': Number(wallS.toFixed(1)),
      'events/s': Math.round(run.events / wallS),
      'half-hour p50 ms': Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
      'half-hour p95 ms': Math.round(sorted[Math.floor(sorted.length * 0.95)] ?? 0),
      'target ≤ 60 s': days === 7 ? (wallS <= 60 ? 'met' : 'NOT met') : 'n/a (7 days only)',
    };
    printTable(`simulation benchmark: seed ${seed}`, [row]);
    // Issue 13: does the flexibility sold earn? Delivery ratio and net revenue per week.
    const caco = await cacoTotals(run.runtime.store, run.inputs.jobs, siteConfig());
    console.log(flexSummary(caco, days));
    const flexibility = {
      ordersSettled: caco.flexOrdersSettled,
      deliveredMwh: caco.flexDeliveredMwh,
      contractedMwh: caco.flexContractedMwh,
      deliveryRatio: caco.flexContractedMwh > 0 ? caco.flexDeliveredMwh / caco.flexContractedMwh : null,
      netGbp: caco.flexEarnedGbp,
      netGbpPerWeek: (caco.flexEarnedGbp * 7) / days,
      slaMisses: caco.slaMisses,
    };
    writeResults('simulate', { ...row, headHash: run.audit.headHash, ledgerOk: run.audit.ok, flexibility });
    await run.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
