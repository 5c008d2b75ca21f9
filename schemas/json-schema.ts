import { Schema } from 'effect';
import type { MessageDef } from './registry.ts';
import { bindingFields, envelopeFields, ledgerFields, signerFields } from './envelope.ts';

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  id: 'a unique id (UUIDv7 for what CACO writes)',
  time: 'ISO 8601 UTC, Z, at most milliseconds',
  source: 'the agent that decided it',
  hash: 'SHA-256 of the canonical JSON of the envelope without position, hash and sig',
};

/**
 * The whole message as one Effect schema: the envelope with `type` and `version` fixed and
 * `data` described by the message's schema. The JSON Schema is generated from it, so the file
 * carries the decoder's own rules (patterns, lengths, minimums, no excess properties). A
 * command's `keyId` and `sig` are required here: the decoder reads them as optional only so
 * the runtime can refuse an unsigned command by name (docs/identity.md).
 */
export function messageSchema(def: MessageDef) {
  const fixed = { ...envelopeFields, type: Schema.Literal(def.type), version: Schema.Literal(def.version), data: def.data };
  return def.kind === 'event' ? Schema.Struct({ ...fixed, ...ledgerFields }) : Schema.Struct({ ...fixed, ...bindingFields, ...signerFields });
}

/**
 * A JSON Schema (draft 2020-12) for a whole message, so another language can validate exactly
 * what travels on `caco.<site>.evt.<type>` and `caco.<site>.cmd.<agent>.<name>`.
 */
export function messageJsonSchema(def: MessageDef): Record<string, unknown> {
  const doc = Schema.toJsonSchemaDocument(messageSchema(def), { onExcessProperty: 'error' }) as { schema: Record<string, unknown>; definitions?: Record<string, unknown> };
  const schema = dropNullOfOptional(doc.schema) as Record<string, unknown>;
  const defs = doc.definitions && Object.keys(doc.definitions).length ? { $defs: dropNullOfOptional(doc.definitions) } : {};
  const properties = schema['properties'] as Record<string, Record<string, unknown>>;
  for (const [k, d] of Object.entries(DESCRIPTIONS)) if (properties[k]) properties[k] = { ...properties[k], description: d };
  if (properties['sig']) properties['sig'] = { ...properties['sig'], description: def.kind === 'event' ? "ed25519 signature (base64) of the hash bytes by the source agent's key" : 'ed25519 signature (base64) over the canonical JSON of the envelope without sig (keyId included)' };
  if (properties['keyId']) properties['keyId'] = { ...properties['keyId'], description: "the sender's key in the site's key registry (docs/identity.md)" };
  if (properties['site']) properties['site'] = { ...properties['site'], description: 'the site the command is for (caco.<site>.…); another site refuses it. Optional unless the site sets CACO_REQUIRE_BOUND_COMMANDS' };
  if (properties['expiresAt']) properties['expiresAt'] = { ...properties['expiresAt'], description: "ISO 8601 UTC: refused at or after this time by the site's clock, and if more than 24 h ahead. Optional unless the site sets CACO_REQUIRE_BOUND_COMMANDS" };
  if (def.kind === 'command' && properties['source']) properties['source'] = { ...properties['source'], description: "the sender: the party of the keyId's key" };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://caco.energy/schemas/${def.type}/v${def.version}.json`,
    title: `${def.type} v${def.version}`,
    description: def.description,
    'x-caco-kind': def.kind,
    ...schema,
    ...defs,
  };
}

/**
 * Effect describes `Schema.optional(X)` for its JSON codec, which reads `null` as absent, so
 * it exports `anyOf: [X, null]`. CACO decodes with the schema itself, which refuses `null` for
 * an absent field; no message declares an optional nullable field, so the `null` branch of
 * every optional property is dropped to say what the decoder enforces.
 */
function dropNullOfOptional(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropNullOfOptional);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = dropNullOfOptional(v);
  const props = out['properties'];
  if (props && typeof props === 'object' && !Array.isArray(props)) {
    const required = new Set(Array.isArray(out['required']) ? (out['required'] as string[]) : []);
    const fixed: Record<string, unknown> = {};
    for (const [name, s] of Object.entries(props as Record<string, unknown>)) fixed[name] = required.has(name) ? s : withoutNull(s);
    out['properties'] = fixed;
  }
  return out;
}

function withoutNull(s: unknown): unknown {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return s;
  const o = s as Record<string, unknown>;
  const branches = o['anyOf'] ?? o['oneOf'];
  if (!Array.isArray(branches)) return s;
  const kept = branches.filter((b) => !(b && typeof b === 'object' && (b as Record<string, unknown>)['type'] === 'null' && Object.keys(b as object).length === 1));
  if (kept.length === branches.length) return s;
  const key = 'anyOf' in o ? 'anyOf' : 'oneOf';
  const { [key]: _dropped, ...rest } = o;
  return kept.length === 1 ? { ...rest, ...(kept[0] as object) } : { ...rest, [key]: kept };
}

/** File name for a message's schema: `compute.job.submitted.v1.json`. */
export function schemaFileName(def: MessageDef): string {
  return `${def.type}.v${def.version}.json`;
}

export function renderSchemaFile(def: MessageDef): string {
  return JSON.stringify(messageJsonSchema(def), null, 2) + '\n';
}
