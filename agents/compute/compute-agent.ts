import { defineAgent, type AgentContext, type AgentDefinition, type Decision, type RateLimit } from '../../core/runtime/index.ts';
import { RejectionRecords } from './rejection-records.ts';
import { DEFAULT_MAX_ONSITE_OFFERS_PER_SOURCE, type OnsiteLimits } from './onsite-offers.ts';
import { DEFAULT_ONSITE_REPLAN_SPACING_MS, OnsiteReplans } from './onsite-replans.ts';
import type { SiteConfig } from './jobs/index.ts';
import type { SlaCeiling } from './sla-ceiling.ts';
import type { PlanOptions, PlanResult } from './planner/index.ts';
import { DEFAULT_FLEX_WINDOWS, type FlexWindowOptions } from './flex-windows.ts';
import { initialComputeState, type ComputeState } from './state.ts';
import { makeEvolve } from './evolve.ts';
import type { ComputeCmd, ComputeIn, ComputeOut } from './messages.ts';
import { SitePlanner } from './site-planner.ts';
import { TICK, TickSchedule } from './tick-schedule.ts';
import type { ComputeDeciderDeps, RuntimePredictor } from './decide/deps.ts';
import { decideSubmit } from './decide/submit.ts';
import { decidePin } from './decide/pin.ts';
import { decideRelease } from './decide/release.ts';
import { DEFAULT_MAX_OVERRIDES_PER_JOB } from './decide/overrides.ts';
import { decideTick } from './decide/tick.ts';
import { decideOnEnergyOffered, decideOnFlexOrder } from './decide/replan.ts';

export type { RuntimePrediction } from './decide/deps.ts';

export interface ComputeAgentDeps {
  readonly site: SiteConfig;
  readonly planOptions?: PlanOptions;
  /** Predicts a runtime from job features when a submission gives none. */
  readonly predictRuntime?: RuntimePredictor;
  readonly flexWindows?: FlexWindowOptions;
  readonly initialSocKwh?: number;
  /** Called with each plan (for benchmarks and the dashboard); not part of the ledger. */
  readonly onPlan?: (plan: PlanResult) => void;
  /**
   * How many jobs not yet done one third party (a key of role `third-party`) may have at this
   * site; a submission past it is refused. The site's own parties are not limited. Default
   * DEFAULT_MAX_OPEN_JOBS_PER_PARTY.
   */
  readonly maxOpenJobsPerParty?: number;
  /**
   * How many kW of jobs not yet done (each at its resolved powerKw) one third party may have at
   * this site; a submission that would take it past is refused (field powerKw). The site's own
   * parties are not limited. Default DEFAULT_MAX_OPEN_KW_SHARE of the site's IT capacity;
   * `'off'`: no limit.
   */
  readonly maxOpenKwPerParty?: number | 'off';
  /**
   * The highest service class (slaClass) each third party may ask for; a submission above its
   * party's is refused (field slaClass). The site's own parties are not limited. Default: any.
   */
  readonly slaCeiling?: SlaCeiling;
  /**
   * How many pins and releases one job takes from its submitter (operators are not held to it);
   * past it a change is refused. Default DEFAULT_MAX_OVERRIDES_PER_JOB (decide/overrides.ts).
   */
  readonly maxOverridesPerJob?: number;
  /** How many refused commands of one third party are recorded (default DEFAULT_REJECTION_RECORDS; see rejection-records.ts). */
  readonly rejectionRecords?: RateLimit;
  /**
   * How many offers one outside operator may have live (onsite.energy.offered, a distinct
   * asset each); past it a new asset's offer is not used. Default DEFAULT_MAX_ONSITE_OFFERS_PER_SOURCE.
   */
  readonly maxOnsiteOffersPerSource?: number;
  /**
   * At most one re-plan for outside offers in this many ms of the clock; offers in between are
   * planned on by the next plan. Default DEFAULT_ONSITE_REPLAN_SPACING_MS (a half-hour); 0
   * re-plans on every offer.
   */
  readonly onsiteReplanSpacingMs?: number;
}

/**
 * Every open job is in every re-plan (HiGHS, every half-hour and on each order), so one
 * outside submitter must not be able to grow the plan without bound: a thousand is far more
 * than a tenant runs at once, and far fewer than would slow the planner for everyone.
 */
export const DEFAULT_MAX_OPEN_JOBS_PER_PARTY = 1_000;

/**
 * A count does not bound power: 200 jobs of 50 kW are a 10 MW site's whole IT capacity, and
 * jobs the planner cannot move make every other tenant late. Half the site for one third party
 * leaves the other half for everyone else, and is still more than one tenant runs at once.
 */
export const DEFAULT_MAX_OPEN_KW_SHARE = 0.5;

export type ComputeAgent = AgentDefinition<ComputeState, ComputeIn, ComputeOut, ComputeCmd>;

/**
 * The compute agent owns the jobs and the plan. Each half-hour it meters the half-hour just
 * ended, books what each job used on the observed signals, re-plans the next 48 h with the
 * latest forecast, battery and import caps (HiGHS, checked by the independent validator),
 * dispatches the first half-hour and offers the plan's slack as flexibility. Arrivals get a
 * provisional place at once; operators can pin and release jobs; a flexibility order or an
 * outside operator's energy offer makes it re-plan (offers at most once a half-hour).
 *
 * This is wiring: each input kind has its decider in decide/. Besides the ledger state, an
 * instance keeps things in memory, all rebuilt on a restart: its planner's last plan (a warm
 * start, site-planner.ts), the tick timers it armed (tick-schedule.ts), the refusals recorded
 * lately (rejection-records.ts) and when an outside offer last re-planned (onsite-replans.ts).
 */
