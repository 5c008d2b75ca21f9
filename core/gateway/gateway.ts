import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Schema } from 'effect';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Bus, Subscription } from '../bus/bus.ts';
import type { Clock } from '../clock/clock.ts';
import { isOneOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import type { Logger } from '../log/logger.ts';
import type { EventStore } from '../store/event-store.ts';
import { ReadMeter, readMetered, storedEnvelope } from '../store/verified-store.ts';
import type { CommandIdentity } from '../identity/site-identity.ts';
import type { Principal } from '../identity/key-entry.ts';
import type { KeyStanding, Lookup } from '../identity/key-registry.ts';
import { checkCommandBinding, type CommandBinding } from '../identity/command-binding.ts';
import { isSiteSigner } from '../identity/site-signers.ts';
import { canonicalJson } from '../ledger/canonical-json.ts';
import { DEFAULT_COMMAND_LIMITS, parseBoundedJson, type InputLimits } from '../runtime/input-limits.ts';
import { RateLimiter, type RateLimit } from '../runtime/rate-limit.ts';
import { CommandAdmission, windowText, type AdmissionRefusal, type IntakeAdmission } from '../runtime/index.ts';
import { ANNOUNCEMENT_SCHEMA_LIMITS, SchemaValidators, overSchemaLimits, schemaKey, schemaSize, withinTimeLimit, type Compiled } from './schema-validators.ts';
import { DEFAULT_SCHEMA_CPU_BUDGET, REFILL_CPU_BUDGET, SchemaCpuMeter, type SchemaCpuBudget } from './cpu-budget.ts';
import { PARTY_BUDGET_ENV, ledgerUsage, partyBudgetFromEnv, type PartyBudget } from './ledger-budget.ts';
import type { PartyUsage } from '../runtime/index.ts';
import { FifoMap, FifoSet } from '../collections/fifo-map.ts';
import { isCommandType } from '../runtime/intake.ts';
import { decodeWith, type AnySchema, type MessageRegistry, type SchemaProblem } from '../../schemas/index.ts';
import { AgentAnnounced, AnnounceRequest, AppendRequest, ReadRequest, RequestBinding } from '../../schemas/index.ts';
import {
  EXT_TYPE_PREFIX,
  GATEWAY_PARTY,
  OUTSIDE_FACT_PREFIX,
  foreignExtType,
  extStreamOf,
  gatewaySubjects,
  refuse,
  typeFilter,
  type AnnounceReply,
  type AppendReply,
  type GatewayError,
  type GatewayReply,
} from './protocol.ts';

/**
 * The site gateway: how an outside agent, in any language, joins the site over NATS. It
 * announces itself (an `gateway.agent.announced` fact), appends facts of the types it declared into its
 * own stream `ext-<name>` (signed by its registered key, checked against a schema, deduplicated
 * by the id it chose), reads the ledger from a position, and asks the site's read model
 * questions. Everything it receives is bounded and rate-limited like a command.
 */

/** One request/reply endpoint: a subject and what answers it (bytes in, bytes out). */
export interface GatewayEndpoint {
  readonly name: string;
  readonly subject: string;
  handle(data: Uint8Array): Promise<Uint8Array>;
}

/** A query of the site's current state (`caco.<site>.q.<name>`), answered from a read model. */
export interface GatewayQuery<S extends AnySchema = AnySchema> {
  readonly description: string;
  /** The request's shape (an Effect schema); a request that fails it gets `bad-request`. */
  readonly request: S;
  /** Called with the request decoded by `request`, so typed by it. */
  answer(request: Schema.Schema.Type<S>): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** A query whose `answer` is typed by its `request` schema. */
export function defineQuery<S extends AnySchema>(q: GatewayQuery<S>): GatewayQuery<S> {
  return q;
}

export interface GatewayOptions {
  readonly site: string;
  readonly bus: Bus;
  /** The site's store, as its readers see it (verified on read). */
  readonly store: EventStore;
  readonly registry: MessageRegistry;
  /** Checks signatures against the site's key registry (as for commands). */
  readonly identity: CommandIdentity;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits?: InputLimits;
  /** Per-key token buckets on signed requests (the site's command rate); none by default. */
  readonly rateLimit?: RateLimit;
  /** Refuse signed requests without `site` and `expiresAt`, as the site's runtime does commands (RuntimeOptions.requireBoundCommands). */
  readonly requireBoundCommands?: boolean;
  /** Token buckets on reads and queries, one per verified key and one for all unsigned readers (default 50/s, burst 100 each). */
  readonly readRate?: RateLimit;
  /**
   * Token buckets of events on reads, bucketed as `readRate`: a read spends one per event it
   * reads from the store and one per event verified to learn a stream's history before its
   * start, and reads no further than its bucket allows (default 2,000 a second, burst 10,000).
   */
  readonly readEventRate?: RateLimit;
  readonly queries?: Readonly<Record<string, GatewayQuery>>;
  /** The party the gateway writes `gateway.agent.announced` as (default `gateway`). */
  readonly party?: string;
  /**
   * Names no outside agent may take besides the site's own signers (SITE_SIGNERS, always
   * reserved, and `party`): e.g. the agents the site hosts.
   */
  readonly reservedNames?: ReadonlyArray<string>;
  /**
   * The registry's word on a key (`identity.registry.lookup`): an agent whose announced key has
   * since been revoked may announce again with its new key (key rotation). Without it a name
   * stays with the key it was first announced with.
   */
  readonly lookupKey?: (keyId: string) => Promise<Lookup>;
  /**
   * What one party may add to the ledger through the gateway (announcements and facts) in a
   * sliding window, counted from its stream; `off` for no limit. Default: `CACO_GATEWAY_PARTY_BUDGET`
   * (`partyBudgetFromEnv`), 50,000 events or 64 MiB a day.
   */
  readonly partyBudget?: PartyBudget | 'off';
  /** Fact ids remembered per agent, the latest kept (default 100,000): a re-send of one is answered from memory. */
  readonly rememberedFacts?: number;
  /**
   * Announcements per party (default 3 a minute, bursts of 5): each may make the site compile
   * new schemas, so they are counted apart from the party's other requests.
   */
  readonly announceRate?: RateLimit;
  /**
   * Milliseconds of the event loop one party's announced schemas may take, compiling them and
   * checking its facts against them (default 1,000 a minute; see cpu-budget.ts). Past it the
   * party's announcements and facts of its own types are refused `rate-limited` until it has paid
   * the time back.
   */
  readonly schemaCpuBudget?: SchemaCpuBudget;
  /** Monotonic milliseconds the schema time is measured with (default `performance.now`); tests give their own. */
  readonly schemaClock?: () => number;
  /** The compiled schemas kept (default KEPT_VALIDATORS, schema-validators.ts). */
  readonly keptValidators?: { readonly count: number; readonly bytes: number };
  /**
   * Requests one endpoint works on at once, whoever sends them (default 128); past it a request
   * is refused `unavailable` at once, before its body is parsed. Served through the NATS
   * services framework every request runs as it arrives, each holding its parsed body while its
   * key is looked up. The backstop: `maxInFlightPerKey` is what one sender meets first.
   */
  readonly maxInFlight?: number;
  /**
   * Requests one endpoint works on at once for one key (default 8), counted from before its key
   * is looked up to the reply: a key the site holds (registered when last looked up) by its id,
   * every other request together (unsigned, or under a key id not known to be registered). Past
   * it a request is refused `unavailable`. So one party's requests stuck on a slow lookup or a
   * slow store, or a burst of junk under new key ids, hold a few places, not every caller's.
   */
  readonly maxInFlightPerKey?: number;
}

/**
 * Takes the request's place among those in progress of `holder` (a key id, or UNVERIFIED),
 * giving up the place it held before if any: a refusal when `holder` has all its places.
 */
export type InFlightHold = (holder: string) => { ok: false; error: GatewayError } | undefined;
const NO_HOLD: InFlightHold = () => undefined;

interface StoredFact {
  readonly position: number;
  readonly revision: number;
  /** SHA-256 of the canonical JSON of type, version and data: a re-send must carry the same. */
  readonly fingerprint: string;
}

interface Declaration {
  readonly keyId: string;
  readonly version: string;
  readonly publishes: ReadonlySet<string>;
  readonly schemas: Readonly<Record<string, unknown>>;
  readonly announcedEventId: string;
  readonly announcedAt: string;
  readonly position: number;
}

/** What the gateway knows of one outside agent, learnt from its stream on first use and kept up with since. */
interface AgentRecord {
  declaration: Declaration | null;
  /** Its latest facts by the id it chose (bounded: a fact's data is never kept, only its digest). */
  readonly facts: FifoMap<string, StoredFact>;
  /**
   * The announcements recorded, by event id (derived from the signed request, signature and all):
   * a signed announcement is recorded once, so one sent again, by the agent or by whoever saw it,
   * is answered from the ledger and cannot bring an older declaration back.
   */
  readonly announcements: FifoMap<string, { position: number; announcedAt: string }>;
  /** Checks against the announced schema of each type that ran out of time since the last announcement. */
  readonly timeouts: Map<string, number>;
  /** The schemas (schemaKey) this gateway has charged the party a compile of, the latest COMPILED_REMEMBERED: compiling one again is the site's time. */
  readonly compiled: FifoSet<string>;
  /** The revision after the last event of the stream learnt: what is read next. */
  nextRevision: number;
  /** What it has added to the ledger in the budget's window, if there is a budget. */
  readonly usage: PartyUsage | undefined;
}

/** Fact ids remembered per agent by default: two days of facts at the default budget. */
const REMEMBERED_FACTS = 100_000;
/** Announcement ids remembered per agent (learnt again from its stream after a restart): years of restarts. */
const REMEMBERED_ANNOUNCEMENTS = 10_000;
/** 3 announcements a minute per party, bursts of 5. */
const DEFAULT_ANNOUNCE_RATE: RateLimit = { perSecond: 1 / 20, burst: 5 };
/** Checks of one type's facts that may run out of time before its announced schema is switched off (until announced again). */
const TIMEOUTS_BEFORE_OFF = 3;
const DEFAULT_MAX_IN_FLIGHT = 128;
const DEFAULT_MAX_IN_FLIGHT_PER_KEY = 8;
const VERIFIED_KEYS = 10_000;
/** Schemas remembered per party as compiled once: two announcements' worth (64 types each). */
const COMPILED_REMEMBERED = 128;
/** The one bucket of REFILL_CPU_BUDGET. */
const REFILLS = 'compiled again';
/** Where requests in progress are counted that no key the site holds vouches for (yet): unsigned, or under a key id not known to be registered. */
const UNVERIFIED = '(unverified)';
/** What sealing adds to an event's JSON, at most (stream, revision, position, prevHash, hash, signature, covers). */
const SEAL_BYTES = 400;

/**
 * Most work one read does: events read from the store (a type filter may skip many) and events
 * verified to learn the history of the streams it meets. Past it the page ends, and the reader
 * continues from `nextPosition` (what was learnt is kept: the next read carries on from it).
 * Over twice the longest commit (1,024 events), so a full budget always gets past one.
 */
const READ_WORK_LIMIT = 2500;
const DEFAULT_READ_EVENT_RATE: RateLimit = { perSecond: 2000, burst: 10_000 };
const isAnnouncement = isOneOf([AgentAnnounced]);
const MAX_READ = 500;
/**
 * Most bytes of events in one read reply: it must fit in one NATS message (1 MB on a server's
 * default max_payload), whatever the events weigh (an outside fact may be 64 KB).
 */
const MAX_READ_BYTES = 512 * 1024;
const encode = (x: unknown) => Buffer.from(JSON.stringify(x));

/**
 * The ledger id of an outside fact: a UUID derived from its stream and the agent's id, so a
 * re-send maps to the same event (the stores deduplicate by it) and an agent cannot choose the
 * id of someone else's event (JetStream deduplicates by event id across the whole ledger).
 */
export function eventIdFor(stream: string, agentId: string): string {
  const h = createHash('sha256').update(`caco-gateway/1\n${stream}\n${agentId}`).digest('hex');
  // RFC 9562 UUIDv8 (custom): version nibble 8, variant 10.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function firstField(problems: ReadonlyArray<SchemaProblem>): string | null {
  return problems[0]?.path || null;
}

export class SiteGateway {
  private readonly agents = new Map<string, AgentRecord>();
  /** One operation at a time per agent: a re-send racing its original must see it. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Per verified key (rateLimit): a key's own requests. */
  private readonly limiter: RateLimiter | undefined;
  /**
   * What is admitted before a key is looked up (rateLimit), as the site's command intake admits
   * commands: junk, failures, and lookups of key ids not registered when last looked up share
   * one bucket; a claimed key id that keeps failing has its own (CommandAdmission).
   */
  private readonly admission: CommandAdmission | undefined;
  private readonly readLimiter: RateLimiter;
  /** The same for signed reads and queries (readRate): a key id past it is not looked up, and its read counts as unsigned. */
  private readonly readAdmission: CommandAdmission;
  /** Keys whose signature this gateway has verified (the latest VERIFIED_KEYS): their requests have places of their own before their key is looked up. */
  private readonly verifiedKeys = new FifoSet<string>(VERIFIED_KEYS);
  /** Buckets of events read, not of requests (readEventRate). */
  private readonly readEvents: RateLimiter;
  /** What a signed request's `site` and `expiresAt` are checked against, as the runtime checks commands. */
  private readonly binding: CommandBinding;
  private readonly schemas: SchemaValidators;
  private readonly cpuNow: () => number;
  private readonly budget: PartyBudget | undefined;
  /** Announcements by party (announceRate). */
  private readonly announceLimiter: RateLimiter;
  /** Time spent on each party's announced schemas (schemaCpuBudget). */
  private readonly schemaCpu: SchemaCpuMeter;
  /** Time spent compiling again schemas evicted from `schemas`, for all parties together (REFILL_CPU_BUDGET). */
  private readonly refillCpu = new SchemaCpuMeter(REFILL_CPU_BUDGET);
  private subs: Subscription[] = [];
  private readonly party: string;

  constructor(private readonly o: GatewayOptions) {
    // Announcements, appends and reads are requests, not commands: the refusal says which it counts.
    this.limiter = o.rateLimit ? new RateLimiter(o.rateLimit, 'requests') : undefined;
    this.admission = o.rateLimit ? new CommandAdmission(o.rateLimit, () => o.clock.now()) : undefined;
    const readRate = o.readRate ?? { perSecond: 50, burst: 100 };
    this.readLimiter = new RateLimiter(readRate, 'requests');
    this.readAdmission = new CommandAdmission(readRate, () => o.clock.now());
    this.readEvents = new RateLimiter(o.readEventRate ?? DEFAULT_READ_EVENT_RATE);
    this.budget = o.partyBudget === 'off' ? undefined : (o.partyBudget ?? partyBudgetFromEnv());
    this.announceLimiter = new RateLimiter(o.announceRate ?? DEFAULT_ANNOUNCE_RATE, 'announcements');
    this.schemaCpu = new SchemaCpuMeter(o.schemaCpuBudget ?? DEFAULT_SCHEMA_CPU_BUDGET);
    this.schemas = new SchemaValidators(o.keptValidators);
    this.cpuNow = o.schemaClock ?? (() => performance.now());
    this.party = o.party ?? GATEWAY_PARTY;
    this.binding = { site: o.site, now: () => o.clock.now(), require: o.requireBoundCommands ?? false };
  }

  /** The endpoints to serve: on the bus (`start`), or as a NATS service's endpoints (discovery.ts). */
  endpoints(): GatewayEndpoint[] {
    const s = this.o.site;
    const maxInFlight = this.o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const perKey = this.o.maxInFlightPerKey ?? DEFAULT_MAX_IN_FLIGHT_PER_KEY;
    const wrap = (fn: (data: Uint8Array, hold: InFlightHold) => Promise<GatewayReply>) => {
      // Per endpoint: a flood of reads does not crowd out appends.
      let inFlight = 0;
      // Requests in progress by key (UNVERIFIED for the rest): only those in progress have an entry, so at most maxInFlight.
      const byHolder = new Map<string, number>();
      return async (data: Uint8Array) => {
        if (inFlight >= maxInFlight) return encode(refuse('unavailable', null, `the gateway is busy: ${maxInFlight} requests of this kind are in progress; try again shortly`));
        inFlight++;
        let held: string | undefined;
        const release = () => {
          if (held === undefined) return;
          const n = (byHolder.get(held) ?? 1) - 1;
          if (n > 0) byHolder.set(held, n);
          else byHolder.delete(held);
          held = undefined;
        };
        const hold: InFlightHold = (holder) => {
          if (held === holder) return undefined;
          release();
          const n = byHolder.get(holder) ?? 0;
          if (n >= perKey) {
            return refuse(
              'unavailable',
              null,
              holder === UNVERIFIED
                ? `the gateway is busy: ${perKey} requests of this kind from unsigned senders and key ids not known to be registered are in progress; try again shortly`
                : `the gateway is busy: key "${holder}" has ${perKey} requests of this kind in progress; try again shortly`,
            );
          }
          byHolder.set(holder, n + 1);
          held = holder;
          return undefined;
        };
        try {
          return encode(await fn(data, hold));
        } catch (err) {
          this.o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'gateway request failed');
          // Its text is for the operator: it may name the site's files (a missing key's path).
          return encode(refuse('unavailable', null, 'the site could not answer (its operator has the reason in the site\'s log); try again'));
        } finally {
          inFlight--;
          release();
        }
      };
    };
    const out: GatewayEndpoint[] = [
      { name: 'announce', subject: gatewaySubjects.announce(s), handle: wrap((d, h) => this.announce(d, h)) },
      { name: 'append', subject: gatewaySubjects.append(s), handle: wrap((d, h) => this.append(d, h)) },
      { name: 'read', subject: gatewaySubjects.read(s), handle: wrap((d, h) => this.read(d, h)) },
    ];
    for (const [name, q] of Object.entries(this.o.queries ?? {})) out.push({ name: `q-${name}`, subject: gatewaySubjects.query(s, name), handle: wrap((d, h) => this.query(q, d, h)) });
    return out;
  }

  /** Serve every endpoint on the bus (in a queue group, so several gateways share the work). */
  async start(): Promise<void> {
    for (const e of this.endpoints()) {
      this.subs.push(
        await this.o.bus.subscribe(
          e.subject,
          async (msg) => {
            if (msg.reply) await this.o.bus.respond(msg, await e.handle(msg.data));
          },
          { queue: 'caco-gateway' },
        ),
      );
    }
  }

  async stop(): Promise<void> {
    for (const s of this.subs) await s.unsubscribe();
    this.subs = [];
    await Promise.allSettled([...this.locks.values()]);
  }

  /**
   * Bounded JSON; a place among the requests in progress of the key it claims (of all unverified
   * senders, for a key id not known to be registered); admission of that key id before it is
   * looked up (as the command intake's); then the signature (as for commands), then the
   * sender's rate.
   */
  private async authenticate(data: Uint8Array, hold: InFlightHold): Promise<{ ok: true; body: Record<string, unknown>; principal: Principal } | { ok: false; error: GatewayError }> {
    const limits = this.o.limits ?? DEFAULT_COMMAND_LIMITS;
    const json = parseBoundedJson(data, limits);
    if (!json.ok) return this.unauthenticated() ?? refuse('bad-request', null, json.reason);
    if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) return this.unauthenticated() ?? refuse('bad-request', null, 'the request must be a JSON object');
    const body = json.value as Record<string, unknown>;
    const claimed = claimedKeyId(body);
    const placed = await this.place(body, claimed, hold);
    if ('error' in placed) return placed;
    let sharedTaken = false;
    if (claimed !== undefined && placed.standing !== undefined && this.admission) {
      const before: ReturnType<IntakeAdmission['beforeLookup']> = this.admission.beforeLookup(claimed, placed.standing);
      if (before.refused !== undefined) return rateLimited(before.refused);
      sharedTaken = before.sharedTaken;
    }
    const auth = await this.o.identity.authenticate(body);
    if (!auth.ok) {
      const limited = this.admission?.afterAuth(undefined, claimed, sharedTaken);
      if (limited) return rateLimited(limited);
      return refuse(auth.code, auth.code === 'unsigned' ? 'sig' : auth.code === 'source-mismatch' ? 'source' : 'keyId', auth.reason);
    }
    this.verifiedKeys.add(auth.principal.keyId);
    // Authenticated: from here on it holds its key's place (if it was among the unverified).
    const full = hold(auth.principal.keyId);
    if (full) return full;
    const limited = this.limited(auth.principal.keyId);
    if (limited) return limited;
    // The same binding as a command's: an append signed for one site is refused at another.
    const bound = checkCommandBinding(json.value as Record<string, unknown>, this.binding);
    if (!bound.ok) return refuse(bound.code, bound.path, bound.reason);
    if (auth.principal.role !== 'third-party') return refuse('forbidden', 'keyId', `key "${auth.principal.keyId}" has role "${auth.principal.role}": only third-party keys act through the gateway (the site's own agents append their own facts)`);
    return { ok: true, body: json.value as Record<string, unknown>, principal: auth.principal };
  }

  /** A request whose `type` is one of the site's commands: refused as `wrong-subject`, naming where commands go. */
  private commandHere(body: Record<string, unknown>): { ok: false; error: GatewayError } | undefined {
    const type = body['type'];
    if (typeof type !== 'string' || !isCommandType(this.o.registry, type)) return undefined;
    return refuse('wrong-subject', 'type', `"${type.slice(0, 128)}" is a command: send it as a command envelope on its own subject caco.${this.o.site}.cmd.<agent>.<name> (docs/external-agent.md), not through the gateway`);
  }

  /** A verified key's own rate (rateLimit). */
  private limited(keyId: string): { ok: false; error: GatewayError } | undefined {
    const d = this.limiter?.take(keyId, this.o.clock.now(), `key "${keyId}"`);
    return d && !d.ok ? refuse('rate-limited', null, d.reason, { retryAfterMs: d.retryAfterMs }) : undefined;
  }

  /** A request that names no key to check (not JSON, not an object): the shared bucket of unauthenticated senders. */
  private unauthenticated(): { ok: false; error: GatewayError } | undefined {
    const refused = this.admission?.unauthenticated();
    return refused ? rateLimited(refused) : undefined;
  }

  /**
   * The request's place among those in progress, and the standing of the key it claims
   * (undefined: unsigned). Key ids are public (every announcement on the ledger names one), so
   * a request takes its key's own places only once it is seen to be signed by that key: against
   * the key as last read (no I/O), before it is authenticated, or by authenticating it (which
   * moves it there). Any other request takes one of all unverified senders' places. So nothing
   * waits without a place, junk under any key ids holds at most `maxInFlightPerKey` of them
   * together, and junk under a real key's id cannot take that key's places.
   */
  private async place(body: Record<string, unknown>, claimed: string | undefined, hold: InFlightHold): Promise<{ readonly standing: KeyStanding | undefined } | { ok: false; error: GatewayError }> {
    if (claimed === undefined) return hold(UNVERIFIED) ?? { standing: undefined };
    const standing = (await this.o.identity.keyStanding?.(claimed)) ?? 'known';
    const registered = standing === 'registered' || standing === 'known' || this.verifiedKeys.has(claimed);
    // Told by the key as last read when one is held: junk under the id shares the unverified
    // places. With none held yet (a key this process has not looked up; or an identity that holds
    // no keys), a registered id has its places as before, until its first lookup is done.
    const signed = this.o.identity.signedByHeldKey?.(body);
    const busy = hold(registered && signed !== false ? claimed : UNVERIFIED);
    if (busy) return busy;
    return { standing };
  }

  private exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return next;
  }

  /**
   * The agent's declaration and facts, learnt from its stream on first use; with `refresh`, what
   * was added since (another gateway may have written) is learnt first: only the events after the
   * last one learnt are read.
   */
  private async record(name: string, refresh = false): Promise<AgentRecord> {
    const known = this.agents.get(name);
    if (known && !refresh) return known;
    const r = known ?? { declaration: null, facts: new FifoMap<string, StoredFact>(this.o.rememberedFacts ?? REMEMBERED_FACTS), announcements: new FifoMap<string, { position: number; announcedAt: string }>(REMEMBERED_ANNOUNCEMENTS), timeouts: new Map<string, number>(), compiled: new FifoSet<string>(COMPILED_REMEMBERED), nextRevision: 0, usage: this.budget ? ledgerUsage(this.budget) : undefined };
    for await (const e of this.o.store.readStream(extStreamOf(name), r.nextRevision)) this.learn(r, storedEnvelope(e));
    this.agents.set(name, r);
    return r;
  }

  private learn(r: AgentRecord, e: Envelope): void {
    if (e.revision < r.nextRevision) return;
    r.nextRevision = e.revision + 1;
    r.usage?.add(Date.parse(e.time) || 0, Buffer.byteLength(JSON.stringify(e)));
    if (isAnnouncement(e)) {
      const d = e.data;
      const before = r.declaration;
      r.declaration = { keyId: d.keyId, version: d.version, publishes: new Set(d.publishes), schemas: d.schemas, announcedEventId: e.id, announcedAt: d.announcedAt, position: e.position };
      r.announcements.set(e.id, { position: e.position, announcedAt: d.announcedAt });
      // A schema switched off stays off when announced again unchanged (which the announce rate does not count).
      for (const type of [...r.timeouts.keys()]) {
        const was = before?.schemas[type];
        const now = d.schemas[type];
        if (was === undefined || now === undefined || schemaKey(was) !== schemaKey(now)) r.timeouts.delete(type);
      }
      return;
    }
    r.facts.set(e.correlationId, { position: e.position, revision: e.revision, fingerprint: fingerprintOf(e.type, e.version, e.data) });
  }

  /** Learn what this gateway just appended: directly when it follows what was learnt, else by reading up to it. */
  private async learnAppended(r: AgentRecord, name: string, e: Envelope): Promise<void> {
    if (e.revision === r.nextRevision) this.learn(r, e);
    else if (e.revision > r.nextRevision) await this.record(name, true);
  }

  /** Refused when one more event of about `bytes` would take the party past its budget. */
  private overBudget(r: AgentRecord, name: string, event: NewEvent): { ok: false; error: GatewayError } | undefined {
    if (!r.usage || !this.budget) return undefined;
    const bytes = Buffer.byteLength(JSON.stringify(event)) + SEAL_BYTES;
    const c = r.usage.check(this.o.clock.now(), bytes);
    if (c.ok) return undefined;
    // A window under an hour (a test's) read "0 h".
    const window = windowText(this.budget.windowMs ?? 86_400_000);
    return refuse(
      'rate-limited',
      null,
      `ledger budget: "${name}" has added ${c.used.count} events (${c.used.bytes} bytes) to the ledger through the gateway in the last ${window}; a party may add ${this.budget.events} events or ${this.budget.bytes} bytes in ${window} (${PARTY_BUDGET_ENV}); retry in ${c.retryAfterMs} ms`,
      { retryAfterMs: c.retryAfterMs },
    );
  }

  private async append1(stream: string, event: NewEvent): Promise<{ event: Envelope; sealedHere: boolean | undefined }> {
    const r = await this.o.store.append(stream, [event], 'any');
    return { event: r.events[0]!, sealedHere: r.sealedHere };
  }

  async announce(data: Uint8Array, hold: InFlightHold = NO_HOLD): Promise<GatewayReply<AnnounceReply>> {
    const a = await this.authenticate(data, hold);
    if (!a.ok) return a;
    const body = a.body;
    const command = this.commandHere(body);
    if (command) return command;
    if ('type' in body && 'data' in body && !('publishes' in body)) return refuse('wrong-subject', null, `this is an append (it has "type" and "data"): send it on ${gatewaySubjects.append(this.o.site)}`);
    const req = decodeWith(AnnounceRequest, body);
    if (!req.ok) return refuse('bad-request', firstField(req.problems), `not an announcement: ${req.problems[0]!.path || 'request'}: ${req.problems[0]!.reason}`, { problems: req.problems.slice(0, 20) });
    const ann = { ...req.value, version: String(req.value.version), consumes: req.value.consumes ?? [], schemas: req.value.schemas ?? {} };
    if (ann.name !== ann.source) return refuse('source-mismatch', 'name', `name "${ann.name}" must equal source "${ann.source}" (the key's party)`);
    // The gateway appends an agent's facts with its name as `source`; the audit takes a source
    // among the site's signers for the site's own, so an outside agent never signs as one.
    if (isSiteSigner(ann.name) || ann.name === this.party || this.o.reservedNames?.includes(ann.name)) return refuse('forbidden', 'name', `"${ann.name}" is one of the site's own parties; an outside agent takes a name of its own`);
    // What it publishes: its own ext.<name>.* types with a schema each, or the site's outside-fact types.
    // Only sizes here: a schema is compiled once the party may spend the time (below).
    const total = { bytes: 0, keys: 0 };
    for (const [i, type] of ann.publishes.entries()) {
      if (type.startsWith(EXT_TYPE_PREFIX)) {
        const foreign = foreignExtType(ann.name, type, `publishes[${i}]`);
        if (foreign) return refuse('not-declared', `publishes[${i}]`, foreign);
        const schema = ann.schemas[type];
        if (!schema) return refuse('schema', `schemas.${type}`, `publishes[${i}] "${type}" is the agent's own type: give its JSON Schema (draft 2020-12) in schemas["${type}"]`);
        const size = schemaSize(schema);
        const over = overSchemaLimits(size);
        if (over) return refuse('schema', `schemas.${type}`, `the JSON Schema of "${type}" is too large: ${over} (docs/external-agent.md §4)`);
        total.bytes += size.bytes;
        total.keys += size.keys;
      } else if (!type.startsWith(OUTSIDE_FACT_PREFIX) || !this.o.registry.has(type)) {
        return refuse('not-declared', `publishes[${i}]`, `"${type}" is neither the agent's own type (ext.${ann.name}.…) nor one of the site's outside-fact types (${this.outsideFactTypes().join(', ') || 'none registered'})`);
      }
    }
    if (total.bytes > ANNOUNCEMENT_SCHEMA_LIMITS.bytes || total.keys > ANNOUNCEMENT_SCHEMA_LIMITS.keys) {
      return refuse('schema', 'schemas', `the announcement's schemas are too large together: ${total.bytes} bytes and ${total.keys} keywords and property names; one announcement's schemas may be at most ${ANNOUNCEMENT_SCHEMA_LIMITS.bytes} bytes and ${ANNOUNCEMENT_SCHEMA_LIMITS.keys} keywords and property names together (docs/external-agent.md §4)`);
    }
    for (const type of Object.keys(ann.schemas)) if (!ann.publishes.includes(type)) return refuse('bad-request', `schemas.${type}`, `a schema for "${type}", which publishes does not list`);
    // Only the agent's own types take a schema from it. One given for a site type (as the Go
    // example sends the site's own, from schemas/json) is not recorded: it passed no size limit
    // and was stored whole (62 KB of 1,200 properties, which nothing reads; a helper's review),
    // and the site checks those types with its own schema.
    const ownSchemas: Record<string, unknown> = Object.fromEntries(Object.entries(ann.schemas).filter(([type]) => type.startsWith(EXT_TYPE_PREFIX)));
    // From the signed request as sent (its signature included), not from what the site adds
    // (the time it was announced): the same signed bytes are the same announcement.
    const id = eventIdFor(extStreamOf(ann.name), `announce-request:${canonicalJson(body)}`);
    return this.exclusive(ann.name, async () => {
      const r = await this.record(ann.name, true);
      const before = r.declaration;
      const recorded = r.announcements.get(id);
      if (recorded) {
        // The current declaration sent again (an agent retrying): answered as stored. An older
        // one, replaced since (a replay, or an agent going back to it with the same bytes):
        // refused, so no one holding an old signed announcement can bring it back.
        if (before?.announcedEventId === id) return { ok: true, stream: extStreamOf(ann.name), announcedAt: recorded.announcedAt, position: recorded.position, duplicate: true };
        return refuse(
          'conflict',
          'sig',
          `this signed announcement was recorded before (position ${recorded.position}) and has been replaced since (position ${before?.position ?? '?'}); a signed announcement is recorded once: to announce it again, sign a new request (give it "expiresAt", so no two are the same bytes)`,
        );
      }
      if (before && before.keyId !== a.principal.keyId && !(await this.revoked(before.keyId))) {
        return refuse('source-mismatch', 'keyId', `agent "${ann.name}" announced itself with key "${before.keyId}"; key "${a.principal.keyId}" may not announce under its name (to change keys, have the site revoke the old one, then announce with the new one)`);
      }
      // Its own rate: each announcement may make the site compile schemas. One identical to the
      // party's current one (same key, types and schemas: an agent restarting) compiles nothing
      // new, and is not counted.
      if (!(before && before.keyId === a.principal.keyId && sameTypesAndSchemas(before, ann.publishes, ownSchemas))) {
        const rate = this.announceLimiter.take(ann.name, this.o.clock.now());
        if (!rate.ok) {
          const { perSecond, burst } = this.announceLimiter.limit;
          return refuse('rate-limited', null, `announce rate: "${ann.name}" may announce ${+(perSecond * 60).toFixed(2)} times a minute (burst ${burst}) (an announcement of the same types and schemas as the current one is not counted); retry in ${rate.retryAfterMs} ms`, { retryAfterMs: rate.retryAfterMs });
        }
      }
      const announcedAt = new Date(this.o.clock.now()).toISOString();
      const payload = { name: ann.name, version: ann.version, description: ann.description ?? null, keyId: a.principal.keyId, stream: extStreamOf(ann.name), publishes: [...ann.publishes], consumes: [...ann.consumes], schemas: ownSchemas, announcedAt };
      const checked = this.o.registry.decode(AgentAnnounced.type, AgentAnnounced.version, payload);
      if (!checked.ok) return refuse('bad-request', firstField(checked.problems), `announcement refused: ${checked.problems[0]!.path}: ${checked.problems[0]!.reason}`);
      const announcement: NewEvent = { id, type: AgentAnnounced.type, version: AgentAnnounced.version, time: announcedAt, source: this.party, correlationId: id, causationId: null, data: payload };
      // The ledger budget and the time budget before any compiling: a party past either costs nothing more.
      const over = this.overBudget(r, ann.name, announcement);
      if (over) return over;
      for (const type of ann.publishes) {
        if (!type.startsWith(EXT_TYPE_PREFIX)) continue;
        const busy = this.schemaCpuSpent(ann.name);
        if (busy) return busy;
        const compiled = this.compileFor(r, ann.name, ownSchemas[type]);
        if (!compiled.ok) return refuse('schema', `schemas.${type}`, `the JSON Schema of "${type}" does not compile: ${compiled.reason}`);
        if (isAsync(compiled.validate)) return refuse('schema', `schemas.${type}`, `the JSON Schema of "${type}" is asynchronous ("$async"): the site checks facts synchronously; announce it without "$async"`);
      }
      const { event } = await this.append1(extStreamOf(ann.name), announcement);
      await this.learnAppended(r, ann.name, event);
      this.o.log.info({ agent: ann.name, keyId: a.principal.keyId, publishes: ann.publishes }, 'outside agent announced');
      return { ok: true, stream: extStreamOf(ann.name), announcedAt, position: event.position };
    });
  }

  /** Refused when `party` has used its schema time (schemaCpuBudget) and not yet paid it back. */
  private schemaCpuSpent(party: string): { ok: false; error: GatewayError } | undefined {
    const c = this.schemaCpu.check(party, this.o.clock.now());
    if (c.ok) return undefined;
    const { ms, windowMs } = this.schemaCpu.budget;
    return refuse(
      'rate-limited',
      null,
      `schema time: compiling and checking against "${party}"'s announced schemas has taken ${Math.ceil(c.owedMs)} ms more than its budget of ${ms} ms per ${Math.round(windowMs / 1000)} s of the site's event loop; simplify the schemas (a "pattern" that backtracks?); retry in ${c.retryAfterMs} ms`,
      { retryAfterMs: c.retryAfterMs },
    );
  }

  /**
   * The validator of `schema` for `party`, its time charged to the party's schema time, except
   * compiling again one the party was charged for before and that has been evicted since (the
   * validators kept are shared by every party, so others' schemas evict it as much as its own):
   * that is the site's, while REFILL_CPU_BUDGET lasts, and the party's again past it.
   */
  private compileFor(r: AgentRecord, party: string, schema: unknown): Compiled {
    const key = schemaKey(schema);
    const held = this.schemas.holds(schema);
    // Kept: nothing is compiled, and finding it is the site's work, as the watchdog is (CHECK_OVERHEAD_MS).
    if (held && r.compiled.has(key)) return this.schemas.compile(schema);
    // Compiled for this party before, and not kept since (other parties' schemas evict it too).
    const again = r.compiled.has(key);
    const t0 = this.cpuNow();
    let compiled: Compiled | undefined;
    try {
      compiled = this.schemas.compile(schema);
      return compiled;
    } finally {
      const ms = this.cpuNow() - t0;
      const now = this.o.clock.now();
      if (again && this.refillCpu.check(REFILLS, now).ok) this.refillCpu.charge(REFILLS, ms, now);
      else this.schemaCpu.charge(party, ms, now);
      if (compiled?.ok) r.compiled.add(key);
    }
  }

  /** Whether the key an agent announced with has been revoked since (so a new key may take the name over). */
  private async revoked(keyId: string): Promise<boolean> {
    if (!this.o.lookupKey) return false;
    const found = await this.o.lookupKey(keyId);
    return found.found && found.entry.status === 'revoked';
  }

  private outsideFactTypes(): string[] {
    return [...new Set(this.o.registry.all().filter((d) => d.kind === 'event' && d.type.startsWith(OUTSIDE_FACT_PREFIX)).map((d) => d.type))];
  }

  async append(data: Uint8Array, hold: InFlightHold = NO_HOLD): Promise<GatewayReply<AppendReply>> {
    const a = await this.authenticate(data, hold);
    if (!a.ok) return a;
    const body = a.body;
    if ('publishes' in body) return refuse('wrong-subject', null, `this is an announcement: send it on ${gatewaySubjects.announce(this.o.site)}`);
    // Before the append's shape: a command envelope (its `time`, `correlationId`, …) is not a
    // malformed append but a message for another subject.
    const command = this.commandHere(body);
    if (command) return command;
    const req = decodeWith(AppendRequest, body);
    if (!req.ok) return refuse('bad-request', firstField(req.problems), `not an append: ${req.problems[0]!.path || 'request'}: ${req.problems[0]!.reason}`, { problems: req.problems.slice(0, 20) });
    const f = req.value;
    const name = a.principal.party;
    return this.exclusive(name, async () => {
      let r = await this.record(name);
      if (!r.declaration || r.declaration.keyId !== a.principal.keyId) r = await this.record(name, true);
      const decl = r.declaration;
      if (!decl) return refuse('not-announced', 'source', `"${name}" has not announced itself: send an announcement on ${gatewaySubjects.announce(this.o.site)} first`);
      if (decl.keyId !== a.principal.keyId) return refuse('source-mismatch', 'keyId', `agent "${name}" announced itself with key "${decl.keyId}", not "${a.principal.keyId}"`);
      // Also for a declaration recorded before types had to carry the party's name: its other
      // parties' ext.* types are not appended now.
      const foreign = f.type.startsWith(EXT_TYPE_PREFIX) ? foreignExtType(name, f.type, 'type') : undefined;
      if (foreign) return refuse('not-declared', 'type', foreign);
      if (!decl.publishes.has(f.type)) return refuse('not-declared', 'type', `"${f.type}" is not among the types "${name}" announced it publishes (${[...decl.publishes].join(', ') || 'none'}); announce again to add it`);
      const stream = extStreamOf(name);
      const fingerprint = fingerprintOf(f.type, f.version, f.data);
      const eventId = eventIdFor(stream, f.id);
      const conflict = (position: number) => refuse('conflict', 'id', `id "${f.id}" was used for a different fact (at position ${position}): a re-send must be identical; use a new id for a new fact`);
      // A re-send is recognised before any schema check: it adds nothing, so it costs no schema
      // time, and an agent retrying after a lost reply gets its answer even while its schema
      // time is spent or its schema switched off.
      const seen = r.facts.get(f.id);
      if (seen) {
        if (seen.fingerprint !== fingerprint) return conflict(seen.position);
        return { ok: true, id: f.id, eventId, stream, position: seen.position, revision: seen.revision, duplicate: true };
      }
      const refused = this.validate(r, name, decl, f.type, f.version, f.data);
      if (refused) return refused;
      const fact: NewEvent = { id: eventId, type: f.type, version: f.version, time: new Date(this.o.clock.now()).toISOString(), source: name, correlationId: f.id, causationId: decl.announcedEventId, data: f.data };
      const over = this.overBudget(r, name, fact);
      if (over) return over;
      const { event, sealedHere } = await this.append1(stream, fact);
      // A retry's answer, read back from storage (an id older than those remembered): the stored fact decides.
      if (sealedHere !== true) {
        const stored = storedEnvelope(event);
        if (fingerprintOf(stored.type, stored.version, stored.data) !== fingerprint) return conflict(stored.position);
        return { ok: true, id: f.id, eventId, stream, position: stored.position, revision: stored.revision, duplicate: true };
      }
      await this.learnAppended(r, name, event);
      return { ok: true, id: f.id, eventId, stream, position: event.position, revision: event.revision, duplicate: false };
    });
  }

  /**
   * Problems of `data` against the site's schema (site-owned types) or the announced one (ext.*);
   * undefined when valid. The announced schema's time (compiling it if it is not kept, checking
   * the fact) is charged to the party; past its budget the fact is refused `rate-limited`.
   */
  private validate(r: AgentRecord, name: string, decl: Declaration, type: string, version: number, data: unknown): { ok: false; error: GatewayError } | undefined {
    const problem = (reason: string) => refuse('schema', 'data', reason, { problems: [{ path: 'data', reason }] });
    if (!type.startsWith(EXT_TYPE_PREFIX)) {
      const d = this.o.registry.decode(type, version, data);
      return d.ok ? undefined : schemaRefusal(type, version, d.problems);
    }
    if (version !== 1) return schemaRefusal(type, version, [{ path: 'version', reason: `an ext.* type has the version 1 its announcement describes; announce a new type for a new shape` }]);
    const timeouts = r.timeouts.get(type) ?? 0;
    if (timeouts >= TIMEOUTS_BEFORE_OFF) {
      return problem(`the announced schema of ${type} is switched off: checking ${timeouts} facts against it took longer than ${VALIDATE_BUDGET_MS} ms each or could not finish (a "pattern" that backtracks without end, a "$ref" to itself?); its facts are refused until "${name}" announces again, with another, simpler schema for it`);
    }
    const schema = decl.schemas[type];
    // Announced before schemas were bounded: too large to compile now.
    const over = overSchemaLimits(schemaSize(schema));
    if (over) return problem(`the announced schema of ${type} is too large (${over}); announce it again within the limits (docs/external-agent.md §4)`);
    const busy = this.schemaCpuSpent(name);
    if (busy) return busy;
    const compiled = this.compileFor(r, name, schema);
    if (!compiled.ok) return problem(`the announced schema of ${type} does not compile (${compiled.reason}); announce it again`);
    const v = compiled.validate;
    // An asynchronous validator (announced before they were refused) answers a promise, which
    // is neither a verdict nor safe to drop: it rejects when the data is invalid.
    if (isAsync(v)) return problem(`the announced schema of ${type} is asynchronous ("$async"), which the site does not run; announce it again without "$async"`);
    const t0 = this.cpuNow();
    let valid: boolean | 'timeout';
    let threw: string | undefined;
    try {
      valid = withinTimeLimit(() => v(data), VALIDATE_BUDGET_MS) as boolean | 'timeout';
    } catch (err) {
      // A schema that refers to itself ({"$ref": "#"}) recurses until the stack runs out: that
      // time is the party's too, and such a schema fails every fact, so it counts as a timeout.
      valid = false;
      threw = err instanceof RangeError ? 'it recursed without end (a "$ref" to itself?)' : `it failed: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`;
    }
    // A check that ran out of time is charged at least the whole limit, however the clock read;
    // any other, its time less the watchdog's own (CHECK_OVERHEAD_MS).
    this.schemaCpu.charge(name, valid === 'timeout' ? Math.max(this.cpuNow() - t0, VALIDATE_BUDGET_MS) : this.cpuNow() - t0 - CHECK_OVERHEAD_MS, this.o.clock.now());
    if (valid === 'timeout' || threw !== undefined) {
      r.timeouts.set(type, timeouts + 1);
      const left = TIMEOUTS_BEFORE_OFF - timeouts - 1;
      const what = threw !== undefined ? `checking this fact against the announced schema of ${type} could not finish: ${threw}` : `validation took longer than ${VALIDATE_BUDGET_MS} ms against the announced schema (a "pattern" that backtracks without end?)`;
      return problem(
        `${what}; announce a simpler schema. ${left > 0 ? `After ${left} more such check${left === 1 ? '' : 's'} the schema is switched off` : 'The schema is now switched off'} until "${name}" announces again, with another schema for it`,
      );
    }
    if (valid) return undefined;
    return schemaRefusal(
      type,
      version,
      (v.errors ?? []).map((e) => ({ path: `data${e.instancePath.replace(/\//g, '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]')}`, reason: e.message ?? 'invalid' })),
    );
  }

  async read(data: Uint8Array, hold: InFlightHold = NO_HOLD): Promise<GatewayReply<{ events: Envelope[]; nextPosition: number; headPosition: number }>> {
    const json = parseBoundedJson(data, this.o.limits ?? DEFAULT_COMMAND_LIMITS);
    if (!json.ok) return refuse('bad-request', null, json.reason);
    const reader = await this.reader(json.value, hold);
    if (typeof reader !== 'string') return reader;
    const who = reader;
    const limited = this.readLimited(who);
    if (limited) return limited;
    const stripped = stripSignature(json.value);
    const req = decodeWith(ReadRequest, stripped);
    if (!req.ok) return refuse('bad-request', firstField(req.problems), `not a read: ${req.problems[0]!.path || 'request'}: ${req.problems[0]!.reason}`, { problems: req.problems.slice(0, 20) });
    // Events, not requests: a read costs what it reads and verifies, and does no more than its bucket holds.
    const now = this.o.clock.now();
    const allowance = this.readEvents.available(who, now);
    if (allowance < 1) {
      const retryAfterMs = this.readEvents.retryAfterMs(who, now);
      const { perSecond, burst } = this.readEvents.limit;
      return refuse('rate-limited', null, `rate limit: ${who} may have ${perSecond} events a second read (burst ${burst}); retry in ${retryAfterMs} ms`, { retryAfterMs });
    }
    const limit = Math.min(req.value.limit ?? MAX_READ, MAX_READ);
    const wanted = req.value.types ? typeFilter(req.value.types) : undefined;
    const events: Envelope[] = [];
    let next = req.value.fromPosition;
    let bytes = 0;
    const meter = new ReadMeter(Math.min(allowance, READ_WORK_LIMIT), req.value.fromPosition);
    // Whether the page ended with the read (the end of the log, or the budget), not at a limit of its own.
    let readToEnd = true;
    try {
      for await (const e of readMetered(this.o.store, req.value.fromPosition, meter)) {
        if (!wanted || wanted(e.type)) {
          // As stored (not upgraded to a later version): the reader can check its hash and signature.
          const stored = storedEnvelope(e);
          // One NATS message holds the reply: past the budget the page ends, and the reader continues from it.
          const size = Buffer.byteLength(JSON.stringify(stored));
          if (events.length > 0 && bytes + size > MAX_READ_BYTES) {
            readToEnd = false;
            break;
          }
          bytes += size;
          events.push(stored);
        }
        next = e.position;
        if (events.length >= limit) {
          readToEnd = false;
          break;
        }
      }
    } finally {
      this.readEvents.spend(who, Math.max(1, meter.spent), now);
    }
    // Events read past the last one handed on were all decided (refused, or not of the types asked
    // for): the reader continues after them. Nothing beyond what was read is skipped.
    if (readToEnd) next = Math.max(next, meter.settled);
    const head = await this.o.store.headPosition();
    return { ok: true, events, nextPosition: next, headPosition: head };
  }

  /**
   * Reads and queries need no signature, so they are bucketed by what can be checked: a signed
   * one by its verified key, every other one in one bucket for all unsigned readers. (Bucketed
   * by the `source` a reader claims, a new name per request escaped the limit, and a reader
   * naming another could spend that one's allowance.) A signed one under a key id not known to
   * be registered is looked up only as readAdmission allows: past it, it is read as unsigned,
   * without a read of the registry. Its place among the requests in progress is its key's once
   * verified, else that of all unverified readers; a refusal when that is full.
   */
  private async reader(body: unknown, hold: InFlightHold): Promise<string | { ok: false; error: GatewayError }> {
    const unsigned = () => hold(UNVERIFIED) ?? 'unsigned readers';
    const object = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    // The binding's form first, signed or not, as an append's: `Date.parse` alone would read a
    // time without `Z` in the host's time zone (a helper's review).
    if (object && (object['site'] !== undefined || object['expiresAt'] !== undefined)) {
      const form = decodeWith(RequestBinding, { site: object['site'], expiresAt: object['expiresAt'] });
      if (!form.ok) return refuse('bad-request', firstField(form.problems), `${form.problems[0]!.path}: ${form.problems[0]!.reason}`, { problems: form.problems.slice(0, 20) });
    }
    const claimed = object ? claimedKeyId(object) : undefined;
    const placed = await this.place(object ?? {}, claimed, hold);
    if ('error' in placed) return placed;
    if (claimed === undefined || placed.standing === undefined) return 'unsigned readers';
    const before: ReturnType<IntakeAdmission['beforeLookup']> = this.readAdmission.beforeLookup(claimed, placed.standing);
    if (before.refused !== undefined) return unsigned();
    const auth = await this.o.identity.authenticate(body);
    if (auth.ok) {
      this.verifiedKeys.add(auth.principal.keyId);
      const full = hold(auth.principal.keyId);
      if (full) return full;
      // What a signed read carries of a command's binding is checked as a command's, so a
      // captured one is good at one site and until it expires (it spends its signer's allowance).
      // Not required: a read changes nothing, and readers that sign without it keep working.
      const bound = checkCommandBinding(object ?? {}, { ...this.binding, require: false });
      if (!bound.ok) return refuse(bound.code, bound.path, bound.reason);
      return `key "${auth.principal.keyId}"`;
    }
    // Its bucket of failures (and, if it was not charged for a lookup, the shared one) pays; the read counts as unsigned.
    this.readAdmission.afterAuth(undefined, claimed, before.sharedTaken);
    return unsigned();
  }

  private readLimited(who: string): { ok: false; error: GatewayError } | undefined {
    const d = this.readLimiter.take(who, this.o.clock.now(), who);
    return d.ok ? undefined : refuse('rate-limited', null, d.reason, { retryAfterMs: d.retryAfterMs });
  }

  async query(q: GatewayQuery, data: Uint8Array, hold: InFlightHold = NO_HOLD): Promise<GatewayReply> {
    const json = parseBoundedJson(data.byteLength === 0 ? Buffer.from('{}') : data, this.o.limits ?? DEFAULT_COMMAND_LIMITS);
    if (!json.ok) return refuse('bad-request', null, json.reason);
    const reader = await this.reader(json.value, hold);
    if (typeof reader !== 'string') return reader;
    const limited = this.readLimited(reader);
    if (limited) return limited;
    const req = decodeWith(q.request, stripSignature(json.value));
    if (!req.ok) return refuse('bad-request', firstField(req.problems), `${req.problems[0]!.path || 'request'}: ${req.problems[0]!.reason}`, { problems: req.problems.slice(0, 20) });
    return { ok: true, ...(await q.answer(req.value)) };
  }
}

