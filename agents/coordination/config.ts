import { DEFAULT_DOMAIN, type FlexLocation, type Participant, type ProviderInfo } from '../../beckn/index.ts';
import { DEFAULT_REFUSAL_RECORD_LIMITS, type RefusalRecordLimits } from './refusal-records.ts';
import { usageBudgetFromEnv, type UsageBudget } from '../../core/runtime/index.ts';

/** What the site sells and how: every number a default that a deployment may change. */
export interface CoordinationConfig {
  /** This BPP: `id` is the subscriber id (keyId's first part), `uri` the base of `/<action>`. */
  readonly bpp: Participant;
  readonly provider: ProviderInfo;
  readonly location: FlexLocation;
  /** Beckn `context.domain` accepted and sent. */
  readonly domain: string;
  /** Added to the compute agent's marginal cost of shedding: the site's margin, £/MWh. */
  readonly marginGbpPerMwh: number;
  /** Never sell below this, £/MWh (a marginal cost near zero or negative is not a price). */
  readonly minPriceGbpPerMwh: number;
  /** Penalty per MWh short = price × this. */
  readonly penaltyFactor: number;
  /**
   * Share of the compute agent's sheddable kW put on sale. Its flexibility is computed from
   * the jobs known when it plans; jobs that arrive later need room under the import cap an
   * order sets, so the site keeps the rest in hand.
   */
  readonly sellShare: number;
  /** Smallest order, kW (capped at what a window offers). */
  readonly minOrderKw: number;
  /** Notice the site needs before a window; also the cancellation gate. */
  readonly noticeMin: number;
  /** Offers are made for windows starting at most this far ahead. */
  readonly horizonMin: number;
  /** How delivery is measured (the plan published with the offer). */
  readonly baselineMethod: string;
  /**
   * A new plan changes a published offer "materially" beyond these, and only then is the offer
   * republished (each move must exceed both its fraction and its absolute amount). Less kW is
   * republished sooner than more: overselling is worse than selling a little less.
   */
  readonly republish: {
    readonly kwDownFraction: number;
    readonly kwUpFraction: number;
    readonly kwAbs: number;
    readonly priceFraction: number;
    readonly priceAbs: number;
    readonly baselineFraction: number;
    readonly baselineAbs: number;
  };
  /** Who a BAP reaches through `support`. */
  readonly support: { readonly email: string; readonly url: string };
  /**
   * How often the compute agent re-plans (on each boundary of this many minutes), and so when
   * new offers can appear: an empty on_search says when the next one is due.
   */
  readonly planCadenceMin: number;
  /** How long to wait for the other side's ACK of a callback. */
  readonly callbackTimeoutMs: number;
  /**
   * Callbacks are always sent by the runtime's effects reactor after their fact is stored.
   * Under the lockstep scheduler, `inline` makes it await each callback before the next ledger
   * event (a seeded run is then the same every time); `background` sends through the per-BAP
   * fair queue as in live operation, where every callback is sent that way.
   */
  readonly callbackDelivery: 'background' | 'inline';
  /**
   * No longer read: the effects reactor's `RuntimeOptions.effects.maxInFlight` (default 32)
   * bounds the POSTs in flight. Kept so that existing configurations still load.
   */
  readonly maxCallbacksInFlight: number;
  /**
   * Work in hand for one BAP (requests accepted but not yet handled, plus callbacks waiting or
   * in flight). Past it, new requests from that BAP get a NACK to retry later.
   */
  readonly maxPendingPerBap: number;
  /**
   * Draft orders (selected or initialized, quote still valid) one BAP may hold at a time. Each
   * is state the agent keeps and scans until it lapses (its quote's ttl, 15 min); past it, a
   * select or init that would start another is refused.
   */
  readonly maxDraftsPerBap: number;
  /**
   * Message ids whose answers are kept to catch a repeat. An accepted message is held until its
   * ttl has passed (at most 15 min, REPLAY_HOLD_MAX_MS), and one BAP holds at most a tenth of
   * them: past its share that BAP gets 429; when the whole memory is held, every BAP does.
   */
  readonly replayMemoryMessages: number;
  /**
   * Refusals recorded one by one (`beckn.request.rejected`), per sender: those of unverified
   * requests share one bucket, each verified signer has its own. Past it a refusal is still
   * answered, and counted into one summary event instead (RefusalRecords).
   */
  readonly refusalRecords: RefusalRecordLimits;
  /**
   * What one BAP's accepted requests may add over a sliding 24 h: how many, and their bytes.
   * Each accepted request is recorded with the callback it is answered by (an on_search holds
   * the whole catalogue, ~3-4 KB), and the replay memory alone let a BAP whose messages expire
   * at once send a thousand a minute: gigabytes a day. Past it, a 429 with when to retry;
   * `undefined`: no budget (CACO_BECKN_BAP_BUDGET=off).
   */
  readonly bapBudget: UsageBudget | undefined;
}

/** 5,000 accepted requests (the simulated grid operator sends ~36 a day) or 16 MiB of them per BAP in 24 h. */
export const DEFAULT_BAP_BUDGET: UsageBudget = { count: 5_000, bytes: 16 * 1024 * 1024 };
export const BAP_BUDGET_ENV = 'CACO_BECKN_BAP_BUDGET';

/** `CACO_BECKN_BAP_BUDGET` = `<requests>:<bytes>` a BAP may have accepted in 24 h, or `off`; default `5000:16MiB`. A bad value is a ConfigError naming it. */
export function bapBudgetFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): UsageBudget | undefined {
  return usageBudgetFromEnv(env, BAP_BUDGET_ENV, DEFAULT_BAP_BUDGET, { noun: 'requests', what: 'a BAP may have accepted', example: '5000:16MiB' });
}

export const DEFAULT_LONDON_SITE: FlexLocation = {
  id: 'site-lon-01',
  name: 'London',
  cityCode: 'std:020',
  countryCode: 'GBR',
  gps: '51.5072, -0.1276',
  areaCode: 'E14',
  dno: 'UKPN',
  gspGroup: '_C',
};

/** Stable logical URIs: what goes on the ledger never names a random loopback port. */
export const SIM_BPP: Participant = { id: 'bpp.caco.local', uri: 'http://bpp.caco.local/beckn' };

export function coordinationConfig(overrides: Partial<CoordinationConfig> = {}): CoordinationConfig {
  return {
    bpp: SIM_BPP,
    provider: { id: 'dc-london-01', name: 'London DC 01 (CACO coordination agent)' },
    location: DEFAULT_LONDON_SITE,
    domain: DEFAULT_DOMAIN,
    marginGbpPerMwh: 30,
    minPriceGbpPerMwh: 40,
    penaltyFactor: 1.2,
    sellShare: 0.5,
    minOrderKw: 100,
    noticeMin: 30,
    horizonMin: 12 * 60,
    baselineMethod: 'scheduled-load-profile',
    republish: { kwDownFraction: 0.1, kwUpFraction: 0.5, kwAbs: 100, priceFraction: 0.1, priceAbs: 5, baselineFraction: 0.15, baselineAbs: 200 },
    support: { email: 'flex-desk@caco.local', url: 'http://bpp.caco.local/support' },
    planCadenceMin: 30,
    callbackTimeoutMs: 10_000,
    callbackDelivery: 'background',
    maxCallbacksInFlight: 32,
    maxPendingPerBap: 100,
    maxDraftsPerBap: 100,
    replayMemoryMessages: 10_000,
    refusalRecords: DEFAULT_REFUSAL_RECORD_LIMITS,
    bapBudget: DEFAULT_BAP_BUDGET,
    ...overrides,
  };
}
