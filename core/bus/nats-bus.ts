import { connect, type Msg, type MsgHdrs, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { shedsMessage, type Bus, type BusMessage, type Headers, type MessageHandler, type PublishOptions, type RequestOptions, type SubscribeOptions, type Subscription } from './bus.ts';
import { receivedHeaders, wireHeaders } from './wire-headers.ts';
import { aimsAtOwnRequest, ownRequestInbox } from './own-requests.ts';
import { assertPattern, assertPublishSubject, isReplySubject } from './subject.ts';
import { CacoError, NoRespondersError, TimeoutError } from '../errors/errors.ts';
import { loadNatsCredentials, type NatsCredentials } from '../nats-auth/credentials.ts';
import { redactNatsServers } from '../config/redact.ts';

/** A publish the bus could not take: the connection is closed or draining, or the message is too large. */
export class BusPublishError extends CacoError {
  override readonly _tag = 'BusPublishError';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** NATS could not be reached at start-up; the message names the URL and what to do. */
export class NatsUnavailableError extends CacoError {
  override readonly _tag = 'NatsUnavailableError';
  constructor(readonly servers: string, cause: unknown, credentials?: string) {
    super(
      isAuthFailure(cause)
        ? `NATS at ${redactNatsServers(servers)} refused ${credentials ? `the credentials in ${credentials}` : 'an anonymous connection'} (${cause instanceof Error ? cause.message : String(cause)}) — ${credentials ? 'is this user in the server\'s accounts.conf (caco nats creds)?' : 'give --creds <file> or NATS_CREDS'}`
        : `cannot connect to NATS at ${redactNatsServers(servers)}: ${cause instanceof Error ? cause.message : String(cause)} — is nats-server running (nats-server -js)? set NATS_URL to its address`,
      { cause },
    );
  }
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AuthorizationError' || /authoriz|authentic/i.test(err.message));
}

export interface NatsConnectOptions {
  /** One URL or several (`nats://127.0.0.1:4222`); defaults to NATS_URL, then 127.0.0.1:4222. */
  readonly servers?: string | ReadonlyArray<string>;
  /** Shown in the server's connection list (`caco-compute`). */
  readonly name?: string;
  /** How long the first connection may take before failing (ms, default 2000). */
  readonly timeoutMs?: number;
  /** Who to connect as: a credentials file (path) or loaded credentials; default the file at NATS_CREDS, else anonymous. */
  readonly credentials?: string | NatsCredentials;
}

export function defaultNatsServers(): string {
  return process.env['NATS_URL'] || '127.0.0.1:4222';
}

/**
 * Connect once, failing fast when nobody listens, then reconnect for ever: a running agent
 * must survive a server restart, but a mistyped URL at start-up must not hang.
 */
export async function connectNats(opts: NatsConnectOptions = {}): Promise<NatsConnection> {
  const servers = opts.servers ?? defaultNatsServers();
  const list = typeof servers === 'string' ? servers.split(',').map((s) => s.trim()).filter(Boolean) : [...servers];
  const credsOpt = opts.credentials ?? (process.env['NATS_CREDS'] || undefined);
  const creds = typeof credsOpt === 'string' ? loadNatsCredentials(credsOpt) : credsOpt;
  try {
    return await connect({
      servers: list,
      ...(creds ? { authenticator: creds.authenticator, ...(creds.inboxPrefix ? { inboxPrefix: creds.inboxPrefix } : {}) } : {}),
      name: opts.name ?? 'caco',
      timeout: opts.timeoutMs ?? 2000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 10_000,
      // An Error with a stack per request costs ~10% of a JetStream publish; our errors name
      // the subject instead. CACO_NATS_TRACES=1 keeps them, to find which call timed out.
      noAsyncTraces: process.env['CACO_NATS_TRACES'] !== '1',
    });
  } catch (err) {
    throw new NatsUnavailableError(list.join(','), err, creds?.source);
  }
}

export interface NatsBusOptions {
  /** Called when a handler throws or rejects; the default writes to stderr. */
  readonly onHandlerError?: (err: unknown, msg: BusMessage) => void;
}

/** The Bus on a NATS connection: core NATS subjects, queue groups and request/reply. */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  private readonly subs = new Set<NatsSubscription>();
  private closed = false;
  /** Publishes of this turn, not yet handed to nats.js (see publish). */
  private outbox: Array<{ readonly subject: string; readonly data: Uint8Array; readonly headers: MsgHdrs | undefined }> = [];
  /** Why a publish taken earlier could not be handed over; thrown to the next publisher. */
  private unsent: Error | undefined;

  /**
   * @param nc    the connection to use
   * @param owned when true, `close()` drains and closes the connection too
   */
  constructor(
    readonly nc: NatsConnection,
    private readonly owned = false,
    private readonly opts: NatsBusOptions = {},
  ) {}

  static async connect(opts: NatsConnectOptions & NatsBusOptions = {}): Promise<NatsBus> {
    return new NatsBus(await connectNats(opts), true, opts);
  }

  /**
   * Publishes are handed to nats.js at the end of the turn of the event loop, all together:
   * nats.js writes its buffer to the socket one microtask after the first publish, so a relay
   * publishing event after event (each after an `await`) would pay a socket write per event
   * here and a read on the server (measured: one write per event; ~30 % of the JetStream
   * end-to-end rate). Order is kept: every other send of this bus (request, respond,
   * subscribe, flush, close) hands the waiting publishes over first. What nats.js would
   * refuse at once (a closed or draining connection, a message over the server's
   * max_payload) is refused here at once, to the caller.
   */
  async publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    assertPublishSubject(subject);
    this.assertCanPublish(subject, data, opts?.headers);
    if (this.outbox.push({ subject, data, headers: opts?.headers ? wireHeaders(opts.headers) : undefined }) === 1) setImmediate(this.sendOutbox);
  }

  /** A publish taken earlier that could not be handed over is told once, to the next caller. */
  private throwUnsent(): void {
    const err = this.unsent;
    if (!err) return;
    this.unsent = undefined;
    throw new BusPublishError(`an earlier publish on this bus could not be sent: ${err.message}`, err);
  }

  private assertCanPublish(subject: string, data: Uint8Array, headers: Headers | undefined): void {
    this.throwUnsent();
    if (this.nc.isClosed()) throw new BusPublishError(`cannot publish on "${subject}": the NATS connection is closed`);
    if (this.nc.isDraining()) throw new BusPublishError(`cannot publish on "${subject}": the NATS connection is draining`);
    const max = this.nc.info?.max_payload;
    if (max !== undefined && data.byteLength + (headers ? headerBytes(headers) : 0) > max) {
      throw new BusPublishError(`cannot publish on "${subject}": ${data.byteLength} bytes${headers ? ' and headers' : ''} exceed the server's max_payload of ${max}`);
    }
  }

  /** Hand the waiting publishes to nats.js, in order. */
  private readonly sendOutbox = (): void => {
    if (this.outbox.length === 0) return;
    const out = this.outbox;
    this.outbox = [];
    for (const o of out) {
      try {
        this.nc.publish(o.subject, o.data, o.headers ? { headers: o.headers } : undefined);
      } catch (err) {
        // Checked at publish time, so only a connection that closed since: told to the next caller.
        this.unsent ??= err instanceof Error ? err : new Error(String(err));
      }
    }
  };

  async subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<Subscription> {
    assertPattern(subject);
    this.sendOutbox();
    if (opts?.maxPending !== undefined || opts?.maxPendingBytes !== undefined) return this.subscribeBounded(subject, handler, opts);
    const sub = this.nc.subscribe(subject, opts?.queue ? { queue: opts.queue } : undefined);
    this.subs.add(sub);
    // One loop per subscription, awaiting the handler: that is what keeps messages in order.
    const done = (async () => {
      for await (const m of sub) {
        const msg = toBusMessage(m);
        if (msg instanceof Error) {
          (this.opts.onHandlerError ?? defaultOnError)(msg, unreadMessage(m));
          continue;
        }
        try {
          await handler(msg);
        } catch (err) {
          (this.opts.onHandlerError ?? defaultOnError)(err, msg);
        }
      }
    })();
    // The subscription is registered with the server once the connection has flushed it,
    // so a publish made right after `subscribe` resolves is not missed.
    await this.nc.flush();
    return {
      unsubscribe: async () => {
        this.subs.delete(sub);
        if (!sub.isClosed()) sub.unsubscribe();
        await done;
      },
    };
  }

  /**
   * A subscription with bounds on what waits for its handler. nats.js's async iterator keeps
   * every message the server sends until the loop takes it, however many a publisher sends
   * (measured: 50,000 junk commands held ~50 MB and a real command behind them for seconds).
   * Here nats.js hands each message to a callback as it reads it off the socket, and it is
   * queued or shed (`onShed`) at once; one loop handles the queue in order, as above.
   * Unsubscribing drops what waits, as the iterator does.
   */
  private async subscribeBounded(subject: string, handler: MessageHandler, opts: SubscribeOptions): Promise<Subscription> {
    const waiting: Msg[] = [];
    let waitingBytes = 0;
    let looping = false;
    let stopped = false;
    let done: Promise<void> = Promise.resolve();
    const onError = this.opts.onHandlerError ?? defaultOnError;
    const loop = async (): Promise<void> => {
      try {
        while (waiting.length > 0 && !stopped) {
          const m = waiting.shift()!;
          waitingBytes -= m.data.byteLength;
          const msg = toBusMessage(m);
          if (msg instanceof Error) {
            onError(msg, unreadMessage(m));
            continue;
          }
          try {
            await handler(msg);
          } catch (err) {
            onError(err, msg);
          }
        }
      } finally {
        looping = false;
      }
    };
    const sub = this.nc.subscribe(subject, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, m) => {
        if (err) {
          // The subscription ended (a permissions violation, say): nothing more comes.
          onError(err, { subject, data: new Uint8Array(0), headers: {} });
          return;
        }
        if (stopped) return;
        if (shedsMessage(opts, waiting.length, waitingBytes, m.data.byteLength)) {
          if (opts.onShed) {
            const msg = toBusMessage(m);
            if (msg instanceof Error) return onError(msg, unreadMessage(m));
            try {
              opts.onShed(msg);
            } catch (e) {
              onError(e, msg);
            }
          }
          return;
        }
        waiting.push(m);
        waitingBytes += m.data.byteLength;
        if (!looping) {
          looping = true;
          done = loop();
        }
      },
    });
    this.subs.add(sub);
    await this.nc.flush();
    return {
      unsubscribe: async () => {
        this.subs.delete(sub);
        if (!sub.isClosed()) sub.unsubscribe();
        stopped = true;
        waiting.length = 0;
        waitingBytes = 0;
        await done;
      },
    };
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    assertPublishSubject(subject);
    this.sendOutbox();
    const inbox = ownRequestInbox(this.nc, subject, data);
    try {
      const m = await this.nc.request(subject, data, {
        timeout: opts.timeoutMs,
        noMux: true,
        reply: inbox.reply,
        ...(opts.headers ? { headers: wireHeaders(opts.headers) } : {}),
      });
      const answer = toBusMessage(m);
      if (answer instanceof Error) throw answer;
      return answer;
    } catch (err) {
      throw mapRequestError(err, subject, opts.timeoutMs);
    } finally {
      inbox.done();
    }
  }

  async respond(msg: BusMessage, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    if (!msg.reply) throw new Error(`message on "${msg.subject}" has no reply subject`);
    if (!isReplySubject(msg.reply) || aimsAtOwnRequest(this.nc, msg)) return;
    this.sendOutbox();
    this.nc.publish(msg.reply, data, opts?.headers ? { headers: wireHeaders(opts.headers) } : undefined);
  }

  async flush(): Promise<void> {
    this.sendOutbox();
    // Not everything published so far reached the transport: say so rather than resolve.
    this.throwUnsent();
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sendOutbox();
    if (this.owned) {
      if (!this.nc.isClosed()) await this.nc.drain();
      return;
    }
    // A shared connection stays open; only this bus's subscriptions go.
    for (const s of this.subs) if (!s.isClosed()) await s.drain();
    this.subs.clear();
  }
}

