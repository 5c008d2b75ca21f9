import type { DataOf } from '../../schemas/index.ts';
import type { BecknRequestScheduled } from '../../schemas/index.ts';

/**
 * What each request the grid operator schedules was for, carried as the effect's `meta` and
 * echoed back in its outcome (`outbox.effect.sent` / `failed`), where `decide/outcome.ts` reads
 * it. The keys are written in this order; the ledger hashes them as written.
 */
export type RequestMeta =
  | { readonly purpose: 'search' | 'search-again'; readonly purchaseId: string }
  | { readonly purpose: 'select' | 'confirm'; readonly purchaseId: string; readonly itemId: string }
  | { readonly purpose: 'init'; readonly purchaseId: string; readonly itemId: string; readonly kw: number; readonly quoteGbp: number }
  | { readonly purpose: 'rating'; readonly purchaseId: string; readonly orderId: string; readonly value: number; readonly deliveredShare: number }
  | { readonly purpose: 'cancel' | 'update'; readonly purchaseId: string; readonly orderId: string };

type MetaRecord = NonNullable<DataOf<typeof BecknRequestScheduled>['meta']>;

const str = (m: MetaRecord, k: string): string | undefined => {
  const v = m[k];
  return typeof v === 'string' ? v : undefined;
};
const num = (m: MetaRecord, k: string): number | undefined => {
  const v = m[k];
  return typeof v === 'number' ? v : undefined;
};

/** The meta as written by this agent; undefined for anything else. */
export function readMeta(m: MetaRecord): RequestMeta | undefined {
  const purpose = m['purpose'];
  const purchaseId = str(m, 'purchaseId');
  if (purchaseId === undefined) return undefined;
  switch (purpose) {
    case 'search':
    case 'search-again':
      return { purpose, purchaseId };
    case 'select':
    case 'confirm': {
      const itemId = str(m, 'itemId');
      return itemId === undefined ? undefined : { purpose, purchaseId, itemId };
    }
    case 'init': {
      const itemId = str(m, 'itemId');
      const kw = num(m, 'kw');
      const quoteGbp = num(m, 'quoteGbp');
      return itemId === undefined || kw === undefined || quoteGbp === undefined ? undefined : { purpose, purchaseId, itemId, kw, quoteGbp };
    }
    case 'rating': {
      const orderId = str(m, 'orderId');
      const value = num(m, 'value');
      const deliveredShare = num(m, 'deliveredShare');
      return orderId === undefined || value === undefined || deliveredShare === undefined ? undefined : { purpose, purchaseId, orderId, value, deliveredShare };
    }
    case 'cancel':
    case 'update': {
      const orderId = str(m, 'orderId');
      return orderId === undefined ? undefined : { purpose, purchaseId, orderId };
    }
    default:
      return undefined;
  }
}
