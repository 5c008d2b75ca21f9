import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ConfigError } from '../errors/errors.ts';
import { FifoMap } from '../collections/fifo-map.ts';

/**
 * Traces that follow a correlation id across HTTP, the bus and the agents, with the
 * OpenTelemetry API. Off by default: then `tracer()` is the API's no-op tracer and every helper
 * below returns before building a span or an attribute, so the hot path stays as it was.
 *
 * No context manager is installed (that would put async hooks on every promise): the parent
 * of a span is passed explicitly, in `traceparent` headers across the bus and HTTP, and in a
 * WeakMap from an agent input to the span that received it inside the process.
 */

let active: { tracer: Tracer; provider: BasicTracerProvider } | undefined;

export function tracingEnabled(): boolean {
  return active !== undefined;
}

/** The tracer in use: the SDK's when tracing is on, otherwise the API's no-op tracer. */
export function tracer(): Tracer {
  return active?.tracer ?? trace.getTracer('caco');
}

/**
 * Export every finished span to `exporter` (one at a time, as it ends). Returns a stop function.
 * The SDK is loaded here, not at import, so a process that never traces never loads it.
 */
export async function enableTracing(exporter: SpanExporter): Promise<() => Promise<void>> {
  const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  active = { tracer: provider.getTracer('caco'), provider };
  return async () => {
    if (active?.provider === provider) active = undefined;
    await provider.shutdown();
  };
}

export const TRACING_ENV = 'CACO_TRACING';

/**
 * `CACO_TRACING=console` prints each span to stdout as it ends; unset, empty or `off` leaves
 * tracing off. Anything else is a configuration error naming the variable.
 */
export async function enableTracingFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<{ readonly mode: 'off' | 'console'; stop(): Promise<void> }> {
  const v = (env[TRACING_ENV] ?? '').trim().toLowerCase();
  if (v === '' || v === 'off') return { mode: 'off', stop: async () => undefined };
  if (v !== 'console') throw new ConfigError(TRACING_ENV, `"${env[TRACING_ENV]}" is not a tracing exporter; use "console" or "off"`);
  if (active) return { mode: 'console', stop: async () => undefined };
  const { ConsoleSpanExporter } = await import('@opentelemetry/sdk-trace-base');
  return { mode: 'console', stop: await enableTracing(new ConsoleSpanExporter()) };
}

/** Attribute names for the envelope fields a trace is searched by. */
export const ATTR = {
  correlationId: 'caco.correlation_id',
  causationId: 'caco.causation_id',
  messageId: 'caco.message_id',
  type: 'caco.type',
  agent: 'caco.agent',
  site: 'caco.site',
  stream: 'caco.stream',
  subject: 'messaging.destination.name',
} as const;

export function envelopeAttributes(e: { readonly id: string; readonly type: string; readonly correlationId: string; readonly causationId?: string | null }): Attributes {
  return { [ATTR.messageId]: e.id, [ATTR.type]: e.type, [ATTR.correlationId]: e.correlationId, ...(e.causationId ? { [ATTR.causationId]: e.causationId } : {}) };
}

/** Start a span under `parent` (or a new trace). Returns undefined, cheaply, when tracing is off. */
export function startSpan(name: string, parent: Context | undefined, attributes: Attributes = {}, kind: SpanKind = SpanKind.INTERNAL): { span: Span; ctx: Context } | undefined {
  if (!active) return undefined;
  const span = active.tracer.startSpan(name, { kind, attributes }, parent ?? ROOT_CONTEXT);
  return { span, ctx: trace.setSpan(parent ?? ROOT_CONTEXT, span) };
}

/** End a span, marking it failed when `err` is given. */
export function endSpan(s: { span: Span } | undefined, err?: unknown): void {
  if (!s) return;
  if (err !== undefined) {
    s.span.recordException(err instanceof Error ? err : String(err));
    s.span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  s.span.end();
}

/** Run `fn` in a span; the span ends when `fn` settles, and records its error. */
export async function inSpan<T>(name: string, parent: Context | undefined, attributes: Attributes, fn: (ctx: Context | undefined, span: Span | undefined) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  const s = startSpan(name, parent, attributes, kind);
  if (!s) return fn(parent, undefined);
  try {
    const r = await fn(s.ctx, s.span);
    endSpan(s);
    return r;
  } catch (err) {
    endSpan(s, err);
    throw err;
  }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` header for the span in `ctx`, or nothing. */
export function traceHeaders(ctx: Context | undefined): Record<string, string> {
  const sc = ctx ? trace.getSpanContext(ctx) : undefined;
  if (!sc || !trace.isSpanContextValid(sc)) return {};
  return { traceparent: `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED ? 1 : 0).toString(16).padStart(2, '0')}` };
}

/** The remote parent a `traceparent` header names (case-insensitive key), if it is well formed. */
export function contextFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>> | undefined): Context | undefined {
  if (!active || !headers) return undefined;
  let v = headers['traceparent'] ?? headers['Traceparent'];
  if (Array.isArray(v)) v = v[0];
  const m = typeof v === 'string' ? TRACEPARENT.exec(v.trim().toLowerCase()) : null;
  if (!m) return undefined;
  const sc = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  return trace.isSpanContextValid(sc) ? trace.setSpanContext(ROOT_CONTEXT, sc) : undefined;
}

// An input handed from the intake span to the agent host, inside the process.
const inputContexts = new WeakMap<object, Context>();

export function attachContext(input: object, ctx: Context | undefined): void {
  if (ctx) inputContexts.set(input, ctx);
}

export function contextOf(input: object): Context | undefined {
  return active ? inputContexts.get(input) : undefined;
}

// An appended event's span, so the relay's publish joins the trace that wrote it. Bounded:
// the relay normally publishes within milliseconds, and a miss only starts a new trace (the
// correlation id attribute still ties it to the rest).
const EVENT_CONTEXTS_MAX = 10_000;
const eventContexts = new FifoMap<string, Context>(EVENT_CONTEXTS_MAX);

export function rememberEventContext(eventId: string, ctx: Context | undefined): void {
  if (!active || !ctx) return;
  eventContexts.set(eventId, ctx);
}

export function eventContext(eventId: string): Context | undefined {
  if (!active) return undefined;
  // Not deleted on read: each store-fed agent and the relay look the same event up.
  return eventContexts.get(eventId);
}

export { SpanKind };
export type { Context as TraceContext } from '@opentelemetry/api';
