import { Result, Schema, SchemaIssue } from 'effect';

/** A decoding failure: where (a JSON path like `data.jobs[2].powerKw`) and why. */
export interface SchemaProblem {
  readonly path: string;
  readonly reason: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: ReadonlyArray<SchemaProblem> };

/** Any Effect schema whose decoding needs no services, as all of CACO's message schemas are. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySchema = Schema.Codec<any, any, never, never>;

/**
 * One message type at one version: `compute.job.submitted` v1 with the schema of its `data`.
 * A type never changes meaning; a new shape is a new version.
 */
export interface MessageDef<S extends AnySchema = AnySchema, T extends string = string> {
  /** Kept as a literal type (`'compute.job.submitted'`), so a union of messages narrows on it. */
  readonly type: T;
  readonly version: number;
  readonly kind: 'event' | 'command' | 'beckn';
  readonly description: string;
  readonly data: S;
}

export type DataOf<D> = D extends MessageDef<infer S> ? Schema.Schema.Type<S> : never;

/**
 * The `{ type, data }` a definition describes; distributes over a union of definitions, so
 * `MessageOf<(typeof computeEvents)[number]>` is the discriminated union of an area's messages.
 */
export type MessageOf<D> = D extends MessageDef<infer S, infer T> ? { readonly type: T; readonly data: Schema.Schema.Type<S> } : never;

/** The type names of a union of definitions. */
export type TypeOf<D> = D extends MessageDef<AnySchema, infer T> ? T : never;

const TYPE_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

export function defineEvent<const T extends string, S extends AnySchema>(type: T, version: number, description: string, data: S): MessageDef<S, T> {
  return define('event', type, version, description, data);
}

export function defineCommand<const T extends string, S extends AnySchema>(type: T, version: number, description: string, data: S): MessageDef<S, T> {
  return define('command', type, version, description, data);
}

export function define<const T extends string, S extends AnySchema>(kind: MessageDef['kind'], type: T, version: number, description: string, data: S): MessageDef<S, T> {
  if (!TYPE_NAME.test(type)) throw new Error(`message type "${type}" must be dot-separated lower-case words (area.entity.verb)`);
  if (!Number.isInteger(version) || version < 1) throw new Error(`message type "${type}": version must be an integer >= 1`);
  return { kind, type, version, description, data };
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/**
 * Decode `input` against a schema, collecting every problem with its path (`errors: 'first'`:
 * stop at the first, for input too large to list them all cheaply). Excess keys are errors.
 */
export function decodeWith<S extends AnySchema>(schema: S, input: unknown, pathPrefix = '', errors: 'all' | 'first' = 'all'): Decoded<Schema.Schema.Type<S>> {
  const r = Schema.decodeUnknownResult(schema)(input, { errors, onExcessProperty: 'error' });
  if (Result.isSuccess(r)) return { ok: true, value: r.success as Schema.Schema.Type<S> };
  const issues = formatter(r.failure.issue).issues;
  return {
    ok: false,
    problems: issues.map((i) => ({ path: formatPath((i.path ?? []).map((k) => (typeof k === 'object' ? (k as { key: PropertyKey }).key : k)), pathPrefix), reason: i.message })),
  };
}

/** The set of every message CACO knows, looked up by type and version. */
export class MessageRegistry {
  private readonly defs = new Map<string, MessageDef>();
  private readonly latest = new Map<string, number>();

  constructor(defs: Iterable<MessageDef> = []) {
    for (const d of defs) this.add(d);
  }

  add(def: MessageDef): void {
    const key = `${def.type}@${def.version}`;
    if (this.defs.has(key)) throw new Error(`message ${key} is defined twice`);
    this.defs.set(key, def);
    if ((this.latest.get(def.type) ?? 0) < def.version) this.latest.set(def.type, def.version);
  }

  get(type: string, version: number): MessageDef | undefined {
    return this.defs.get(`${type}@${version}`);
  }

  /** The highest registered version of a type, or undefined. */
  latestVersion(type: string): number | undefined {
    return this.latest.get(type);
  }

  has(type: string): boolean {
    return this.latest.has(type);
  }

  all(): MessageDef[] {
    return [...this.defs.values()].sort((a, b) => (a.type === b.type ? a.version - b.version : a.type < b.type ? -1 : 1));
  }

  /** Decode a message's data; unknown type/version is a problem at `type`/`version`. */
  decode(type: string, version: number, data: unknown): Decoded<unknown> {
    const def = this.get(type, version);
    if (!def) {
      return this.has(type)
        ? { ok: false, problems: [{ path: 'version', reason: `no version ${version} of message type "${type}"` }] }
        : { ok: false, problems: [{ path: 'type', reason: `unknown message type "${type}"` }] };
    }
    return decodeWith(def.data, data, 'data');
  }
}
