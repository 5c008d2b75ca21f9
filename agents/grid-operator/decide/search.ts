import { buildContext, searchRequest } from '../../../beckn/index.ts';
import { eventOf, type Decision } from '../../../core/runtime/index.ts';
import { PurchaseSearchedV2, type StressKind } from '../../../schemas/index.ts';
import type { GridOperatorOut } from '../messages.ts';
import { iso, requestEvent, streamOf, type GridOperatorDecideDeps, type Now } from './deps.ts';

export interface SearchFor {
  readonly purchaseId: string;
  readonly stressId: string;
  readonly kind: StressKind;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly peak: number;
  readonly transactionId: string;
}

/** Ask the BPP for flexibility in a stress window (again, for a purchase already open). */
export function searchDecision(deps: GridOperatorDecideDeps, p: SearchFor, purpose: 'search' | 'search-again', now: Now): Decision<GridOperatorOut> {
  const cfg = deps.config;
  const messageId = now.newId();
  const context = buildContext({ action: 'search', bap: cfg.bap, transactionId: p.transactionId, messageId, nowMs: now.nowMs, domain: cfg.domain });
  const body = searchRequest(context, { windowStartMs: p.windowStartMs, windowEndMs: p.windowEndMs, minKw: Math.min(cfg.wantKw, 100), location: cfg.location });
  return {
    stream: streamOf(p.purchaseId),
    events: [
      eventOf(PurchaseSearchedV2, {
        purchaseId: p.purchaseId,
        stressId: p.stressId,
        kind: p.kind,
        windowStart: iso(p.windowStartMs),
        windowEnd: iso(p.windowEndMs),
        ...(p.kind === 'carbon-peak' ? { peakCarbonGPerKwh: p.peak, peakPriceGbpPerMwh: null } : { peakCarbonGPerKwh: null, peakPriceGbpPerMwh: p.peak }),
        wantKw: cfg.wantKw,
        transactionId: p.transactionId,
        messageId,
        bppUri: cfg.bppUri,
      }),
      requestEvent(cfg.bppUri, 'search', body, { purpose, purchaseId: p.purchaseId }),
    ],
  };
}
