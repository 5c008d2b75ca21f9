import { randomUUID } from 'node:crypto';
import { shedsMessage, type Bus, type BusMessage, type Headers, type MessageHandler, type PublishOptions, type RequestOptions, type SubscribeOptions, type Subscription } from './bus.ts';
import { assertPattern, assertPublishSubject, isReplySubject } from './subject.ts';
import { NoRespondersError, TimeoutError } from '../errors/errors.ts';

interface Sub {
  readonly pattern: string;
  /** The pattern split once at subscribe: matching runs for every message. */
  readonly tokens: ReadonlyArray<string>;
  readonly queue: string | undefined;
  readonly handler: MessageHandler;
  /** Messages wait here so one subscription handles them one at a time, in order. */
  readonly queueOfMessages: BusMessage[];
  /** Bytes of the messages waiting, for `maxPendingBytes`. */
  queuedBytes: number;
  /** Bounds on what waits, when the subscriber set them. */
  readonly bounds: SubscribeOptions | undefined;
  running: boolean;
  closed: boolean;
}

export interface MemoryBusOptions {
  /** Called when a handler throws or rejects; the default writes to stderr. */
  readonly onHandlerError?: (err: unknown, msg: BusMessage) => void;
}

/**
 * The embedded bus: subjects, wildcards, queue groups and request/reply inside one process.
 * Delivery is asynchronous (never inside `publish`), so a publisher never re-enters its own
 * handler, exactly as with a network bus.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private subs: Sub[] = [];
  private rr = new Map<string, number>();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly validSubjects = new Set<string>();

  constructor(private readonly opts: MemoryBusOptions = {}) {}

  async publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    // Publishers reuse a handful of subjects (one per event type): check each once.
    if (!this.validSubjects.has(subject)) {
      assertPublishSubject(subject);
      if (this.validSubjects.size >= 10_000) this.validSubjects.clear();
      this.validSubjects.add(subject);
    }
    this.deliver({ subject, data, headers: opts?.headers ?? {} });
  }

  async subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<Subscription> {
    assertPattern(subject);
    const bounded = opts?.maxPending !== undefined || opts?.maxPendingBytes !== undefined;
    const sub: Sub = { pattern: subject, tokens: subject.split('.'), queue: opts?.queue, handler, queueOfMessages: [], queuedBytes: 0, bounds: bounded ? opts : undefined, running: false, closed: false };
    this.subs.push(sub);
    return {
      unsubscribe: async () => {
        sub.closed = true;
        this.subs = this.subs.filter((s) => s !== sub);
      },
    };
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    assertPublishSubject(subject);
    const inbox = `_INBOX.${randomUUID().replaceAll('-', '')}`;
    return new Promise<BusMessage>((resolve, reject) => {
      let sub: Subscription | undefined;
      const timer = setTimeout(() => {
        void sub?.unsubscribe();
        reject(new TimeoutError(`request on "${subject}" timed out after ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      void this.subscribe(inbox, (m) => {
        clearTimeout(timer);
        void sub?.unsubscribe();
        resolve(m);
      }).then((s) => {
        sub = s;
        const headers: Headers = opts.headers ?? {};
        const delivered = this.deliver({ subject, data, headers, reply: inbox });
        if (delivered === 0) {
          clearTimeout(timer);
          void s.unsubscribe();
          reject(new NoRespondersError(`no responders on "${subject}"`));
        }
      });
    });
  }

  async respond(msg: BusMessage, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    if (!msg.reply) throw new Error(`message on "${msg.subject}" has no reply subject`);
    if (!isReplySubject(msg.reply)) return;
    this.deliver({ subject: msg.reply, data, headers: opts?.headers ?? {} });
  }

  /** Resolves when every delivered message has been handled. */
  async flush(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.subs) s.closed = true;
    this.subs = [];
  }

  private deliver(msg: BusMessage): number {
    if (this.closed) throw new Error('bus is closed');
    let n = 0;
    let groups: Map<string, Sub[]> | undefined;
    const tokens = msg.subject.split('.');
    for (const s of this.subs) {
      if (!tokensMatch(s.tokens, tokens)) continue;
      if (s.queue === undefined) {
        this.enqueue(s, msg);
        n++;
      } else {
        const key = `${s.queue}\u0000${s.pattern}`;
        groups ??= new Map();
        const g = groups.get(key);
        if (g) g.push(s);
        else groups.set(key, [s]);
      }
    }
    if (groups === undefined) return n;
    for (const [key, members] of groups) {
      // Round-robin within a queue group, so work spreads like it does on NATS.
      const i = (this.rr.get(key) ?? 0) % members.length;
      this.rr.set(key, i + 1);
      this.enqueue(members[i]!, msg);
      n++;
    }
    return n;
  }

  private enqueue(sub: Sub, msg: BusMessage): void {
    if (sub.bounds) {
      if (shedsMessage(sub.bounds, sub.queueOfMessages.length, sub.queuedBytes, msg.data.byteLength)) {
        sub.bounds.onShed?.(msg);
        return;
      }
      sub.queuedBytes += msg.data.byteLength;
    }
    sub.queueOfMessages.push(msg);
    this.inFlight++;
    if (!sub.running) {
      sub.running = true;
      queueMicrotask(() => void this.drain(sub));
    }
  }

  private async drain(sub: Sub): Promise<void> {
    while (sub.queueOfMessages.length) {
      const msg = sub.queueOfMessages.shift()!;
      if (sub.bounds) sub.queuedBytes -= msg.data.byteLength;
      if (!sub.closed) {
        try {
          // A synchronous handler is not awaited: a microtask per message is most of the cost.
          const r = sub.handler(msg);
          if (r !== undefined) await r;
        } catch (err) {
          (this.opts.onHandlerError ?? defaultOnError)(err, msg);
        }
      }
      this.inFlight--;
    }
    sub.running = false;
    if (this.inFlight === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}

/** `subjectMatches` on subjects already split into tokens. */
function tokensMatch(p: ReadonlyArray<string>, s: ReadonlyArray<string>): boolean {
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}

function defaultOnError(err: unknown, msg: BusMessage): void {
  process.stderr.write(`bus handler failed on ${msg.subject}: ${err instanceof Error ? err.message : String(err)}\n`);
}
