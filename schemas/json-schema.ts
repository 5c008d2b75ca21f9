import { Schema } from 'effect';
import type { MessageDef } from './registry.ts';

/**
 * A JSON Schema (draft 2020-12) for a whole message: the envelope with `type` and `version`
 * fixed and `data` described by the message's schema, so another language can validate
 * exactly what travels on `caco.<site>.evt.<type>`.
 */
export function messageJsonSchema(def: MessageDef): Record<string, unknown> {
  const doc = Schema.toJsonSchemaDocument(def.data) as { schema: Record<string, unknown>; definitions?: Record<string, unknown> };
  const defs = doc.definitions && Object.keys(doc.definitions).length ? { $defs: doc.definitions } : {};
  const ledger = def.kind === 'event';
  const str = { type: 'string' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://caco.energy/schemas/${def.type}/v${def.version}.json`,
    title: `${def.type} v${def.version}`,
    description: def.description,
    'x-caco-kind': def.kind,
    type: 'object',
    properties: {
      id: { ...str, description: 'UUIDv7' },
      type: { const: def.type },
      version: { const: def.version },
      time: { ...str, description: 'ISO 8601 UTC' },
      source: { ...str, description: 'the agent that decided it' },
      correlationId: str,
      causationId: { type: ['string', 'null'] },
      ...(ledger
        ? {
            stream: str,
            revision: { type: 'integer', minimum: 0 },
            position: { type: 'integer', minimum: 0 },
            prevHash: { ...str, pattern: '^[0-9a-f]{64}$' },
            hash: { ...str, pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the canonical JSON of the envelope without position, hash and sig' },
            sig: { ...str, description: "ed25519 signature (base64) of the hash bytes by the source agent's key" },
          }
        : {
            keyId: { ...str, description: "the sender's key in the site's key registry (docs/identity.md)" },
            sig: { ...str, description: 'ed25519 signature (base64) over the canonical JSON of the envelope without sig (keyId included)' },
          }),
      data: doc.schema,
    },
    required: ['id', 'type', 'version', 'time', 'source', 'correlationId', 'causationId', 'data', ...(ledger ? ['stream', 'revision', 'position', 'prevHash', 'hash', 'sig'] : ['keyId', 'sig'])],
    ...defs,
  };
}

/** File name for a message's schema: `compute.job.submitted.v1.json`. */
export function schemaFileName(def: MessageDef): string {
  return `${def.type}.v${def.version}.json`;
}

export function renderSchemaFile(def: MessageDef): string {
  return JSON.stringify(messageJsonSchema(def), null, 2) + '\n';
}
