import type { Bus, BusMessage, Headers, MessageHandler, PublishOptions, RequestOptions, SubscribeOptions, Subscription } from '../bus/bus.ts';
import { ATTR, SpanKind, contextFromHeaders, endSpan, startSpan, traceHeaders, tracingEnabled } from './tracing.ts';

/**
 * A bus that traces: a `bus publish` span per publish and request (its `traceparent` replaces
 * the caller's in the headers, so the receiver's span is its child) and a `bus handle` span
 * per delivered message, whose context the handler finds in the message's `traceparent`.
 * Only used when tracing is on (`tracedBus` returns the bus itself otherwise).
 */
export function tracedBus(bus: Bus): Bus {
  if (!tracingEnabled() || bus instanceof TracedBus) return bus;
  return new TracedBus(bus);
}

/** Attributes worth having on a bus span: the envelope ids the relay and senders put in headers. */
function attrs(subject: string, headers: Headers | undefined): Record<string, string> {
  const a: Record<string, string> = { [ATTR.subject]: subject };
  if (headers?.['Caco-Correlation-Id']) a[ATTR.correlationId] = headers['Caco-Correlation-Id'];
  if (headers?.['Nats-Msg-Id']) a[ATTR.messageId] = headers['Nats-Msg-Id'];
  return a;
}

class TracedBus implements Bus {
  constructor(private readonly inner: Bus) {}

  get kind(): Bus['kind'] {
    return this.inner.kind;
  }

  async publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    const s = startSpan(`bus publish ${subject}`, contextFromHeaders(opts?.headers), attrs(subject, opts?.headers), SpanKind.PRODUCER);
    try {
      await this.inner.publish(subject, data, { ...opts, headers: { ...opts?.headers, ...traceHeaders(s?.ctx) } });
      endSpan(s);
    } catch (err) {
      endSpan(s, err);
      throw err;
    }
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<BusMessage> {
    const s = startSpan(`bus request ${subject}`, contextFromHeaders(opts.headers), attrs(subject, opts.headers), SpanKind.CLIENT);
    try {
      const r = await this.inner.request(subject, data, { ...opts, headers: { ...opts.headers, ...traceHeaders(s?.ctx) } });
      endSpan(s);
      return r;
    } catch (err) {
      endSpan(s, err);
      throw err;
    }
  }

  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(
      subject,
      async (msg) => {
        const s = startSpan(`bus handle ${msg.subject}`, contextFromHeaders(msg.headers), attrs(msg.subject, msg.headers), SpanKind.CONSUMER);
        try {
          await handler(s ? { ...msg, headers: { ...msg.headers, ...traceHeaders(s.ctx) } } : msg);
          endSpan(s);
        } catch (err) {
          endSpan(s, err);
          throw err;
        }
      },
      opts,
    );
  }

  respond(msg: BusMessage, data: Uint8Array, opts?: PublishOptions): Promise<void> {
    return this.inner.respond(msg, data, opts);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
