import { Result, Schema } from 'effect';
import type { AnySchema } from '../schemas/index.ts';

/**
 * Decode a payload against what a fold reads of it, for the folds that also accept shapes no
 * registered version has yet (settlement, metering): fields the fold does not read are
 * ignored, since the registered event carries more. A registered event is checked exactly with
 * `decodeWith` (schemas/registry.ts).
 */
export function readAs<S extends AnySchema>(schema: S, data: unknown): { readonly ok: true; readonly value: Schema.Schema.Type<S> } | { readonly ok: false; readonly reason: string } {
  const r = Schema.decodeUnknownResult(schema)(data, { errors: 'all' });
  return Result.isSuccess(r) ? { ok: true, value: r.success } : { ok: false, reason: r.failure.message };
}
