import type { BusMessage } from '../bus/bus.ts';
import type { Envelope } from '../envelope/envelope.ts';
import type { PublicKeyDirectory } from '../ledger/keyring.ts';
import { checkWithCommit, COMMIT_PROOF_HEADER, parseCommitProof } from '../ledger/commit-proof.ts';
import type { AuthRefusal } from '../identity/command-signature.ts';
import { checkCommandBinding, type BindingRefusal, type CommandBinding } from '../identity/command-binding.ts';
import type { CommandIdentity } from '../identity/site-identity.ts';
import { decodeWith, type MessageRegistry, type SchemaProblem } from '../../schemas/index.ts';
import { CommandEnvelopeSchema, EnvelopeSchema } from '../../schemas/index.ts';
import type { CommandMessage } from './agent.ts';
import { DEFAULT_COMMAND_LIMITS, parseBoundedJson, type InputLimits, type PayloadSummary } from './input-limits.ts';
import type { IntakeAdmission } from './command-admission.ts';

/**
 * Turning bytes from the bus into trusted inputs. Each step names what was wrong so the dead
 * letter says why: malformed JSON, envelope shape, unknown type, data schema, signature.
 */
export type Intake<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      reason: string;
      problems?: ReadonlyArray<SchemaProblem>;
      payload?: PayloadSummary;
      /** For `rate-limited`: the wait the limit names, passed on to the sender (and as HTTP Retry-After). */
      retryAfterMs?: number;
    };

/**
 * Events are written by agents, not outsiders, and may be large (a plan); only NATS bounds their
 * size. They were stored and signed as they are, so they are read as the store reads them (no
 * I-JSON refusal): a lone surrogate stored before the gateway refused one is still an event.
 */
export const EVENT_LIMITS: InputLimits = { maxBytes: 8 * 1024 * 1024, maxDepth: 64, iJson: false };

function parseJson(msg: BusMessage, limits: InputLimits): Intake<unknown> {
  const r = parseBoundedJson(msg.data, limits);
  return r.ok ? r : { ok: false, reason: r.reason, payload: r.payload };
}

export interface CommandIntakeOptions {
  readonly registry: MessageRegistry;
  /** Checks the command's signature against the site's key registry. */
  readonly identity: CommandIdentity;
  /** The command types this agent accepts. */
  readonly accepts: ReadonlySet<string>;
  /** Size and depth bounds, checked before parsing (default 64 KB, 32 levels). */
  readonly limits?: InputLimits;
  /**
   * Admission by sender (core/runtime/command-admission.ts): before the key a command claims is
   * looked up (by the claimed key id, and for a lookup that would read the registry's store,
   * the shared bucket), and after the signature is checked, before the type and data are read
   * (the verified key's bucket; anything not sent by a verified key takes from the shared
   * `(unauthenticated)` bucket, so junk is limited too). Undefined: no limits (a simulation).
   */
  readonly admission?: IntakeAdmission;
  /**
   * The command type the subject it arrived on carries (`caco.<site>.cmd.compute.pin` →
   * `compute.job.pin`), or null when the subject names no command of this agent. Each command
   * lives on its own subject and only there: a command of another type is refused
   * (`wrong-subject`), so a permission or a queue on one subject means that command alone.
   * Undefined skips the check (a caller that has no subject).
   */
  readonly subjectType?: string | null;
  /**
   * Command types of this agent that are never taken from the bus (`AgentDefinition.internalCommands`):
   * refused as `forbidden` whoever signed them, before their data is read.
   */
  readonly internal?: ReadonlySet<string>;
  /**
   * The site and clock a command's `site` and `expiresAt` are checked against, after its
   * signature (core/identity/command-binding.ts). Undefined skips the check (a caller with no site).
   */
  readonly binding?: CommandBinding;
}

/**
 * Why a command was refused, as the gateway's codes (core/gateway/protocol.ts): who sent it, how
 * often, where, or what it was (`bad-request`: not JSON or not a command envelope; `schema`: an
 * unknown type or version, or data that fails the type's schema); `busy`: not checked at all,
 * as too many commands were waiting to be (RuntimeOptions.commandBacklog).
 */
