import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore } from '../core/store/event-store.ts';
import type { AuditReport } from '../core/ledger/verify.ts';
import type { SiteConfig } from '../agents/compute/jobs/index.ts';
import type { PolicyTotals } from './results.ts';

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
}

/** report.json now; report.html with the charts comes with the report module. */
export async function writeReport(p: ReportParams): Promise<void> {
  const json = { run: p.run, seed: p.seed, from: new Date(p.fromMs).toISOString(), days: p.days, site: p.site, jobs: p.jobs, totals: p.rows, ledger: { events: p.audit.events, streams: p.audit.streams, ok: p.audit.ok, headHash: p.audit.headHash }, wallMs: Math.round(p.wallMs) };
  writeFileSync(join(p.dir, 'report.json'), JSON.stringify(json, null, 2) + '\n');
}
