/**
 * Canonical JSON (RFC 8785 style for the values CACO stores): object keys sorted by code
 * unit, no whitespace, numbers in ECMAScript shortest form. `undefined` members are dropped,
 * as JSON.stringify does, so an object hashes the same before and after a JSON round trip.
 *
 * Every ledger hash is taken over these bytes, so the output must never change: the
 * property tests in test/perf compare it with the first (array-and-join) implementation.
 * This one builds the string in place and sorts an object's keys only when they are not
 * already in order, because sealing spends most of its non-crypto time here.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot hash a non-finite number (${value})`);
      // For finite numbers String() is the same shortest form as JSON.stringify (and -0 → "0").
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? arrayJson(value) : objectJson(value as Record<string, unknown>);
    default:
      throw new TypeError(`cannot encode a ${typeof value} as canonical JSON`);
  }
}

function arrayJson(arr: ReadonlyArray<unknown>): string {
  let out = '[';
  for (let i = 0; i < arr.length; i++) {
    if (i > 0) out += ',';
    // A hole would be written as nothing (`[,1]`, not JSON), while the stored form
    // (JSON.stringify) has null there: the event could never verify once read back. No JSON
    // text parses to a hole, so only a caller's own sparse array can hold one; refuse it.
    if (!(i in arr)) throw new TypeError(`cannot hash an array with a hole (index ${i} of ${arr.length} is missing); use null`);
    const v = arr[i];
    out += v === undefined ? 'null' : canonicalJson(v);
  }
  return out + ']';
}

function objectJson(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += (first ? '' : ',') + quoteKey(k) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

/** Event payloads repeat a small set of keys, so their quoted forms are worth keeping. */
const quotedKeys = new Map<string, string>();

function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    // Bounded: payloads with data-driven keys (maps by id) must not grow this without end.
    if (quotedKeys.size < 4096 && k.length <= 64) quotedKeys.set(k, q);
  }
  return q;
}
