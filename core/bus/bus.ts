/**
 * The message bus port, with NATS subject semantics: subjects are dot-separated tokens,
 * `*` matches one token, `>` matches one or more trailing tokens.
 */
export type Headers = Readonly<Record<string, string>>;

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  /** Set when the sender expects a reply (request/reply). */
  readonly reply?: string;
}

export interface SubscribeOptions {
  /** Messages on a subject are delivered to one member of each queue group. */
  readonly queue?: string;
  /**
   * At most this many messages wait for the handler (the one being handled not counted). One
   * that arrives while that many wait is not queued: `onShed` gets it instead. Default: no bound
   * (a fast publisher then queues as much as it sends in this process's memory).
   */
  readonly maxPending?: number;
  /** At most this many bytes of messages wait (one message is always taken into an empty queue); past it, as `maxPending`. */
  readonly maxPendingBytes?: number;
  /** Each message shed by `maxPending` or `maxPendingBytes`, at once as it arrives: it must be quick, and it must not throw. */
  readonly onShed?: (msg: BusMessage) => void;
}

/** Whether a message of `bytes` is shed by a subscription's bounds, with `waiting` messages of `waitingBytes` queued. */
export function shedsMessage(opts: SubscribeOptions | undefined, waiting: number, waitingBytes: number, bytes: number): boolean {
  if (!opts) return false;
  if (opts.maxPending !== undefined && waiting >= opts.maxPending) return true;
  return opts.maxPendingBytes !== undefined && waiting > 0 && waitingBytes + bytes > opts.maxPendingBytes;
}

export interface PublishOptions {
  readonly headers?: Headers;
}

export interface RequestOptions {
  readonly headers?: Headers;
  /** Milliseconds before the request fails with a TimeoutError. */
  readonly timeoutMs: number;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

/**
 * A handler runs for each delivered message. Per subscription, messages are handled one at a
 * time in the order they were published by one publisher (those shed by `maxPending` left
 * out); a handler's rejection is logged by the adapter and does not stop the subscription.
 */
export type MessageHandler = (msg: BusMessage) => void | Promise<void>;

export interface Bus {
  readonly kind: 'memory' | 'nats';
  /**
   * Resolves once the bus has taken the message, in order with this bus's other sends. A bus
   * may hold a turn's publishes to send them together (NatsBus does); `flush` sends them.
   */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<void>;
  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<Subscription>;
  /** Send and wait for one reply; TimeoutError after `timeoutMs`, NoRespondersError if nobody listens. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage>;
  /**
   * Answer a message received with a `reply` subject. Sent only when it is an inbox
   * (isReplySubject): any other reply subject is a requester asking the site to publish its
   * answer where the site, not the requester, may write, and nothing is sent.
   */
  respond(msg: BusMessage, data: Uint8Array, opts?: PublishOptions): Promise<void>;
  /** Resolves once everything published so far has been handed to the transport. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
