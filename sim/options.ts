import type { CacoConfig } from '../core/config/index.ts';
import type { SiteConfig } from '../agents/compute/jobs/index.ts';

export interface SimulationOptions {
  readonly config: CacoConfig;
  readonly seed: string;
  readonly fromMs: number;
  readonly days: number;
  readonly site: SiteConfig;
  /** CSVs in the shared files' columns; default: the project's copies under data/. */
  readonly carbonCsv?: string;
  readonly pricesCsv?: string;
  /** A workload CSV instead of the generator. */
  readonly jobsCsv?: string;
  /** Deferrable jobs per day for the generator. */
  readonly jobsPerDay?: number;
  readonly slackShare?: number;
  /** Folder for this run's ledger, report and JSON. */
  readonly outDir: string;
  /** Sell flexibility over Beckn (coordination agent + simulated grid operator). Default true. */
  readonly market?: boolean;
  /** Compare with run-on-arrival and the perfect-foresight optimum. Default true. */
  readonly baselines?: boolean;
  readonly onProgress?: (p: SimulationProgress) => void;
  /** Called once the data and workload are loaded, before the agents start. */
  readonly onInputs?: (inputs: import('./inputs.ts').SimulationInputs) => void;
}

export interface SimulationProgress {
  readonly phase: 'loading' | 'simulating' | 'draining' | 'baselines' | 'report';
  readonly slot: number;
  readonly slots: number;
  readonly events: number;
  readonly simTimeMs: number;
  readonly message?: string;
}
