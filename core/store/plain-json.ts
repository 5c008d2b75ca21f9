import { InvalidArgumentError } from '../errors/errors.ts';

/** Deeper than any event CACO writes; a guard against runaway (or hostile) nesting. */
const MAX_DEPTH = 64;

/**
 * Refuse a value that does not survive a JSON round trip unchanged, naming where it is. An
 * event is hashed over the canonical JSON of what the agent handed in, and read back (and
 * verified) from what the store wrote, which is JSON; a Date, a Map, a class instance, a
 * sparse array or a non-finite number would be hashed one way and stored another, so the
 * ledger would hold an event that fails its own audit. `undefined` object members are
 * allowed (both sides drop them), as are `undefined` array elements (both write null).
 */
export function assertPlainJson(value: unknown, field: string): void {
  check(value, field, 0, new Set());
}

function check(v: unknown, path: string, depth: number, ancestors: Set<object>): void {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new InvalidArgumentError(path, `is ${String(v)}: event data must be plain JSON, and JSON has no non-finite numbers`);
      return;
    case 'object': {
      if (v === null) return;
      if (depth >= MAX_DEPTH) throw new InvalidArgumentError(path, `nests deeper than ${MAX_DEPTH} levels`);
      if (ancestors.has(v)) throw new InvalidArgumentError(path, 'refers to an object that contains it (a cycle): event data must be plain JSON');
      ancestors.add(v);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw new InvalidArgumentError(`${path}[${i}]`, 'is a hole in a sparse array: event data must be plain JSON (use null)');
          if (v[i] !== undefined) check(v[i], `${path}[${i}]`, depth + 1, ancestors);
        }
      } else {
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          const kind = v instanceof Date ? 'a Date (convert it to an ISO string)' : `a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain'} object`;
          throw new InvalidArgumentError(path, `is ${kind}: event data must be plain JSON`);
        }
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') throw new InvalidArgumentError(path, 'has a toJSON method: event data must be plain JSON, stored as given');
        for (const k of Object.keys(v)) {
          const x = (v as Record<string, unknown>)[k];
          if (x !== undefined) check(x, `${path}.${k}`, depth + 1, ancestors);
        }
      }
      ancestors.delete(v);
      return;
    }
    default:
      throw new InvalidArgumentError(path, `is a ${typeof v}: event data must be plain JSON`);
  }
}
