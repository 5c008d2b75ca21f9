export * from './agent.ts';
export { AgentHost, type HandleOutcome } from './agent-host.ts';
export { Runtime, type RuntimeOptions, type RuntimeHealth, type CommandReply, type SendOptions } from './runtime.ts';
export { Relay, type RelayOptions } from './relay.ts';
export { DeadLetters, type DeadLetter } from './dead-letter.ts';
export { intakeCommand, intakeEvent } from './intake.ts';
export { Mailbox } from './mailbox.ts';
export { subjects } from './subjects.ts';
