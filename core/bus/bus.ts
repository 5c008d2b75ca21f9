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
 * time in the order they were published by one publisher; a handler's rejection is logged by
 * the adapter and does not stop the subscription.
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
  /** Answer a message received with a `reply` subject. */
  respond(msg: BusMessage, data: Uint8Array, opts?: PublishOptions): Promise<void>;
  /** Resolves once everything published so far has been handed to the transport. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
