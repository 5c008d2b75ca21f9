import { createHash } from 'node:crypto';
import { createContext, Script, type Context } from 'node:vm';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { canonicalJson } from '../ledger/canonical-json.ts';

/**
 * The most one announced JSON Schema may be: its canonical JSON (without `$id`) in bytes, its
 * object keys (keywords and property names, counted through the whole schema) and the nesting
 * of its objects and arrays. Compiling costs about its size (ajv, on the event loop: 5–15 ms a
 * KB; a 61 KB schema of 2,400 properties took 115–450 ms), so the size is what bounds it.
 */
export const SCHEMA_LIMITS = { bytes: 8 * 1024, keys: 512, depth: 20 } as const;
/** The most all the schemas of one announcement may be together. */
export const ANNOUNCEMENT_SCHEMA_LIMITS = { bytes: 16 * 1024, keys: 1024 } as const;

/**
 * Validators kept by default: at most this many, of at most this many bytes of schema together.
 * Measured, a validator takes ~7 KiB of heap plus ~18 bytes per byte of its schema (1 property:
 * 6.6 KiB; 100 properties, 2.8 KB of schema: 50 KiB), so at most ~7 MiB for the count and ~18 MiB
 * for the bytes: about 25 MiB however the schemas are. 1,024 is what 1 MiB holds at 1 KiB a
 * schema; 16 parties with 64 types each fit (256, before, was reached by 4).
 */
export const KEPT_VALIDATORS = { count: 1024, bytes: 1024 * 1024 } as const;
/** Longest one schema may take to compile; past it it is refused (and not kept: a later try may be luckier, and is charged again). */
export const COMPILE_TIME_LIMIT_MS = 500;

export type Compiled = { readonly ok: true; readonly validate: ValidateFunction } | { readonly ok: false; readonly reason: string };

/** What an announced schema weighs: see SCHEMA_LIMITS. */
export interface SchemaSize {
  readonly bytes: number;
  readonly keys: number;
  readonly depth: number;
}

interface Prepared extends SchemaSize {
  /** The schema without its `$id`. */
  readonly copy: Record<string, unknown>;
  /** SHA-256 of its canonical JSON: what the validator is kept under. */
  readonly key: string;
}

/** What identifies `schema` to the cache: SHA-256 (base64) of its canonical JSON without `$id`. */
export function schemaKey(schema: unknown): string {
  return prepare(schema).key;
}

/** The size of `schema` as SCHEMA_LIMITS counts it. */
export function schemaSize(schema: unknown): SchemaSize {
  const p = prepare(schema);
  return { bytes: p.bytes, keys: p.keys, depth: p.depth };
}

/** Why `size` is over SCHEMA_LIMITS, or undefined when it is within them. */
export function overSchemaLimits(size: SchemaSize): string | undefined {
  if (size.bytes > SCHEMA_LIMITS.bytes) return `it is ${size.bytes} bytes (canonical JSON without $id); a schema may be at most ${SCHEMA_LIMITS.bytes}`;
  if (size.keys > SCHEMA_LIMITS.keys) return `it has ${size.keys} keywords and property names; a schema may have at most ${SCHEMA_LIMITS.keys}`;
  if (size.depth > SCHEMA_LIMITS.depth) return `it nests ${size.depth} levels of objects and arrays; a schema may nest at most ${SCHEMA_LIMITS.depth}`;
  return undefined;
}

/**
 * Validators of the JSON Schemas outside agents announce, compiled once per distinct schema.
 *
 * Each schema is compiled by an ajv instance of its own (the schema checked first against the
 * draft 2020-12 meta-schema by one shared instance, which keeps nothing of it). Ajv keeps what it
 * compiles in the instance's scope, so with one instance shared by many schemas a validator kept
 * held every validator the instance had made (measured: keeping 1 of 50 kept 5 MB, all 50): the
 * kept validators did not bound the memory. With one instance each, a validator holds only its
 * own (8–50 KB for 0.1–8 KB of schema).
 *
 * Kept are the validators used most recently, at most `kept.count` of at most `kept.bytes` of
 * schema together (KEPT_VALIDATORS: ~25 MiB of heap at most), whoever announced them: a schema
 * evicted is compiled again when next needed (the gateway charges a party the first compile of
 * each schema only; compiling one again is the site's, within REFILL_CPU_BUDGET).
 */
export class SchemaValidators {
  private readonly meta = newAjv(true);
  private readonly kept = new Map<string, { compiled: Compiled; bytes: number }>();
  private keptBytes = 0;

