import { randomUUID } from 'node:crypto';
import type { Bus, BusMessage, Headers, MessageHandler, PublishOptions, RequestOptions, SubscribeOptions, Subscription } from './bus.ts';
import { assertPattern, assertPublishSubject, subjectMatches } from './subject.ts';
import { NoRespondersError, TimeoutError } from '../errors.ts';

interface Sub {
  readonly pattern: string;
  readonly queue: string | undefined;
  readonly handler: MessageHandler;
  /** Messages wait here so one subscription handles them one at a time, in order. */
  readonly queueOfMessages: BusMessage[];
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

  constructor(private readonly opts: MemoryBusOptions = {}) {}

  async publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    assertPublishSubject(subject);
    this.deliver({ subject, data, headers: opts?.headers ?? {} });
  }

  async subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<Subscription> {
    assertPattern(subject);
    const sub: Sub = { pattern: subject, queue: opts?.queue, handler, queueOfMessages: [], running: false, closed: false };
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
    const groups = new Map<string, Sub[]>();
    for (const s of this.subs) {
      if (!subjectMatches(s.pattern, msg.subject)) continue;
      if (s.queue === undefined) {
        this.enqueue(s, msg);
        n++;
      } else {
        const key = `${s.queue}\u0000${s.pattern}`;
        const g = groups.get(key);
        if (g) g.push(s);
        else groups.set(key, [s]);
      }
    }
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
      if (!sub.closed) {
        try {
          await sub.handler(msg);
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

function defaultOnError(err: unknown, msg: BusMessage): void {
  process.stderr.write(`bus handler failed on ${msg.subject}: ${err instanceof Error ? err.message : String(err)}\n`);
}
