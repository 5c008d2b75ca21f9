import { createHash } from 'node:crypto';
import type { BusMessage } from '../bus/bus.ts';
import type { Envelope } from '../envelope.ts';
import type { Keyring, PublicKeyDirectory } from '../ledger/keyring.ts';
import { canonicalJson } from '../ledger/canonical-json.ts';
import { checkEvent } from '../ledger/seal.ts';
import { decodeWith, type MessageRegistry, type SchemaProblem } from '../../schemas/registry.ts';
import { CommandEnvelopeSchema, EnvelopeSchema } from '../../schemas/envelope.ts';
import type { CommandMessage } from './agent.ts';
import { verify } from 'node:crypto';
import { DEFAULT_COMMAND_LIMITS, parseBoundedJson, type InputLimits, type PayloadSummary } from './input-limits.ts';

/**
 * Turning bytes from the bus into trusted inputs. Each step names what was wrong so the dead
 * letter says why: malformed JSON, envelope shape, unknown type, data schema, signature.
 */
export type Intake<T> = { ok: true; value: T } | { ok: false; reason: string; problems?: ReadonlyArray<SchemaProblem>; payload?: PayloadSummary };

/** Events are written by agents, not outsiders, and may be large (a plan); only NATS bounds their size. */
export const EVENT_LIMITS: InputLimits = { maxBytes: 8 * 1024 * 1024, maxDepth: 64 };

function parseJson(msg: BusMessage, limits: InputLimits): Intake<unknown> {
  const r = parseBoundedJson(msg.data, limits);
  return r.ok ? r : { ok: false, reason: r.reason, payload: r.payload };
}

function digestOf(value: unknown): Buffer {
  return createHash('sha256').update(canonicalJson(value)).digest();
}

/** Sign a command as its source agent (clients call this before sending). */
export function signCommand(cmd: CommandMessage, keyring: Keyring): CommandMessage & { sig: string } {
  const { ...unsigned } = cmd as CommandMessage & { sig?: string };
  delete unsigned.sig;
  return { ...unsigned, sig: keyring.sign(cmd.source, digestOf(unsigned)) };
}

export interface CommandIntakeOptions {
  readonly registry: MessageRegistry;
  readonly keys: PublicKeyDirectory;
  /** When true, a command without a valid signature from a known key is rejected. */
  readonly requireSignature: boolean;
  /** The command types this agent accepts. */
  readonly accepts: ReadonlySet<string>;
  /** Size and depth bounds, checked before parsing (default 64 KB, 32 levels). */
  readonly limits?: InputLimits;
  /**
   * Admission by source, after the envelope is read and before anything else: a refusal reason
   * (a rate limit), or undefined to go on. A message without a valid envelope is admitted as
   * the source `(invalid envelope)`, so junk is limited too.
   */
  readonly admit?: (source: string) => string | undefined;
}

/** The rate-limit key of messages whose envelope does not decode. */
export const INVALID_SOURCE = '(invalid envelope)';

export function intakeCommand(msg: BusMessage, o: CommandIntakeOptions): Intake<CommandMessage> {
  const json = parseJson(msg, o.limits ?? DEFAULT_COMMAND_LIMITS);
  if (!json.ok) {
    const limited = o.admit?.(INVALID_SOURCE);
    return limited ? { ...json, reason: `${json.reason}; ${limited}` } : json;
  }
  const env = decodeWith(CommandEnvelopeSchema, json.value);
  const refused = o.admit?.(env.ok ? env.value.source : INVALID_SOURCE);
  if (refused) return { ok: false, reason: refused };
  if (!env.ok) return { ok: false, reason: 'not a command envelope', problems: env.problems };
  const cmd = env.value;
  if (!o.accepts.has(cmd.type)) {
    return { ok: false, reason: `unknown message type "${cmd.type}" for this agent (accepts ${[...o.accepts].join(', ') || 'no commands'})`, problems: [{ path: 'type', reason: 'unknown message type' }] };
  }
  const data = o.registry.decode(cmd.type, cmd.version, cmd.data);
  if (!data.ok) {
    const unknown = data.problems.some((p) => p.path === 'type' || p.path === 'version');
    return { ok: false, reason: unknown ? `unknown message type "${cmd.type}" v${cmd.version}` : `payload fails the ${cmd.type} v${cmd.version} schema`, problems: data.problems };
  }
  const key = o.keys.publicKey(cmd.source);
  if (cmd.sig !== undefined || (key && o.requireSignature)) {
    if (!key) return { ok: false, reason: `bad signature: no public key for source "${cmd.source}"` };
    if (cmd.sig === undefined) return { ok: false, reason: `bad signature: command from "${cmd.source}" is not signed` };
    const { sig, ...unsigned } = cmd;
    let ok = false;
    try {
      ok = verify(null, digestOf(unsigned), key, Buffer.from(sig, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) return { ok: false, reason: `bad signature by "${cmd.source}"` };
  } else if (o.requireSignature) {
    return { ok: false, reason: `bad signature: command from "${cmd.source}" is not signed` };
  }
  const { sig: _sig, ...rest } = cmd;
  return { ok: true, value: { ...rest, data: data.value } };
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
  const broken = checkEvent(e, keys);
  if (broken) return { ok: false, reason: broken.startsWith('bad signature') || broken.startsWith('no public key') ? `bad signature: ${broken}` : broken };
  return { ok: true, value: e };
}
