import { createHash } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { FifoMap } from '../collections/fifo-map.ts';
import { canonicalJson } from '../ledger/canonical-json.ts';

/** Compiled validators kept, by schema: one per distinct announced schema in use. */
const KEPT_VALIDATORS = 1000;
/** Schemas one ajv instance compiles before a fresh one takes over (see `SchemaValidators`). */
const COMPILES_PER_INSTANCE = 256;

export type Compiled = { readonly ok: true; readonly validate: ValidateFunction } | { readonly ok: false; readonly reason: string };

/**
 * Validators of the JSON Schemas outside agents announce, compiled once per distinct schema.
 *
 * Ajv keeps what it compiles: each `compile` adds the schema to its cache and the validator,
 * the schema and its patterns to the scope its generated code shares, and `removeSchema` takes
 * back only the first. Compiling each announcement's schema afresh (a new object each time)
 * grew one ajv instance by a few KB an announcement, forever. Here a schema is compiled once
 * for its canonical form, the validators kept are bounded, and an ajv instance is retired after
 * `COMPILES_PER_INSTANCE` compiles: it is then held only by the validators it made, and goes
 * with the last of them.
 */
export class SchemaValidators {
  private ajv = newAjv();
  private compiles = 0;
  private readonly kept = new FifoMap<string, Compiled>(KEPT_VALIDATORS);

  /** The validator of `schema` (its `$id` ignored: two agents may use the same one), or why it does not compile. */
  compile(schema: unknown): Compiled {
    const copy = withoutId(schema);
    const key = createHash('sha256').update(canonicalJson(copy)).digest('base64');
    const known = this.kept.get(key);
    if (known) return known;
    if (this.compiles >= COMPILES_PER_INSTANCE) {
      this.ajv = newAjv();
      this.compiles = 0;
    }
    this.compiles++;
    let out: Compiled;
    try {
      out = { ok: true, validate: this.ajv.compile(copy) };
    } catch (err) {
      out = { ok: false, reason: err instanceof Error ? err.message.slice(0, 300) : String(err) };
    } finally {
      this.ajv.removeSchema(copy);
    }
    this.kept.set(key, out);
    return out;
  }
}

function newAjv(): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
}

/** An announced schema without its `$id`: two agents may use the same one, and ajv refuses a second schema with an id it has. */
function withoutId(schema: unknown): Record<string, unknown> {
  const { $id: _id, ...rest } = (typeof schema === 'object' && schema !== null ? schema : {}) as Record<string, unknown>;
  return rest;
}