export function createComputeAgent(deps: ComputeAgentDeps): ComputeAgent {
  const site = deps.site;
  const initialSoc = deps.initialSocKwh ?? site.battery.energyKwh * 0.5;
  const planner = new SitePlanner(deps.planOptions ?? {}, deps.onPlan);
  const ticks = new TickSchedule();
  // In memory, like the command rate: how many refusals each third party has had recorded lately.
  const rejections = new RejectionRecords(deps.rejectionRecords);
  const onsiteLimits: OnsiteLimits = { maxOffersPerSource: deps.maxOnsiteOffersPerSource ?? DEFAULT_MAX_ONSITE_OFFERS_PER_SOURCE };
  // In memory, like the planner's last plan: when an outside offer last re-planned.
  const onsiteReplans = new OnsiteReplans(deps.onsiteReplanSpacingMs ?? DEFAULT_ONSITE_REPLAN_SPACING_MS);
  const deciderDeps = (ctx: AgentContext): ComputeDeciderDeps => ({
    site,
    ...(deps.predictRuntime ? { predictRuntime: deps.predictRuntime } : {}),
    flexWindows: deps.flexWindows ?? DEFAULT_FLEX_WINDOWS,
    planner,
    log: ctx.log,
    maxOpenJobsPerParty: deps.maxOpenJobsPerParty ?? DEFAULT_MAX_OPEN_JOBS_PER_PARTY,
    maxOpenKwPerParty: deps.maxOpenKwPerParty === 'off' ? undefined : (deps.maxOpenKwPerParty ?? site.itCapacityKw * DEFAULT_MAX_OPEN_KW_SHARE),
    slaCeiling: deps.slaCeiling,
    maxOverridesPerJob: deps.maxOverridesPerJob ?? DEFAULT_MAX_OVERRIDES_PER_JOB,
    onsiteLimits,
    onsiteReplans,
  });

  return defineAgent<ComputeState, ComputeIn, ComputeOut, ComputeCmd>({
    name: 'compute',
    version: '1.0.0',
    categories: ['job', 'plan', 'meter', 'intake'],
    subscriptions: ['flex.order.confirmed', 'flex.order.cancelled', 'flex.order.updated', 'onsite.energy.offered'],
    observes: [
      'grid.forecast.published',
      'grid.signal.observed',
      'flex.order.confirmed',
      'flex.order.cancelled',
      'flex.order.updated',
      'onsite.energy.offered',
      'onsite.battery.state.reported',
    ],
    commands: { submit: 'compute.job.submit', pin: 'compute.job.pin', release: 'compute.job.release' },
    // A new state per rebuild: evolve updates it in place (state.ts says why).
    initialState: () => initialComputeState(initialSoc),
    evolve: makeEvolve(site.pue, onsiteLimits),
    onStart(ctx, state) {
      ticks.start(ctx, state.dispatch?.slotStartMs);
    },
    async decide(input, state, ctx) {
      switch (input.kind) {
        case 'timer':
          if (input.name !== TICK) return [];
          ticks.next(ctx, input.atMs);
          return decideTick(deciderDeps(ctx), state, input.atMs);
        case 'command': {
          const c = input.command;
          let decided: Decision<ComputeOut>[];
          switch (c.type) {
            case 'compute.job.submit':
              decided = await decideSubmit(deciderDeps(ctx), state, { data: c.data, by: c.principal, nowMs: ctx.now() });
              break;
            case 'compute.job.pin':
              decided = decidePin(deciderDeps(ctx), state, { data: c.data, by: c.principal, nowMs: ctx.now(), sentAtMs: Date.parse(c.time) });
              break;
            case 'compute.job.release':
              decided = decideRelease(deciderDeps(ctx), state, { data: c.data, by: c.principal, sentAtMs: Date.parse(c.time) });
              break;
            default: {
              const _never: never = c;
              return [];
            }
          }
          return rejections.admit(decided, c.principal, ctx.now(), ctx.log);
        }
        case 'event': {
          // Only what `subscriptions` lets through arrives here; the rest is observed (evolved) only.
          const e = input.event;
          switch (e.type) {
            case 'flex.order.confirmed':
            case 'flex.order.updated':
            case 'flex.order.cancelled':
              return decideOnFlexOrder(deciderDeps(ctx), state, e, ctx.now());
            case 'onsite.energy.offered':
              return decideOnEnergyOffered(deciderDeps(ctx), state, e, ctx.now());
            case 'onsite.battery.state.reported':
            case 'grid.forecast.published':
            case 'grid.signal.observed':
            case 'compute.job.submitted':
            case 'compute.job.rejected':
            case 'compute.job.planned':
            case 'compute.job.started':
            case 'compute.job.preempted':
            case 'compute.job.completed':
            case 'compute.job.deadline-missed':
            case 'compute.job.pinned':
            case 'compute.job.released':
            case 'compute.plan.published':
            case 'compute.flexibility.available':
            case 'site.meter.read':
              return [];
            default: {
              const _never: never = e;
              return [];
            }
          }
        }
        default: {
          const _never: never = input;
          return [];
        }
      }
    },
  });
}
