import { Schema } from 'effect';
import { defineCommand, defineEvent } from './registry.ts';
import { boundedArray, Finite, SettlementDate, SettlementPeriod, IsoUtc, JobId, MAX_JOB_ID, NonEmpty, NonEmptyText, NonNegative, NonNegativeInt, Positive, PositiveInt, Text, nonEmptyText, text } from './common.ts';

/** A job as submitted: times on the wire are ISO 8601 UTC. */
export const JobSpec = Schema.Struct({
  jobId: JobId,
  class: Schema.Literals(['training', 'batch-inference', 'serving']),
  /** IT power while running; give it or give gpuCount (× the site's per-GPU kW). */
  powerKw: Schema.optional(Positive),
  gpuCount: Schema.optional(PositiveInt),
  /** Runtime in minutes; if absent the runtime model predicts it from `features`. */
  runtimeMin: Schema.optional(Positive),
  /** Inputs of the runtime model: at most 64, names of at most 64 characters, text values of at most 256. */
  features: Schema.optional(Schema.Record(nonEmptyText(64), Schema.Union([text(256), Finite])).check(Schema.isMaxProperties(64))),
  earliestStart: IsoUtc,
  deadline: IsoUtc,
  slaClass: Schema.Literals(['gold', 'silver', 'bronze']),
  preemptible: Schema.Boolean,
});

export const SubmitJob = defineCommand('compute.job.submit', 1, 'Submit an AI job to be planned', JobSpec);
export const PinJob = defineCommand(
  'compute.job.pin',
  1,
  'Operator override: run the job starting at this time, whatever the plan says',
  Schema.Struct({ jobId: JobId, startAt: IsoUtc, operator: NonEmpty, reason: Schema.optional(Text) }),
);
export const ReleaseJob = defineCommand(
  'compute.job.release',
  1,
  'Operator override removed: the planner may move the job again',
  Schema.Struct({ jobId: JobId, operator: NonEmpty, reason: Schema.optional(Text) }),
);

export const JobSubmitted = defineEvent(
  'compute.job.submitted',
  1,
  'A job was accepted; its power and runtime are resolved (runtime given or predicted)',
  Schema.Struct({
    jobId: JobId,
    class: Schema.Literals(['training', 'batch-inference', 'serving']),
    powerKw: NonNegative,
    gpuCount: Schema.NullOr(Schema.Int),
    runtimeMin: NonNegative,
    runtimeSource: Schema.Literals(['given', 'predicted']),
    runtimeModel: Schema.NullOr(NonEmpty),
    earliestStart: IsoUtc,
    deadline: IsoUtc,
    slaClass: Schema.Literals(['gold', 'silver', 'bronze']),
    preemptible: Schema.Boolean,
  }),
);

export const JobRejected = defineEvent(
  'compute.job.rejected',
  1,
  'A job was refused; each problem names the field and the reason. A bounded summary, never the submission itself: at most 8 problems, a reason of at most 256 characters',
  Schema.Struct({
    /** The job id as submitted when it is a valid one, else empty. */
    jobId: text(MAX_JOB_ID),
    problems: boundedArray(Schema.Struct({ field: nonEmptyText(64), reason: nonEmptyText(256) }), 8),
  }),
);

const Money = Schema.Struct({ costGbp: Finite, carbonKg: Finite });

export const JobPlanned = defineEvent(
  'compute.job.planned',
  1,
  "A job's place in the plan, with its expected cost and carbon and what running it now would cost",
  Schema.Struct({
    jobId: JobId,
    planId: NonEmpty,
    forecastId: Schema.NullOr(NonEmpty),
    /** Planned run: start of each half-hour slot and the kW drawn in it. */
    slots: Schema.Array(Schema.Struct({ start: IsoUtc, kw: NonNegative })),
    plannedStart: IsoUtc,
    plannedEnd: IsoUtc,
    expected: Money,
    /** The counterfactual: start at once, run straight through. */
    runNow: Money,
    pinned: Schema.Boolean,
    /** Why the plan moved the job, when it did (a flexibility order, a new forecast, ...). */
    reason: NonEmptyText,
    flexOrderIds: Schema.Array(NonEmpty),
  }),
);

