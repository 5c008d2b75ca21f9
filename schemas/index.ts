/**
 * Every message CACO knows, as Effect Schemas, and the registry the runtime decodes with.
 * A third party builds its own registry the same way: `new MessageRegistry([...defs])`.
 */
import { MessageRegistry, type MessageDef } from './registry.ts';
import { Upcasters, type Upcaster } from './upcasters.ts';
import { gridMessages } from './grid.ts';
import { computeMessages } from './compute.ts';
import { computeIdentityMessages, computeIdentityUpcasters } from './compute-identity.ts';
import { flexMessages, flexUpcasters } from './flex.ts';
import { effectMessages } from './effects.ts';
import { onsiteMessages } from './onsite.ts';
import { gatewayMessages } from './gateway.ts';

export * from './registry.ts';
export * from './upcasters.ts';
export * from './common.ts';
export { EnvelopeSchema, CommandEnvelopeSchema } from './envelope.ts';
export * from './grid.ts';
export * from './compute.ts';
export * from './compute-identity.ts';
export * from './flex.ts';
export * from './effects.ts';
export * from './onsite.ts';
export * from './gateway.ts';
export * from './messages.ts';

export const ALL_MESSAGES: ReadonlyArray<MessageDef> = [...gridMessages, ...computeMessages, ...computeIdentityMessages, ...flexMessages, ...effectMessages, ...onsiteMessages, ...gatewayMessages];

export function cacoRegistry(extra: Iterable<MessageDef> = []): MessageRegistry {
  return new MessageRegistry([...ALL_MESSAGES, ...extra]);
}

/** Every upcaster CACO has: from each older version of an event type to the next. */
export const ALL_UPCASTERS: ReadonlyArray<Upcaster> = [...computeIdentityUpcasters, ...flexUpcasters];

/**
 * CACO's upcasters, checked against `registry` (by default CACO's own): those of the types the
 * registry has. Throws `UpcasterRegistryError` when a type has versions without an upcaster
 * between them, or an upcaster's version is not registered.
 */
export function cacoUpcasters(registry: MessageRegistry = cacoRegistry(), extra: Iterable<Upcaster> = []): Upcasters {
  return Upcasters.check(registry, [...ALL_UPCASTERS.filter((u) => registry.has(u.type)), ...extra]);
}
export { exportSchemas } from './export.ts';
