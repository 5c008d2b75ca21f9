/**
 * The job model: what the planner needs to know about an AI job. Units live in the names.
 * Serving is non-deferrable base load: it runs from its release for its runtime, whatever the
 * grid is doing.
 */
export const JOB_CLASSES = ['training', 'batch-inference', 'serving'] as const;
export type JobClass = (typeof JOB_CLASSES)[number];

export const SLA_CLASSES = ['gold', 'silver', 'bronze'] as const;
export type SlaClass = (typeof SLA_CLASSES)[number];

export interface Job {
  readonly id: string;
  readonly class: JobClass;
  /** Average IT power while running. When built from GPUs it is gpuCount × perGpuKw. */
  readonly powerKw: number;
  readonly gpuCount?: number;
  readonly perGpuKw?: number;
  /** Runtime at full power; for a preemptible job the sum of its run time. */
  readonly runtimeMin: number;
  readonly runtimeSource?: 'given' | 'predicted';
  /** Release: the job may not run before this instant. */
  readonly earliestStartMs: number;
  /** The job should have finished by this instant; later is a miss, penalised by SLA class. */
  readonly deadlineMs: number;
  readonly slaClass: SlaClass;
  /** True when the job can be checkpointed and resumed, so it may run in pieces. */
  readonly preemptible: boolean;
}

export interface BatteryConfig {
  readonly energyKwh: number;
  readonly powerKw: number;
  /** Round-trip efficiency, split evenly between charging and discharging (√η each way). */
  readonly roundTripEfficiency: number;
  readonly minSocFraction: number;
  readonly maxSocFraction: number;
  /** Wear cost per MWh discharged, so the planner does not cycle the battery for pennies. */
  readonly degradationGbpPerMwh: number;
}

export interface SiteConfig {
  readonly itCapacityKw: number;
  readonly pue: number;
  readonly battery: BatteryConfig;
  /** The connection limit; flexibility sold can lower it per slot (see the planner's importCapKw). */
  readonly importCapKw: number;
  readonly carbonPriceGbpPerT: number;
  /** Lateness penalty per hour late, by SLA class. */
  readonly slaPenaltyGbpPerH: Readonly<Record<SlaClass, number>>;
  /** Used when a job is given as GPUs (H100-class board plus its share of the host). */
  readonly perGpuKw: number;
}

export const DEFAULT_BATTERY: BatteryConfig = {
  energyKwh: 5_000,
  powerKw: 2_500,
  roundTripEfficiency: 0.9,
  minSocFraction: 0.1,
  maxSocFraction: 0.9,
  degradationGbpPerMwh: 10,
};

/**
 * Penalties are far above what a deferral can save (a 10 MW hour costs a few £100s), so the
 * planner is late only when it cannot be on time.
 */
export const DEFAULT_SLA_PENALTY_GBP_PER_H: Readonly<Record<SlaClass, number>> = { gold: 5_000, silver: 2_000, bronze: 500 };

export const DEFAULT_SITE: SiteConfig = {
  itCapacityKw: 10_000,
  pue: 1.15,
  battery: DEFAULT_BATTERY,
  importCapKw: 14_000,
  carbonPriceGbpPerT: 85,
  slaPenaltyGbpPerH: DEFAULT_SLA_PENALTY_GBP_PER_H,
  perGpuKw: 0.7,
};

/** A site config from defaults with some fields overridden. */
export function siteConfig(overrides: Partial<Omit<SiteConfig, 'battery'>> & { battery?: Partial<BatteryConfig> } = {}): SiteConfig {
  return { ...DEFAULT_SITE, ...overrides, battery: { ...DEFAULT_BATTERY, ...(overrides.battery ?? {}) } };
}

/** Build a job's power from its GPUs. */
export function gpuPowerKw(gpuCount: number, perGpuKw: number): number {
  return gpuCount * perGpuKw;
}

/** Energy the job needs at full power. */
export function jobEnergyKwh(job: Pick<Job, 'powerKw' | 'runtimeMin'>): number {
  return (job.powerKw * job.runtimeMin) / 60;
}

/** Slack: how long the job can wait after its release and still finish on time. */
export function jobSlackMin(job: Pick<Job, 'earliestStartMs' | 'deadlineMs' | 'runtimeMin'>): number {
  return (job.deadlineMs - job.earliestStartMs) / 60_000 - job.runtimeMin;
}