export const JobStarted = defineEvent('compute.job.started', 1, 'A job began (or resumed) running', Schema.Struct({ jobId: JobId, at: IsoUtc, kw: NonNegative }));
export const JobPreempted = defineEvent('compute.job.preempted', 1, 'A running preemptible job was checkpointed and paused', Schema.Struct({ jobId: JobId, at: IsoUtc, remainingMin: NonNegative }));
export const JobCompleted = defineEvent(
  'compute.job.completed',
  1,
  'A job finished; what it actually used and cost on the realised signals',
  Schema.Struct({ jobId: JobId, at: IsoUtc, energyKwh: NonNegative, costGbp: Finite, carbonKg: NonNegative, late: Schema.Boolean }),
);
export const JobDeadlineMissed = defineEvent(
  'compute.job.deadline-missed',
  1,
  'A job had not finished by its deadline',
  Schema.Struct({ jobId: JobId, deadline: IsoUtc, remainingMin: NonNegative, feasibleOnArrival: Schema.Boolean }),
);
export const JobPinned = defineEvent('compute.job.pinned', 1, 'An operator pinned a job to a start time', Schema.Struct({ jobId: JobId, startAt: IsoUtc, operator: NonEmpty, reason: Text }));
export const JobReleased = defineEvent('compute.job.released', 1, 'An operator released a pinned job', Schema.Struct({ jobId: JobId, operator: NonEmpty, reason: Text }));

/** Ids of unplaced jobs a plan names; past it, only the count (a plan event stays small). */
export const MAX_UNPLACED_LISTED = 100;

export const PlanPublished = defineEvent(
  'compute.plan.published',
  1,
  'The site plan for the coming 48 h: IT and site load, battery, and how it was solved',
  Schema.Struct({
    planId: NonEmpty,
    forecastId: Schema.NullOr(NonEmpty),
    startsAt: IsoUtc,
    trigger: NonEmptyText,
    /** How the plan was made. No timings: the ledger must not depend on how busy the machine was. */
    solver: Schema.Struct({ status: NonEmpty, mode: NonEmpty, note: Text }),
    jobs: NonNegativeInt,
    /** Per half-hour slot. */
    itKw: Schema.Array(NonNegative),
    siteKw: Schema.Array(Finite),
    batteryChargeKw: Schema.Array(NonNegative),
    batteryDischargeKw: Schema.Array(NonNegative),
    batterySocKwh: Schema.Array(NonNegative),
    importCapKw: Schema.Array(NonNegative),
    expected: Money,
    /** What the site does in the first half-hour: IT kW per job, and the battery. */
    dispatch: Schema.Struct({
      slotStart: IsoUtc,
      runs: Schema.Array(Schema.Struct({ jobId: JobId, kw: NonNegative })),
      chargeKw: NonNegative,
      dischargeKw: NonNegative,
    }),
    /**
     * Jobs the plan found no room for (they will miss their deadline as things stand): how
     * many, and the first MAX_UNPLACED_LISTED of their ids in id order. Only when there are
     * any, so plans before it read the same.
     */
    unplaced: Schema.optional(Schema.Struct({ count: PositiveInt, jobIds: boundedArray(JobId, MAX_UNPLACED_LISTED) })),
  }),
);

export const FlexibilityAvailable = defineEvent(
  'compute.flexibility.available',
  1,
  'Per coming window, the load the site could shed or shift and the marginal cost of doing so',
  Schema.Struct({
    planId: NonEmpty,
    windows: Schema.Array(
      Schema.Struct({
        windowStart: IsoUtc,
        windowEnd: IsoUtc,
        kw: NonNegative,
        marginalCostGbpPerMwh: Finite,
        /**
         * The site's expected import in the window before any reduction (the default baseline):
         * the plan, topped up to the import metered at the same time on the latest earlier day,
         * since the plan cannot know the jobs still to arrive.
         */
        baselineKw: NonNegative,
      }),
    ),
  }),
);

export const SiteMetered = defineEvent(
  'site.meter.read',
  1,
  'Metered site import over one half-hour, with the realised signals',
  Schema.Struct({
    periodStart: IsoUtc,
    settlementDate: SettlementDate,
    settlementPeriod: SettlementPeriod,
    itKwh: NonNegative,
    importKwh: Finite,
    batteryChargeKwh: NonNegative,
    batteryDischargeKwh: NonNegative,
    batterySocKwh: NonNegative,
    carbonGPerKwh: Finite,
    priceGbpPerMwh: Finite,
    byClassKwh: Schema.Struct({ training: NonNegative, 'batch-inference': NonNegative, serving: NonNegative }),
    /** Whether the signals are the observed ones or, where none were observed, the forecast. */
    signals: Schema.Literals(['observed', 'forecast']),
    /** What ran in the half-hour: average IT kW per job. */
    jobs: Schema.Array(Schema.Struct({ jobId: JobId, kw: NonNegative })),
  }),
);

export const computeMessages = [
  SubmitJob,
  PinJob,
  ReleaseJob,
  JobSubmitted,
  JobRejected,
  JobPlanned,
  JobStarted,
  JobPreempted,
  JobCompleted,
  JobDeadlineMissed,
  JobPinned,
  JobReleased,
  PlanPublished,
  FlexibilityAvailable,
  SiteMetered,
];