  constructor(private readonly limits: { readonly count: number; readonly bytes: number } = KEPT_VALIDATORS) {
    // The meta-schema is compiled here, once, not in the first party's announcement (whose time it would be charged to).
    this.meta.validateSchema({});
  }

  /** How many validators are kept, and the bytes of their schemas together. */
  get size(): { count: number; bytes: number } {
    return { count: this.kept.size, bytes: this.keptBytes };
  }

  /** Whether the validator of `schema` is kept (compiling it would cost nothing); does not count as a use. */
  holds(schema: unknown): boolean {
    return this.kept.has(prepare(schema).key);
  }

  /**
   * The validator of `schema` (its `$id` ignored: two agents may use the same one), or why it
   * does not compile. The caller checks its size first (overSchemaLimits): this compiles what
   * it is given, within COMPILE_TIME_LIMIT_MS.
   */
  compile(schema: unknown): Compiled {
    const p = prepare(schema);
    const known = this.kept.get(p.key);
    if (known) {
      // Most recently used last: the first entry is the one evicted.
      this.kept.delete(p.key);
      this.kept.set(p.key, known);
      return known.compiled;
    }
    const out = withinTimeLimit(() => this.compileNew(p.copy), COMPILE_TIME_LIMIT_MS);
    if (out === 'timeout') return { ok: false, reason: `compiling it took longer than ${COMPILE_TIME_LIMIT_MS} ms; announce a smaller schema` };
    this.keep(p.key, out, p.bytes);
    return out;
  }

  private compileNew(copy: Record<string, unknown>): Compiled {
    try {
      if (!this.meta.validateSchema(copy)) return { ok: false, reason: `schema is invalid: ${this.meta.errorsText(this.meta.errors)}`.slice(0, 300) };
      return { ok: true, validate: newAjv(false).compile(copy) };
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300) };
    }
  }

  private keep(key: string, compiled: Compiled, bytes: number): void {
    this.kept.set(key, { compiled, bytes });
    this.keptBytes += bytes;
    while (this.kept.size > 1 && (this.kept.size > this.limits.count || this.keptBytes > this.limits.bytes)) {
      const [oldest, entry] = this.kept.entries().next().value as [string, { bytes: number }];
      this.kept.delete(oldest);
      this.keptBytes -= entry.bytes;
    }
  }
}

/** `validateSchema`: the meta-schema check, done once by the shared instance before an instance of the schema's own compiles it. */
function newAjv(validateSchema: boolean): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true, validateFormats: false, validateSchema });
}

/** The same object announced again (appends ask for it each time) is measured and hashed once. */
const preparedOf = new WeakMap<object, Prepared>();

function prepare(schema: unknown): Prepared {
  const obj = typeof schema === 'object' && schema !== null ? schema : undefined;
  const memo = obj && preparedOf.get(obj);
  if (memo) return memo;
  // Without its `$id`: two agents may use the same schema, and ajv refuses a second schema with an id it has.
  const { $id: _id, ...copy } = (obj ?? {}) as Record<string, unknown>;
  const canonical = canonicalJson(copy);
  const { keys, depth } = shape(copy);
  const p: Prepared = { copy, key: createHash('sha256').update(canonical).digest('base64'), bytes: Buffer.byteLength(canonical), keys, depth };
  if (obj) preparedOf.set(obj, p);
  return p;
}

/** Object keys through the whole value, and its nesting of objects and arrays (the value itself is 1). */
function shape(v: unknown): { keys: number; depth: number } {
  if (typeof v !== 'object' || v === null) return { keys: 0, depth: 0 };
  let keys = 0;
  let depth = 0;
  const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
  if (!Array.isArray(v)) keys += children.length;
  for (const c of children) {
    const s = shape(c);
    keys += s.keys;
    depth = Math.max(depth, s.depth);
  }
  return { keys, depth: depth + 1 };
}

let limitContext: Context | undefined;
const runJob = new Script('job()');

/**
 * `fn()` with a time limit: V8 stops it (a regular expression too) once `ms` have passed, and
 * 'timeout' is answered. What `fn` was changing is left half done: use it only for work whose
 * state can be dropped (a check of data, a compile into an instance of its own).
 */
export function withinTimeLimit<T>(fn: () => T, ms: number): T | 'timeout' {
  limitContext ??= createContext({ job: undefined });
  limitContext['job'] = fn;
  try {
    return runJob.runInContext(limitContext, { timeout: ms }) as T;
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  } finally {
    limitContext['job'] = undefined;
  }
}
