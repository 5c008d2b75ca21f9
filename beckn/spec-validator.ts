import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/**
 * Validation against the official Beckn OpenAPI file (core-v1.1.1 `transaction.yaml`).
 * The file is CC BY-NC-SA and is not part of the project: callers pass its path (tests read
 * it from `../shared/specs/beckn/` or `BECKN_SPEC_DIR`).
 *
 * Two modes:
 * - `lenient`: the spec as published. Its objects are open, so an unknown or misspelt field
 *   passes; this is how CACO judges what others send it (the strict Effect schemas then decide).
 * - `strict`: every object the spec describes is closed (`unevaluatedProperties: false`), so a
 *   message CACO sends may use only fields the spec defines, with the types and formats it gives.
 */

export type SpecMode = 'strict' | 'lenient';

export interface SpecProblem {
  /** Where in the message, like `message.order.items[0].quantity`. */
  readonly path: string;
  readonly message: string;
  readonly keyword: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

// ajv-formats is CommonJS: under NodeNext the default import is its module.exports, which
// carries the plugin again as `.default` (typed so).
const addFormats = addFormatsModule.default;

const DOC_ID = 'https://caco.invalid/beckn/transaction.yaml';

export function loadOpenApiYaml(path: string): JsonObject {
  const doc = parseYaml(readFileSync(path, 'utf8')) as Json;
  if (!isObject(doc) || !isObject(doc.paths) || !isObject(doc.components)) throw new Error(`${path}: not an OpenAPI document with paths and components`);
  return doc;
}

/** JSON pointer to the request-body schema of one action (`/search` … `/on_support`). */
export function requestSchemaPointer(action: string): string {
  return `#/paths/~1${action}/post/requestBody/content/application~1json/schema`;
}
/** The ACK/NACK response schema, shared by every action. */
export const ACK_SCHEMA_POINTER = '#/paths/~1init/post/responses/default/content/application~1json/schema';

export class BecknSpecValidator {
  private readonly ajv: Record<SpecMode, Ajv2020>;
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly actions: ReadonlyArray<string>;

