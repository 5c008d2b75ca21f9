/**
 * Every message CACO knows, as Effect Schemas, and the registry the runtime decodes with.
 * A third party builds its own registry the same way: `new MessageRegistry([...defs])`.
 */
import { MessageRegistry, type MessageDef } from './registry.ts';
import { gridMessages } from './grid.ts';
import { computeMessages } from './compute.ts';
import { computeIdentityMessages } from './compute-identity.ts';
import { flexMessages } from './flex.ts';
import { effectMessages } from './effects.ts';
import { onsiteMessages } from './onsite.ts';
import { gatewayMessages } from './gateway.ts';

export * from './registry.ts';
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