/**
 * Longest one fact may take to check against an announced schema. The schema is the outside
 * agent's own: a `pattern` like `^(a+)+$` backtracks for minutes on 40 characters, and the
 * check runs on the event loop the site's agents, relay and gateway share. The time is also
 * charged to the party (schemaCpuBudget), and a schema whose checks run out of time
 * TIMEOUTS_BEFORE_OFF times is switched off until announced again.
 */
const VALIDATE_BUDGET_MS = 200;

/**
 * Of each check's time, what the watchdog that bounds it costs whatever the schema (a `vm`
 * timeout: 0.07 ms a call idle, about 0.6 ms on a loaded 2-core machine, against 0.002 ms for
 * checking against `{}` itself): the site's, not charged to the party. Charged in full, it
 * refused a party that had announced `{}` for schema time after ~1,700 facts a minute, telling
 * it to simplify a schema that was already empty (a helper's review). The command rate bounds
 * how often a party gets it.
 */
const CHECK_OVERHEAD_MS = 0.75;

/** A fact that fails its schema: `schema`, naming the first problem's field and listing them all. */
function schemaRefusal(type: string, version: number, problems: ReadonlyArray<SchemaProblem>): { ok: false; error: GatewayError } {
  return refuse('schema', firstField(problems), `data fails the ${type} v${version} schema: ${problems[0]!.path}: ${problems[0]!.reason}`, { problems: problems.slice(0, 20) });
}

