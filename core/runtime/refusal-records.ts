import type { Clock } from '../clock/clock.ts';
import type { DeadLetters } from './dead-letter.ts';
import { RateLimiter } from './rate-limit.ts';

/**
 * How many commands refused at intake are recorded one by one (a dead letter on
 * `caco.<site>.dlq` and its warning line); past that they are counted, and each agent's count
 * is recorded as one summary dead letter (and one line) per `summaryEveryMs`.
 */
export interface RefusalRecordLimit {
  /** Refusals recorded one by one per second, after the burst. */
  readonly perSecond: number;
  /** Refusals recorded one by one at once, after a quiet spell. */
  readonly burst: number;
  /** Milliseconds (wall clock) between summaries of what was counted and not recorded; at most one per agent each. */
  readonly summaryEveryMs: number;
}

export const DEFAULT_REFUSAL_RECORDS: RefusalRecordLimit = { perSecond: 5, burst: 50, summaryEveryMs: 10_000 };

interface Tally {
  readonly codes: Map<string, number>;
  shed: number;
  readonly sinceMs: number;
}

/**
 * The refusals of the runtime's command intake, recorded at a bounded rate: a flood of junk
 * commands would otherwise write a warning line and a dead letter for each (a log and disk flood
 * as large as the flood). The sender is still answered each time; only the record is summed up.
 */
export class RefusalRecords {
  private readonly bucket: RateLimiter;
  private tallies = new Map<string, Tally>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private summaries: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Refusals counted, not recorded one by one, since the start. */
  unrecorded = 0;

  constructor(
    private readonly limit: RefusalRecordLimit,
    private readonly clock: Clock,
    private readonly dlq: DeadLetters,
  ) {
    this.bucket = new RateLimiter({ perSecond: limit.perSecond, burst: limit.burst, maxSources: 1 });
  }

  /** May this refusal be recorded one by one? If not, it is counted for `agent`'s next summary. */
  admit(agent: string, code: string): boolean {
    if (this.bucket.take('records', this.clock.now()).ok) return true;
    const t = this.tally(agent);
    t.codes.set(code, (t.codes.get(code) ?? 0) + 1);
    this.unrecorded++;
    return false;
  }

  /** A command shed `busy` before the intake: never recorded one by one, counted in the summary. */
  shed(agent: string): void {
    this.tally(agent).shed++;
  }

  /** Record the summaries of what was counted since the last (none if nothing was). */
  flush(): Promise<void> {
    const tallies = this.tallies;
    this.tallies = new Map();
    if (tallies.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    const untilIso = new Date(this.clock.now()).toISOString();
    this.summaries = this.summaries.then(async () => {
      for (const [agent, t] of tallies) {
        const refused = [...t.codes].sort((a, b) => b[1] - a[1]);
        const total = refused.reduce((n, [, c]) => n + c, 0);
        const parts = [
          ...(total ? [`${total} refused commands not dead-lettered one by one (past ${this.limit.perSecond} a second, burst ${this.limit.burst}): ${refused.map(([code, n]) => `${n} ${code}`).join(', ')}`] : []),
          ...(t.shed ? [`${t.shed} shed busy before the intake`] : []),
        ];
        await this.dlq.send({
          agent,
          reason: `summary since ${new Date(t.sinceMs).toISOString()}: ${parts.join('; ')}`,
          payload: { summary: { since: new Date(t.sinceMs).toISOString(), until: untilIso, refused: Object.fromEntries(refused), shed: t.shed } },
        });
      }
    });
    return this.summaries;
  }

  /** Stop the timer and record what is counted. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private tally(agent: string): Tally {
    let t = this.tallies.get(agent);
    if (!t) {
      t = { codes: new Map(), shed: 0, sinceMs: this.clock.now() };
      this.tallies.set(agent, t);
    }
    if (!this.timer && !this.stopped) {
      this.timer = setInterval(() => void this.flush(), this.limit.summaryEveryMs);
      this.timer.unref?.();
    }
    return t;
  }
}
