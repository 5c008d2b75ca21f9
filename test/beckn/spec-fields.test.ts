import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SchemaAST } from 'effect';
import { loadOpenApiYaml, requestSchemaPointer } from '../../beckn/index.ts';
import { BecknRequestSchemas, REQUEST_ACTIONS, decodeBecknBody } from '../../schemas/beckn/index.ts';
import { FIXTURES, readSpecJson, skipWithoutSpec, specDir } from './spec-dir.ts';

/**
 * Issue 15.4: CACO refused fields Beckn core 1.1.1 allows. Wherever CACO's request schemas
 * describe an object (and so would refuse an unknown key), every property the spec defines on
 * that object must be accepted: read, or accepted and ignored.
 */

type Json = { [k: string]: unknown };
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Our side: the object node (property name → type) reached at a spec path, if CACO describes one. */
function ourObject(ast: SchemaAST.AST): Map<string, SchemaAST.AST> | undefined {
  const a = unwrap(ast);
  if (a?._tag !== 'Objects') return undefined;
  return new Map(a.propertySignatures.map((p) => [String(p.name), p.type]));
}
function unwrap(ast: SchemaAST.AST | undefined): SchemaAST.AST | undefined {
  if (!ast) return undefined;
  if (ast._tag === 'Suspend') return unwrap(ast.thunk());
  if (ast._tag === 'Union') {
    const real = ast.types.filter((t) => t._tag !== 'Undefined');
    return real.length === 1 ? unwrap(real[0]) : real.find((t) => unwrap(t)?._tag === 'Objects');
  }
  return ast;
}
function ourItems(ast: SchemaAST.AST): SchemaAST.AST | undefined {
  const a = unwrap(ast);
  return a?._tag === 'Arrays' ? (a.rest[0] ?? a.elements[0]) : undefined;
}

/** The spec side: merged properties / items of a JSON schema, refs and allOf/oneOf/anyOf followed. */
function specResolve(doc: Json, s: unknown, seen = new Set<string>()): Json {
  if (!isObj(s)) return {};
  const out: Json = { ...s };
  const props: Json = { ...(isObj(s.properties) ? s.properties : {}) };
  let items = s.items;
  const more: unknown[] = [];
  if (typeof s.$ref === 'string' && !seen.has(s.$ref)) more.push(refTarget(doc, s.$ref));
  for (const k of ['allOf', 'oneOf', 'anyOf']) if (Array.isArray(s[k])) more.push(...(s[k] as unknown[]));
  for (const m of more) {
    const r = specResolve(doc, m, new Set([...seen, ...(typeof s.$ref === 'string' ? [s.$ref] : [])]));
    Object.assign(props, r.properties as Json);
    items ??= r.items;
  }
  out.properties = props;
  out.items = items;
  return out;
}
function refTarget(doc: Json, ref: string): unknown {
  let cur: unknown = doc;
  for (const part of ref.replace(/^#\//, '').split('/')) cur = isObj(cur) ? cur[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return cur;
}

function missingFields(doc: Json, spec: unknown, ours: SchemaAST.AST, path: string, depth: number, out: string[]): void {
  if (depth > 12) return;
  const s = specResolve(doc, spec);
  const obj = ourObject(ours);
  if (obj) {
    for (const [name, sub] of Object.entries(s.properties as Json)) {
      const mine = obj.get(name);
      if (!mine) {
        out.push(`${path}.${name}`);
        continue;
      }
      missingFields(doc, sub, mine, `${path}.${name}`, depth + 1, out);
    }
    return;
  }
  const item = ourItems(ours);
  if (item && s.items !== undefined) missingFields(doc, s.items, item, `${path}[]`, depth + 1, out);
}

describe('CACO accepts every field Beckn core 1.1.1 defines on the request objects it describes', { skip: skipWithoutSpec, timeout: 30_000 }, () => {
  test('no spec field is refused in any request CACO takes', () => {
    const doc = loadOpenApiYaml(join(specDir(), 'core-v1.1.1', 'transaction.yaml')) as Json;
    const missing: string[] = [];
    for (const action of REQUEST_ACTIONS) missingFields(doc, refTarget(doc, requestSchemaPointer(action)), BecknRequestSchemas[action].ast, action, 0, missing);
    assert.deepEqual(missing, []);
  });

  test('the fields the outside BAP sent are accepted: intent.payment, fulfillments[].customer and .stops, billing.address, +00:00 offsets', () => {
    const search = readSpecJson<{ context: Json; message: { intent: Json } }>(`${FIXTURES}/search.json`);
    search.context.timestamp = String(search.context.timestamp).replace(/Z$/, '+00:00');
    search.message.intent.payment = { type: 'POST-FULFILLMENT', collected_by: 'BAP' };
    const s = decodeBecknBody('search', search);
    assert.ok(s.ok, JSON.stringify(s.ok ? null : s.problems));

    const init = readSpecJson<{ context: Json; message: { order: Json & { billing: Json } } }>(`${FIXTURES}/init.json`);
    init.context.timestamp = '2026-01-15T17:03:01+01:00';
    init.message.order.billing.address = '1 Grid Street, London E14';
    init.message.order.fulfillments = [{ id: (init.message.order.fulfillments as Json[] | undefined)?.[0]?.id ?? 'ful-x', customer: { person: { name: 'Control room' }, contact: { email: 'ops@dso.example' } }, stops: [{ type: 'start', time: { timestamp: '2026-01-15T18:00:00+00:00' } }] }];
    const i = decodeBecknBody('init', init);
    assert.ok(i.ok, JSON.stringify(i.ok ? null : i.problems));
  });

  test('a misspelt field is still refused with its path', () => {
    const init = readSpecJson<{ message: { order: { billing: Json } } }>(`${FIXTURES}/init.json`);
    init.message.order.billing.adress = 'typo';
    const i = decodeBecknBody('init', init);
    assert.equal(i.ok, false);
    assert.deepEqual(i.ok ? [] : i.problems.map((p) => p.path), ['message.order.billing.adress']);
  });
});