function mapRequestError(err: unknown, subject: string, timeoutMs: number): Error {
  const name = err instanceof Error ? err.constructor.name : '';
  const cause = err instanceof Error ? err.cause : undefined;
  const causeName = cause instanceof Error ? cause.constructor.name : '';
  if (name === 'NoRespondersError' || causeName === 'NoRespondersError') return new NoRespondersError(`no responders on "${subject}"`);
  if (name === 'TimeoutError' || causeName === 'TimeoutError') return new TimeoutError(`request on "${subject}" timed out after ${timeoutMs} ms`);
  return err instanceof Error ? err : new Error(String(err));
}

/** At least the bytes nats.js encodes these headers into (`NATS/1.0\r\n`, `k: v\r\n` each, `\r\n`). */
function headerBytes(h: Headers): number {
  let n = 12;
  for (const [k, v] of Object.entries(h)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  if (!h) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of h) if (v.length) out[k] = v[0]!;
  return out;
}

/** A received message for a handler, or why it cannot be one: its header block does not decode (receivedHeaders). */
function toBusMessage(m: Msg): BusMessage | CacoError {
  const h = receivedHeaders(m);
  if (h === 'undecodable') return new CacoError(`a message on ${m.subject.slice(0, 200)} was dropped: its headers do not decode (a header name with a space, ':', a control character or a non-ASCII byte)`);
  const headers = fromNatsHeaders(h);
  return m.reply ? { subject: m.subject, data: m.data, headers, reply: m.reply } : { subject: m.subject, data: m.data, headers };
}

/** What an error handler is shown of a message that could not be read: its subject and bytes, no headers. */
const unreadMessage = (m: Msg): BusMessage => ({ subject: m.subject, data: m.data, headers: {} });

function defaultOnError(err: unknown, msg: BusMessage): void {
  process.stderr.write(`bus handler failed on ${msg.subject}: ${err instanceof Error ? err.message : String(err)}\n`);
}
