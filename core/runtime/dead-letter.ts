import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { Clock } from '../clock/clock.ts';
import { subjects } from './subjects.ts';
import { metricsHooks } from '../observability/hooks.ts';

/** What lands on `caco.<site>.dlq`: the reason, and the original payload untouched. */
export interface DeadLetter {
  readonly agent: string;
  readonly reason: string;
  readonly problems?: ReadonlyArray<{ path: string; reason: string }>;
  readonly subject?: string;
  readonly receivedAt: string;
  /** The original bytes as UTF-8 text when they were a message, or the input object. */
  readonly payload: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export class DeadLetters {
  constructor(
    private readonly bus: Bus,
    private readonly site: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async send(letter: Omit<DeadLetter, 'receivedAt'>): Promise<void> {
    const full: DeadLetter = { ...letter, receivedAt: new Date(this.clock.now()).toISOString() };
    this.log.warn({ agent: letter.agent, subject: letter.subject, reason: letter.reason, problems: letter.problems }, 'dead-lettered');
    metricsHooks.deadLettered(this.site, letter.agent);
    try {
      await this.bus.publish(subjects.dlq(this.site), Buffer.from(JSON.stringify(full)));
    } catch (err) {
      // The DLQ is the last resort; if even that fails, the log line above is the record.
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not publish to the DLQ');
    }
  }
}
