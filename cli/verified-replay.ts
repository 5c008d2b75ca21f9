import type { Stack } from '../core/stack/index.ts';
import { MemoryQuarantineStore, VerifiedEventStore, type QuarantineRecord } from '../core/store/index.ts';
import { createLogger } from '../core/log/index.ts';
import type { CacoConfig } from '../core/config/index.ts';
import { cacoUpcasters } from '../schemas/index.ts';
import { replayLedger, type ReplaySummary } from './replay.ts';

export interface VerifiedReplay {
  readonly summary: ReplaySummary;
  /** Events verify-on-read refused (the totals leave them out), the first 10,000. */
  readonly refused: ReadonlyArray<QuarantineRecord>;
  /** Refused past those listed. */
  readonly unlisted: number;
}

/**
 * Fold a stack's ledger into every read model through verify-on-read, as the site's own
 * readers see it: an edited or forged row is left out and named, never added into a total.
 */
export async function replayVerified(stack: Pick<Stack, 'store' | 'keyring'>, logLevel: CacoConfig['logLevel']): Promise<VerifiedReplay> {
  const quarantine = new MemoryQuarantineStore();
  const view = new VerifiedEventStore(stack.store, { keys: stack.keyring, quarantine, log: createLogger({ level: logLevel }), upcasters: cacoUpcasters() });
  const summary = await replayLedger(view);
  return { summary, refused: await quarantine.quarantined(), unlisted: quarantine.unlisted };
}

/** How many events were refused, and the first few of them, in one line ('' when none); `hint` (none: '') says where the rest are named. */
export function refusedLine(r: Pick<VerifiedReplay, 'refused' | 'unlisted'>, hint = 'caco audit verify names them'): string {
  if (r.refused.length === 0) return '';
  const total = r.refused.length + r.unlisted;
  const first = r.refused.slice(0, 5).map((x) => `position ${x.position}${x.eventId ? ` (event ${x.eventId}${x.stream ? `, stream ${x.stream}` : ''})` : ''}: ${x.reason}`);
  const more = total > first.length ? `; ${(total - first.length).toLocaleString('en-GB')} more${hint ? `: ${hint}` : ''}` : '';
  return `${total.toLocaleString('en-GB')} event${total === 1 ? '' : 's'} refused by verification; the totals exclude them: ${first.join('; ')}${more}`;
}
