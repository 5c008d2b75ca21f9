import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore } from '../core/store/index.ts';
import { describeBreak, type AuditReport } from '../core/ledger/index.ts';
import type { SiteConfig } from '../agents/compute/jobs/index.ts';
import type { PolicyTotals } from './results.ts';
import { loadReadModel } from '../projections/index.ts';
import { buildReportData, loadReportAssets, renderReportHtml, type BaselineLoad, type ReportData } from './report/index.ts';

export interface ReportParams {
  readonly dir: string;
  readonly run: string;
  readonly store: EventStore;
  readonly rows: ReadonlyArray<PolicyTotals>;
  readonly audit: AuditReport;
  readonly site: SiteConfig;
  readonly fromMs: number;
  readonly days: number;
  readonly seed: string;
  readonly jobs: number;
  readonly wallMs: number;
  /** The run-on-arrival baseline's site load per half-hour, for the load plot. */
  readonly baseline?: BaselineLoad;
}

/**
 * `report.json` and a self-contained `report.html` (charts and data inlined, opens offline),
 * both from the projections of the run's ledger, so they show the same numbers.
 */
export async function writeReport(p: ReportParams): Promise<ReportData> {
  const model = await loadReadModel(p.store);
  const b = p.audit.firstBroken;
  const data = buildReportData(model, {
    run: p.run,
    seed: p.seed,
    fromMs: p.fromMs,
    days: p.days,
    site: { itCapacityKw: p.site.itCapacityKw, pue: p.site.pue, batteryKwh: p.site.battery.energyKwh, batteryKw: p.site.battery.powerKw },
    jobs: p.jobs,
    wallMs: p.wallMs,
    totals: p.rows,
    verified: { ok: p.audit.ok, headHash: p.audit.headHash, firstBroken: b ? describeBreak(b) : null },
    baseline: p.baseline ?? null,
  });
  writeFileSync(join(p.dir, 'report.json'), JSON.stringify(data, null, 2) + '\n');
  writeFileSync(join(p.dir, 'report.html'), renderReportHtml(data, loadReportAssets()));
  return data;
}
