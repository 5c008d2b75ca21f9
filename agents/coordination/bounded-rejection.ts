import { truncateText } from '../../core/runtime/index.ts';
import type { RejectionData } from './intake.ts';

const orNull = (s: string | null, max: number) => (s === null || s === '' ? null : truncateText(s, max));

/**
 * A refused Beckn request as the ledger keeps it: a bounded summary within the
 * `beckn.request.rejected` schema, whatever the request carried, so a refusal can neither
 * grow the ledger by the size of the request nor be lost for failing that schema.
 */
export function boundRejection(r: RejectionData): RejectionData {
  return {
    action: truncateText(r.action || 'unknown', 64),
    messageId: orNull(r.messageId, 256),
    transactionId: orNull(r.transactionId, 256),
    bapId: orNull(r.bapId, 256),
    httpStatus: Number.isInteger(r.httpStatus) && r.httpStatus >= 100 && r.httpStatus <= 599 ? r.httpStatus : 400,
    code: truncateText(r.code || 'NACK', 64),
    reason: truncateText(r.reason || 'refused', 512),
    path: orNull(r.path, 256),
    // Already a summary of a request refused before it was read (404, 413): method, path, size, hash.
    ...(r.request
      ? {
          request: {
            method: truncateText(r.request.method, 16),
            urlPath: truncateText(r.request.urlPath, 256),
            sizeBytes: r.request.sizeBytes,
            sha256: r.request.sha256,
          },
        }
      : {}),
  };
}
