import type { Logger } from '../../../core/log/index.ts';
import type { SiteConfig } from '../jobs/index.ts';
import type { SlaCeiling } from '../sla-ceiling.ts';
import type { FlexWindowOptions } from '../flex-windows.ts';
import type { SitePlanner } from '../site-planner.ts';
import type { OnsiteLimits } from '../onsite-offers.ts';
import type { OnsiteReplans } from '../onsite-replans.ts';

export interface RuntimePrediction {
  readonly minutes: number;
  readonly model: string;
}

/**
 * What a runtime predictor throws for features it cannot use (a job type the model does not
 * know): the submitter's fault, refused naming the field. Features come from outside the site;
 * anything a predictor throws is refused, never retried, since the same command fails the same
 * way, and an agent retrying it would hold every other tenant's commands meanwhile.
 */
export class RuntimeFeaturesError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'RuntimeFeaturesError';
  }
}

/** Predicts a runtime from job features when a submission gives none (may throw RuntimeFeaturesError). */
export type RuntimePredictor = (features: Readonly<Record<string, string | number>>) => Promise<RuntimePrediction | null> | RuntimePrediction | null;

/** What the compute agent's deciders need besides the state and the input. */
export interface ComputeDeciderDeps {
  readonly site: SiteConfig;
  readonly predictRuntime?: RuntimePredictor;
  readonly flexWindows: FlexWindowOptions;
  readonly planner: SitePlanner;
  readonly log: Logger;
  /** How many jobs not yet done one third party may have (see decideSubmit). */
  readonly maxOpenJobsPerParty: number;
  /** How many kW of jobs not yet done one third party may have; undefined: no limit (see decideSubmit). */
  readonly maxOpenKwPerParty: number | undefined;
  /** The highest service class each third party may ask for; undefined: any (see decideSubmit). */
  readonly slaCeiling: SlaCeiling | undefined;
  /** How many pins and releases one job takes from its submitter (see decide/overrides.ts). */
  readonly maxOverridesPerJob: number;
  /** What outside operators' offers are held to (see offerVerdict). */
  readonly onsiteLimits: OnsiteLimits;
  /** When an outside offer may re-plan, and who is told about offers not used (agent memory). */
  readonly onsiteReplans: OnsiteReplans;
}