/** The key id a request is signed under (both `keyId` and `sig` given, as authentication asks), or undefined. */
function claimedKeyId(body: Record<string, unknown>): string | undefined {
  const keyId = body['keyId'];
  const sig = body['sig'];
  return typeof keyId === 'string' && keyId !== '' && typeof sig === 'string' && sig !== '' ? keyId : undefined;
}

/** A refusal of CommandAdmission's, with its wait. */
function rateLimited(r: AdmissionRefusal): { ok: false; error: GatewayError } {
  return refuse('rate-limited', null, r.reason, { retryAfterMs: r.retryAfterMs });
}

/**
 * Whether an announcement of `publishes` and `schemas` declares what `before` does: the same
 * types (in any order) and, for each, the same schema as the validators know it (schemaKey: its
 * canonical JSON without `$id`), so announcing it compiles nothing new.
 */
function sameTypesAndSchemas(before: Declaration, publishes: ReadonlyArray<string>, schemas: Readonly<Record<string, unknown>>): boolean {
  const types = new Set(publishes);
  if (types.size !== before.publishes.size || [...types].some((t) => !before.publishes.has(t))) return false;
  const named = Object.keys(schemas);
  if (named.length !== Object.keys(before.schemas).length) return false;
  return named.every((t) => Object.hasOwn(before.schemas, t) && schemaKey(before.schemas[t]) === schemaKey(schemas[t]));
}

/** A read's or query's parameters: without what signs it and binds it (reads and queries need not be signed; `reader` checks both). */
function stripSignature(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const { source: _s, keyId: _k, sig: _g, site: _site, expiresAt: _e, ...rest } = v as Record<string, unknown>;
  return rest;
}

/** Whether ajv compiled an asynchronous validator (`$async: true`), whose answer is a promise. */
function isAsync(v: ValidateFunction): boolean {
  return (v as { $async?: unknown }).$async === true;
}

/** What a re-send must match: SHA-256 (base64) of the canonical JSON of type, version and data. */
function fingerprintOf(type: string, version: number, data: unknown): string {
  return createHash('sha256').update(canonicalJson({ type, version, data })).digest('base64');
}
