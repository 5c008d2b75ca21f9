import { InvalidArgumentError } from '../errors/errors.ts';

/**
 * A checkpoint as read back from a store, checked: a position is an integer >= 0. The store is
 * not trusted: SQLite keeps whatever type a row was given (text in an INTEGER column), and a
 * position that is not a number compares false with everything, so a reader resuming from it
 * waited forever for events past it, at full CPU and with no word.
 */
export function checkpointPosition(name: string, raw: unknown, where: string): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isSafeInteger(n) && n >= 0) return n;
  const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 40)) : String(raw).slice(0, 40);
  throw new InvalidArgumentError(`checkpoint "${name.slice(0, 128)}"`, `${where} holds ${shown}, not a position (an integer >= 0): the store was edited or damaged; restore it, or remove that checkpoint to read again from the start`);
}

/** A position about to be stored as a checkpoint. */
export function checkPutPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) throw new InvalidArgumentError('position', `must be an integer >= 0, got ${position}`);
}

/**
 * A checkpoint's tag (core/runtime/tagged-checkpoint.ts): stored beside it as `<name>.tag` and
 * `<name>.next.tag`, numbers that are not positions. Whatever reads every checkpoint as a position (the ledger
 * continuity checks) passes these over.
 */
export const CHECKPOINT_TAG_SUFFIX = '.tag';
export const isCheckpointTag = (name: string): boolean => name.endsWith(CHECKPOINT_TAG_SUFFIX);
