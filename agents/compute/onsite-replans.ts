import type { Logger } from '../../core/log/index.ts';
import { HALF_HOUR_MS } from '../../core/time/index.ts';

/**
 * How often outside facts (an operator's `onsite.energy.offered`) may re-plan the site. A
 * re-plan is a MILP solve in the agent's one-at-a-time mailbox and a `compute.job.planned` for
 * every job it moves, so a re-plan per fact would let one operator key, at its append rate,
 * hold up job commands and grow the ledger by every open job each time. The first offer after
 * a quiet spacing re-plans at once; those within the spacing after it re-plan nothing then, and
 * the next plan (the half-hourly tick at the latest, made from scratch) plans on all of them. A
 * re-plan from an offer starts at the next half-hour anyway, which is where that tick plans
 * from, so waiting for it delays no dispatch.
 */
export const DEFAULT_ONSITE_REPLAN_SPACING_MS = HALF_HOUR_MS;

interface Spell {
  count: number;
  readonly firstMs: number;
  lastMs: number;
}

/**
 * The compute agent's memory about outside offers, like its planner's last plan (site-planner.ts):
 * not state, not on the ledger, rebuilt empty on a restart (whose first plan is a full one
 * anyway). Its time is the agent's clock (`ctx.now()`), so a simulation stays replayable.
 *
 * - `replanNow`: at most one re-plan for outside facts per `spacingMs`.
 * - `notUsed` / `used`: an operator whose offers are not used (offerVerdict) is logged once
 *   when that starts, and once more, with the count, when one of its offers is used again;
 *   not once per offer, which would be the flood again, in the log. At most `maxSources`
 *   operators are remembered.
 */
export class OnsiteReplans {
  private lastReplanMs = Number.NEGATIVE_INFINITY;
  private readonly unused = new Map<string, Spell>();

  constructor(
    readonly spacingMs: number = DEFAULT_ONSITE_REPLAN_SPACING_MS,
    private readonly maxSources = 10_000,
  ) {}

  /** Whether an outside fact at `nowMs` may re-plan now (and if so, it counts as the spacing's re-plan). */
  replanNow(nowMs: number): boolean {
    if (nowMs >= this.lastReplanMs && nowMs - this.lastReplanMs < this.spacingMs) return false;
    this.lastReplanMs = nowMs;
    return true;
  }

  /** An offer of `source` that is not used, and why. */
  notUsed(source: string, assetId: string, reason: string, nowMs: number, log: Pick<Logger, 'warn'>): void {
    const spell = this.unused.get(source);
    if (spell) {
      spell.count++;
      spell.lastMs = nowMs;
      return;
    }
    if (this.unused.size >= this.maxSources) return;
    this.unused.set(source, { count: 1, firstMs: nowMs, lastMs: nowMs });
    log.warn({ source, assetId, reason }, 'an outside energy offer is not used (and will not be logged again until one of this operator\'s offers is)');
  }

  /** An offer of `source` is used: a spell of offers not used ends. */
  used(source: string, log: Pick<Logger, 'info'>): void {
    const spell = this.unused.get(source);
    if (!spell) return;
    this.unused.delete(source);
    log.info({ source, notUsed: spell.count, from: iso(spell.firstMs), to: iso(spell.lastMs) }, 'outside energy offers were not used');
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