export type CommandRefusal = AuthRefusal | BindingRefusal | 'rate-limited' | 'wrong-subject' | 'forbidden' | 'bad-request' | 'schema' | 'busy';

/** The command type `subject` carries among an agent's commands (`{ pin: 'compute.job.pin' }`), or null. */
export function commandTypeOfSubject(subject: string, site: string, agent: string, commands: Readonly<Record<string, string>>): string | null {
  const prefix = `caco.${site}.cmd.${agent}.`;
  if (!subject.startsWith(prefix)) return null;
  const name = subject.slice(prefix.length);
  return Object.hasOwn(commands, name) ? commands[name]! : null;
}

/** Whether `type` is a command of the site's (in any version): sent on a subject that carries another, it is on the wrong subject. */
export function isCommandType(registry: MessageRegistry, type: string): boolean {
  const v = registry.latestVersion(type);
  return v !== undefined && registry.get(type, v)?.kind === 'command';
}

export { UNAUTHENTICATED } from './command-admission.ts';

/**
 * A command from the bus: bounded JSON, envelope shape, admission of the key id it claims (no
 * lookup for junk past its rate), then who sent it (signed by a registered, unrevoked key whose
 * party is the `source`), then the sender's rate, and only then its type and data, so nothing
 * from an unknown sender is decoded further than its envelope. The rate is counted per
 * verified key, not per claimed `source` or key id: a flood in someone else's name cannot use
 * up their allowance.
 */
export function intakeCommand(msg: BusMessage, o: CommandIntakeOptions): Promise<Intake<CommandMessage> & { code?: CommandRefusal }> {
  return intakeParsedCommand(msg, parseCommandJson(msg, o.limits ?? DEFAULT_COMMAND_LIMITS), o);
}

/** A command's bytes, bounded and parsed: the first step of `intakeCommand`, taken on its own to queue by `claimedKeyId`. */
export function parseCommandJson(msg: BusMessage, limits: InputLimits): Intake<unknown> {
  return parseJson(msg, limits);
}

/**
 * The key id a parsed command claims (its `keyId`, when a string of at most 256 characters), or
 * undefined for anything else. Not checked: the intake's turn order by sender (Runtime), where
 * claiming another's key id only puts a message in the queue of that key's holder.
 */
export function claimedKeyId(json: Intake<unknown>): string | undefined {
  if (!json.ok || typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) return undefined;
  const k = (json.value as { keyId?: unknown }).keyId;
  return typeof k === 'string' && k.length <= 256 ? k : undefined;
}