  constructor(doc: JsonObject) {
    this.actions = Object.keys(doc.paths as JsonObject)
      .filter((p) => isObject((doc.paths as JsonObject)[p]) && isObject(((doc.paths as JsonObject)[p] as JsonObject).post))
      .map((p) => p.replace(/^\//, ''));
    this.ajv = { lenient: makeAjv(doc), strict: makeAjv(closeObjects(doc)) };
  }

  static fromFile(transactionYamlPath: string): BecknSpecValidator {
    return new BecknSpecValidator(loadOpenApiYaml(transactionYamlPath));
  }

  /** Problems of a request or callback body for `action`; empty when it conforms. */
  validateRequest(action: string, body: unknown, mode: SpecMode): SpecProblem[] {
    if (!this.actions.includes(action)) return [{ path: 'context.action', message: `the spec has no action "${action}"`, keyword: 'action' }];
    return this.run(requestSchemaPointer(action), body, mode);
  }

  /** Problems of an ACK/NACK response body. */
  validateAck(body: unknown, mode: SpecMode): SpecProblem[] {
    return this.run(ACK_SCHEMA_POINTER, body, mode);
  }

  /** Validate against any schema in the document, by JSON pointer. */
  validatePointer(pointer: string, body: unknown, mode: SpecMode): SpecProblem[] {
    return this.run(pointer, body, mode);
  }

  private run(pointer: string, body: unknown, mode: SpecMode): SpecProblem[] {
    const key = `${mode} ${pointer}`;
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = this.ajv[mode].getSchema(`${DOC_ID}${pointer}`);
      if (!fn) throw new Error(`no schema at ${pointer}`);
      this.compiled.set(key, fn);
    }
    if (fn(body)) return [];
    return (fn.errors ?? []).map(toProblem);
  }
}

function makeAjv(doc: JsonObject): Ajv2020 {
  // strict:false because an OpenAPI document carries keywords JSON Schema does not know.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // `phone` is used by the spec but is no JSON Schema format; it constrains nothing there either.
  ajv.addFormat('phone', true);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  return ajv;
}

function toProblem(e: ErrorObject): SpecProblem {
  const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = '';
  for (const s of segments) path += /^\d+$/.test(s) ? `[${s}]` : path ? `.${s}` : s;
  const extra = (e.params as { unevaluatedProperty?: string; additionalProperty?: string; missingProperty?: string });
  const name = extra.unevaluatedProperty ?? extra.additionalProperty ?? extra.missingProperty;
  if (name !== undefined) path = path ? `${path}.${name}` : name;
  const message = e.keyword === 'unevaluatedProperties' ? 'is not defined by the spec' : (e.message ?? e.keyword);
  return { path, message, keyword: e.keyword };
}

/**
 * A copy of the document in which every object schema rejects properties it does not define.
 * `unevaluatedProperties` (not `additionalProperties`) so that properties defined across an
 * `allOf` still count. An object schema referenced from a multi-branch `allOf` is inlined
 * without its own closing, so the siblings' properties are not refused by it.
 */
export function closeObjects(doc: JsonObject): JsonObject {
  const copy = structuredClone(doc) as JsonObject;
  const visited = new WeakSet<object>();
  const close = (node: Json, isAllOfMember: boolean): void => {
    if (!isObject(node) || visited.has(node)) return;
    visited.add(node);
    const objectish = node.type === 'object' || isObject(node.properties) || Array.isArray(node.allOf);
    if (objectish && !isAllOfMember && !('additionalProperties' in node) && !('unevaluatedProperties' in node)) node.unevaluatedProperties = false;
    if (isObject(node.properties)) for (const v of Object.values(node.properties)) close(v, false);
    if (isObject(node.patternProperties)) for (const v of Object.values(node.patternProperties)) close(v, false);
    if (isObject(node.additionalProperties)) close(node.additionalProperties, false);
    if (isObject(node.items)) close(node.items, false);
    if (Array.isArray(node.prefixItems)) for (const v of node.prefixItems) close(v, false);
    if (isObject(node.not)) close(node.not, false);
    for (const k of ['anyOf', 'oneOf'] as const) {
      const arr = node[k];
      if (Array.isArray(arr)) for (const v of arr) close(v, false);
    }
    if (Array.isArray(node.allOf)) {
      const multi = node.allOf.length > 1;
      node.allOf = node.allOf.map((m) => {
        const ref = isObject(m) && typeof m.$ref === 'string' ? m.$ref : undefined;
        if (multi && ref?.startsWith('#/')) {
          // From the untouched original: the copy's component may already carry its closing.
          const target = structuredClone(resolvePointer(doc, ref)) as Json;
          close(target, true);
          return target;
        }
        close(m, true);
        return m;
      });
    }
  };
  const components = (copy.components as JsonObject).schemas;
  if (isObject(components)) for (const v of Object.values(components)) close(v, false);
  for (const item of Object.values(copy.paths as JsonObject)) {
    if (!isObject(item)) continue;
    for (const op of Object.values(item)) {
      if (!isObject(op)) continue;
      const content = isObject(op.requestBody) && isObject(op.requestBody.content) ? op.requestBody.content : undefined;
      if (content) for (const media of Object.values(content)) if (isObject(media)) close(media.schema ?? null, false);
      if (isObject(op.responses)) {
        for (const r of Object.values(op.responses)) {
          if (isObject(r) && isObject(r.content)) for (const media of Object.values(r.content)) if (isObject(media)) close(media.schema ?? null, false);
        }
      }
    }
  }
  return copy;
}

function resolvePointer(doc: JsonObject, ref: string): Json {
  let cur: Json = doc;
  for (const raw of ref.slice(2).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(cur) || !(seg in cur)) throw new Error(`unresolvable $ref ${ref}`);
    cur = cur[seg]!;
  }
  return cur;
}

function isObject(x: unknown): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
