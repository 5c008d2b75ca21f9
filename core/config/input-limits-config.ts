import { ConfigError, envValue } from '../errors/errors.ts';
import { DEFAULT_COMMAND_LIMITS, type InputLimits } from '../runtime/input-limits.ts';
import type { RateLimit } from '../runtime/rate-limit.ts';
import { commandPartyBudgetFromEnv, DEFAULT_COMMAND_PARTY_BUDGET, type CommandPartyBudget } from '../runtime/command-budget.ts';

/** Bounds on what a live site takes from outside: commands over NATS and bodies over HTTP. */
export interface InputLimitsConfig {
  readonly commandLimits: InputLimits;
  /** Per signing key, on commands over NATS; undefined when switched off. */
  readonly commandRate: RateLimit | undefined;
  /** Per client address over HTTP (POST /jobs); undefined when switched off. */
  readonly httpRate: RateLimit | undefined;
  /** Commands taken from one party (not an operator) in 24 h, and their bytes; undefined when switched off. */
  readonly commandPartyBudget: CommandPartyBudget | undefined;
  /** Refuse commands and gateway requests that do not name this site or carry an expiry (core/identity/command-binding.ts). */
  readonly requireBoundCommands: boolean;
  /** Jobs not yet done one third party may have open at the site (the compute agent's maxOpenJobsPerParty). */
  readonly maxOpenJobsPerParty: number;
  /**
   * kW of jobs not yet done one third party may have open (the compute agent's maxOpenKwPerParty),
   * or 'off'; undefined: the compute agent's default, half the site's IT capacity (which the
   * environment does not know).
   */
  readonly maxOpenKwPerParty: number | 'off' | undefined;
  /** Live `onsite.energy.offered` assets one outside operator may have planned on (the compute agent's maxOnsiteOffersPerSource). */
  readonly maxOnsiteOffersPerSource: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimitsConfig = {
  commandLimits: DEFAULT_COMMAND_LIMITS,
  commandRate: { perSecond: 50, burst: 100 },
  httpRate: { perSecond: 20, burst: 40 },
  commandPartyBudget: DEFAULT_COMMAND_PARTY_BUDGET,
  requireBoundCommands: false,
  maxOpenJobsPerParty: 1_000,
  maxOpenKwPerParty: undefined,
  maxOnsiteOffersPerSource: 16,
};

function whole(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new ConfigError(name, `"${raw}" must be a whole number from ${min} to ${max}`);
  return n;
}

/** A positive number of kW, or `off`; finite, as an overflowing Infinity would switch the limit off unannounced. */
function kwOrOff(name: string, raw: string): number | 'off' {
  if (raw.trim() === 'off') return 'off';
  const kw = Number(raw);
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(raw) || !(kw > 0) || kw > 1_000_000_000) throw new ConfigError(name, `"${raw}" must be a number of kW above 0 and at most 1000000000, or off`);
  return kw;
}

/** Past these a rate is in effect off: said with `off`, not with a number no sender reaches. */
const MAX_RATE_PER_SECOND = 1_000_000;
const MAX_RATE_BURST = 10_000_000;

function rate(name: string, raw: string): RateLimit | undefined {
  if (raw.trim() === 'off') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+)\s*)?$/.exec(raw);
  const perSecond = m ? Number(m[1]) : NaN;
  const burst = m?.[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(perSecond * 2));
  // Bounded: hundreds of digits parse to Infinity, and twenty to a rate no sender reaches, either
  // of which switches the limit off unannounced; `off` says so.
  if (!m || !(perSecond > 0) || !(burst >= 1) || !(perSecond <= MAX_RATE_PER_SECOND) || !(burst <= MAX_RATE_BURST)) throw new ConfigError(name, `"${raw}" must be <per-second>[:<burst>], e.g. 50:100, with at most ${MAX_RATE_PER_SECOND} a second and bursts of at most ${MAX_RATE_BURST}, or off`);
  return { perSecond, burst };
}

function yesNo(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `"${raw}" must be 1 or 0 (true/false, yes/no, on/off)`);
}

/**
 * From the environment: `CACO_COMMAND_MAX_BYTES` (default 65536), `CACO_COMMAND_MAX_DEPTH`
 * (32), `CACO_COMMAND_RATE` (per signing key, `50:100` = 50 a second, bursts of 100; `off`) and
 * `CACO_HTTP_RATE` (per client address, `20:40`) and `CACO_COMMAND_PARTY_BUDGET` (per party,
 * `20000:64MiB` = 20,000 commands or 64 MiB in 24 h; `off`) and `CACO_REQUIRE_BOUND_COMMANDS` (`1`: refuse
 * commands that do not name the site or carry an expiry; default `0`) and
 * `CACO_MAX_OPEN_JOBS_PER_PARTY` (1000) and `CACO_MAX_ONSITE_OFFERS_PER_SOURCE` (16). A bad value
 * names the variable.
 */
export function inputLimitsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): InputLimitsConfig {
  const get = (k: string) => envValue(env, k);
  const maxBytes = get('CACO_COMMAND_MAX_BYTES');
  const maxDepth = get('CACO_COMMAND_MAX_DEPTH');
  const commandRate = get('CACO_COMMAND_RATE');
  const httpRate = get('CACO_HTTP_RATE');
  const requireBound = get('CACO_REQUIRE_BOUND_COMMANDS');
  const maxOpenJobs = get('CACO_MAX_OPEN_JOBS_PER_PARTY');
  const maxOpenKw = get('CACO_MAX_OPEN_KW_PER_PARTY');
  const maxOffers = get('CACO_MAX_ONSITE_OFFERS_PER_SOURCE');
  return {
    commandLimits: {
      // NATS refuses messages above its max_payload (1 MB by default) anyway.
      maxBytes: maxBytes ? whole('CACO_COMMAND_MAX_BYTES', maxBytes, 1024, 8 * 1024 * 1024) : DEFAULT_INPUT_LIMITS.commandLimits.maxBytes,
      maxDepth: maxDepth ? whole('CACO_COMMAND_MAX_DEPTH', maxDepth, 4, 256) : DEFAULT_INPUT_LIMITS.commandLimits.maxDepth,
    },
    commandRate: commandRate ? rate('CACO_COMMAND_RATE', commandRate) : DEFAULT_INPUT_LIMITS.commandRate,
    httpRate: httpRate ? rate('CACO_HTTP_RATE', httpRate) : DEFAULT_INPUT_LIMITS.httpRate,
    commandPartyBudget: commandPartyBudgetFromEnv(env),
    requireBoundCommands: requireBound ? yesNo('CACO_REQUIRE_BOUND_COMMANDS', requireBound) : DEFAULT_INPUT_LIMITS.requireBoundCommands,
    maxOpenJobsPerParty: maxOpenJobs ? whole('CACO_MAX_OPEN_JOBS_PER_PARTY', maxOpenJobs, 1, 1_000_000) : DEFAULT_INPUT_LIMITS.maxOpenJobsPerParty,
    maxOpenKwPerParty: maxOpenKw ? kwOrOff('CACO_MAX_OPEN_KW_PER_PARTY', maxOpenKw) : DEFAULT_INPUT_LIMITS.maxOpenKwPerParty,
    // Each live offer is a column per half-hour of its window in every plan.
    maxOnsiteOffersPerSource: maxOffers ? whole('CACO_MAX_ONSITE_OFFERS_PER_SOURCE', maxOffers, 1, 1_000) : DEFAULT_INPUT_LIMITS.maxOnsiteOffersPerSource,
  };
}