/** `intakeCommand` after `parseCommandJson`. */
export async function intakeParsedCommand(msg: BusMessage, json: Intake<unknown>, o: CommandIntakeOptions): Promise<Intake<CommandMessage> & { code?: CommandRefusal }> {
  if (!json.ok) {
    const limited = o.admission?.unauthenticated();
    return { ...json, ...(limited ? { reason: `${json.reason}; ${limited.reason}` } : {}), code: 'bad-request' };
  }
  const env = decodeWith(CommandEnvelopeSchema, json.value);
  if (!env.ok) {
    const limited = o.admission?.unauthenticated();
    return limited ? { ok: false, reason: limited.reason, code: 'rate-limited', retryAfterMs: limited.retryAfterMs } : { ok: false, reason: 'not a command envelope', code: 'bad-request', problems: env.problems };
  }
  // Signed (else authenticate refuses it as `unsigned` without a lookup): admitted by the key id it claims first.
  const claimed = env.value.keyId !== undefined && env.value.sig !== undefined ? env.value.keyId : undefined;
  let sharedTaken = false;
  if (claimed !== undefined && o.admission) {
    const standing = o.identity.keyStandingNow ? await o.identity.keyStandingNow(claimed) : (o.identity.keyStanding?.(claimed) ?? 'known');
    const before = o.admission.beforeLookup(claimed, standing);
    if (before.refused !== undefined) return { ok: false, reason: before.refused.reason, code: 'rate-limited', retryAfterMs: before.refused.retryAfterMs };
    sharedTaken = before.sharedTaken;
  }
  const auth = await o.identity.authenticate(json.value);
  const limited = o.admission?.afterAuth(auth.ok ? auth.principal.keyId : undefined, claimed, sharedTaken);
  if (limited) return { ok: false, reason: limited.reason, code: 'rate-limited', retryAfterMs: limited.retryAfterMs };
  if (!auth.ok) return { ok: false, reason: auth.reason, code: auth.code };
  if (o.binding) {
    const bound = checkCommandBinding(json.value as Record<string, unknown>, o.binding);
    if (!bound.ok) return { ok: false, reason: bound.reason, code: bound.code, problems: [{ path: bound.path, reason: bound.code }] };
  }
  const cmd = env.value;
  // Another command on this subject, this agent's or another's (the registry knows it as a command).
  if (o.subjectType !== undefined && cmd.type !== o.subjectType && (o.accepts.has(cmd.type) || isCommandType(o.registry, cmd.type))) {
    const where = o.subjectType === null ? `"${msg.subject}" carries no command` : `"${msg.subject}" carries only ${o.subjectType}`;
    return { ok: false, reason: `wrong subject: ${where}; send ${cmd.type} on its own subject`, code: 'wrong-subject', problems: [{ path: 'type', reason: 'does not match the subject' }] };
  }
  if (o.subjectType === null || !o.accepts.has(cmd.type)) {
    return { ok: false, reason: `unknown message type "${cmd.type}" for this agent (accepts ${[...o.accepts].join(', ') || 'no commands'})`, code: 'schema', problems: [{ path: 'type', reason: 'unknown message type' }] };
  }
  if (o.internal?.has(cmd.type)) {
    return { ok: false, reason: `forbidden: ${cmd.type} is taken only from the site's own doors, which authenticate its sender their own way (a Beckn request goes to the BPP, signed as Beckn says); not as a command on the bus, whoever signs it`, code: 'forbidden', problems: [{ path: 'type', reason: 'not accepted on the bus' }] };
  }
  const data = o.registry.decode(cmd.type, cmd.version, cmd.data);
  if (!data.ok) {
    const unknown = data.problems.some((p) => p.path === 'type' || p.path === 'version');
    return { ok: false, reason: unknown ? `unknown message type "${cmd.type}" v${cmd.version}` : `payload fails the ${cmd.type} v${cmd.version} schema`, code: 'schema', problems: data.problems };
  }
  // What only the intake checks (who signed, for where, until when) does not reach the agent.
  const { sig: _sig, keyId: _keyId, site: _site, expiresAt: _expiresAt, ...rest } = cmd;
  return { ok: true, value: { ...rest, data: data.value, principal: auth.principal } };
}

/** A relayed ledger event from the bus: shape, type, data schema, then hash and signature. */
export function intakeEvent(msg: BusMessage, registry: MessageRegistry, keys: PublicKeyDirectory): Intake<Envelope> {
  const json = parseJson(msg, EVENT_LIMITS);
  if (!json.ok) return json;
  const env = decodeWith(EnvelopeSchema, json.value);
  if (!env.ok) return { ok: false, reason: 'not an event envelope', problems: env.problems };
  const e = env.value as Envelope;
  const data = registry.decode(e.type, e.version, e.data);
  if (!data.ok) {
    const unknown = data.problems.some((p) => p.path === 'type' || p.path === 'version');
    return { ok: false, reason: unknown ? `unknown message type "${e.type}" v${e.version}` : `payload fails the ${e.type} v${e.version} schema`, problems: data.problems };
  }
  // An event its commit's head signs for comes with the rest of its commit (see relay.ts).
  const proof = parseCommitProof(msg.headers[COMMIT_PROOF_HEADER]);
  if (proof !== undefined && 'problem' in proof) return { ok: false, reason: proof.problem };
  const broken = checkWithCommit(e, proof as ReadonlyArray<Envelope> | undefined, keys);
  if (broken) return { ok: false, reason: broken.startsWith('bad signature') || broken.startsWith('no public key') ? `bad signature: ${broken}` : broken };
  return { ok: true, value: e };
}
