import type { BecknSigningKey, HttpAnswer } from '../../beckn/index.ts';
import type { AckResponse, NackResponse } from '../../schemas/beckn/index.ts';

/**
 * The transport the grid operator needs, as a port: a server that hands it each callback's
 * exact bytes, and a client that signs and sends. The wiring passes an adapter — signed HTTP
 * (CACO's loopback one in a simulation) or the NATS binding (`natsTransport(bus)` with
 * `natsAddresses()` in the config; docs/beckn.md "Beckn over NATS") — so this agent imports no
 * other agent. Over NATS, `pathPrefix` is the subject prefix of its `nats:` bap_uri and
 * `httpStatus` is the reply's `Beckn-Status`.
 */

export interface RawCallback {
  readonly action: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type AckAnswer = HttpAnswer<AckResponse | NackResponse>;

export interface PostOutcome {
  readonly httpStatus: number;
  readonly ack: 'ACK' | 'NACK' | null;
  readonly error: { readonly code: string; readonly message?: string; readonly paths?: string } | null;
  readonly problem: string | null;
}

export interface BecknTransport {
  listen(o: { readonly actions: ReadonlyArray<string>; readonly pathPrefix: string; readonly handler: (req: RawCallback) => Promise<AckAnswer> }): Promise<{ readonly origin: string; close(): Promise<void> }>;
  post(o: {
    readonly baseUri: string;
    readonly action: string;
    readonly body: { readonly context: { readonly ttl?: string } };
    readonly key: BecknSigningKey;
    readonly nowMs: number;
    readonly timeoutMs?: number;
    /** The same on every retry of one message (its message_id): the receiver dedupes by it. */
    readonly idempotencyKey?: string;
  }): Promise<PostOutcome>;
  /** The logical URI is now served at `origin` (a loopback port in a simulation). */
  announce?(logicalUri: string, origin: string): void;
  withdraw?(logicalUri: string): void;
}
