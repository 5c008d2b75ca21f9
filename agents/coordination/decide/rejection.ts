import { eventOf, type Decision } from '../../../core/runtime/index.ts';
import { RequestRejected } from '../../../schemas/index.ts';
import { boundRejection } from '../bounded-rejection.ts';
import type { RejectionData } from '../intake.ts';
import type { CoordinationOut } from '../messages.ts';
import { decided, REJECTIONS_STREAM, type Decided } from './deps.ts';

/** A refused request on the record, bounded whatever it carried. */
export function rejectionDecision(r: RejectionData): Decision<CoordinationOut> {
  return { stream: REJECTIONS_STREAM, events: [eventOf(RequestRejected, boundRejection(r))] };
}

/** `flex.request.reject`: the intake refused a request (NACK or 401); record it, change nothing else. */
export const decideRejection = (r: RejectionData): Decided => decided([rejectionDecision(r)]);
