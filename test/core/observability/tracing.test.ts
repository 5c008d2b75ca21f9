import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MemoryBus } from '../../../core/bus/memory-bus.ts';
import { ATTR, enableTracing, enableTracingFromEnv, startSpan, tracedBus, tracer, tracingEnabled } from '../../../core/observability/index.ts';
import { buildJobsHttp } from '../../../cli/jobs-http.ts';
import { computeSite, signedCommand, validJob } from '../../security/support.ts';
import { NatsBus } from '../../../core/bus/nats-bus.ts';
import { natsSkip, natsUrl, uniqueToken } from '../../support/nats.ts';
import { eventually } from './support.ts';

const parentId = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

describe('tracing off (the default)', { timeout: 10_000 }, () => {
  test('the no-op tracer is used, no span is built and the bus is not wrapped', async () => {
    assert.equal(tracingEnabled(), false);
    assert.equal(startSpan('x', undefined), undefined);
    assert.equal(tracer().startSpan('x').isRecording(), false);
    const bus = new MemoryBus();
    try {
      assert.equal(tracedBus(bus), bus);
    } finally {
      await bus.close();
    }
    assert.equal((await enableTracingFromEnv({})).mode, 'off');
    await assert.rejects(enableTracingFromEnv({ CACO_TRACING: 'jaeger' }), /CACO_TRACING: "jaeger" is not a tracing exporter/);
  });
});

describe('a trace follows a correlation id from HTTP intake to the agent append', { timeout: 60_000 }, () => {
  const exporter = new InMemorySpanExporter();
  let stopTracing: () => Promise<void>;
  let site: Awaited<ReturnType<typeof computeSite>>;
  let app: FastifyInstance;
  const busHeaders: Array<Record<string, string>> = [];
  before(async () => {
    stopTracing = await enableTracing(exporter);
    const traced = tracedBus(new MemoryBus());
    // The independent (live) delivery, as `caco run` hosts it, on a traced bus.
    site = await computeSite('tracing', { bus: traced, delivery: 'independent' });
    await site.bus.subscribe(`caco.${site.site}.evt.>`, (m) => void busHeaders.push({ ...m.headers }));
    app = buildJobsHttp(site.rt, site.rt.store, { rateLimit: false });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await site?.close();
    await stopTracing?.();
  });

  test('one trace holds the HTTP span, the bus request and handle, the command intake, the agent handle, decide and append, and the relay publish', async () => {
    const correlationId = 'trace-me-1';
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-b7ad6b7169203331-01` }, payload: JSON.stringify(await signedCommand(site.rt, validJob('traced-1'), { id: correlationId })) });
    assert.equal(r.statusCode, 202, r.body);
    await site.rt.settle();
    const spans = exporter.getFinishedSpans();
    const tagged = spans.filter((s) => s.attributes[ATTR.correlationId] === correlationId);
    assert.ok(tagged.length > 0, 'spans carry the correlation id');
    // The caller's traceparent is the parent of the whole trace.
    const traceIds = new Set(tagged.map((s) => s.spanContext().traceId));
    assert.deepEqual([...traceIds], [callerTrace]);
    const inTrace = spans.filter((s) => s.spanContext().traceId === callerTrace);
    const byName = (re: RegExp) => {
      const s = inTrace.find((x) => re.test(x.name));
      assert.ok(s, `a span named ${re} in the trace (have: ${inTrace.map((x) => x.name).join(', ')})`);
      return s;
    };
    const http = byName(/^http POST \/jobs$/);
    const send = byName(/^command send compute\.job\.submit$/);
    const request = byName(/^bus request caco\..*\.cmd\.compute\.submit$/);
    const handle = byName(/^bus handle caco\..*\.cmd\.compute\.submit$/);
    const intake = byName(/^command intake compute\.job\.submit$/);
    const agent = byName(/^agent compute handle compute\.job\.submit$/);
    const decide = byName(/^agent compute decide$/);
    const append = byName(/^agent compute append$/);
    const relay = byName(/^relay publish /);
    // Parent links, HTTP down to the append and on to the relay.
    assert.equal(parentId(http), 'b7ad6b7169203331');
    assert.equal(parentId(send), http.spanContext().spanId);
    assert.equal(parentId(request), send.spanContext().spanId);
    assert.equal(parentId(handle), request.spanContext().spanId);
    assert.equal(parentId(intake), handle.spanContext().spanId);
    assert.equal(parentId(agent), intake.spanContext().spanId);
    assert.equal(parentId(decide), agent.spanContext().spanId);
    assert.equal(parentId(append), agent.spanContext().spanId);
    assert.equal(parentId(relay), append.spanContext().spanId);
    for (const s of [http, send, intake, agent, decide, append, relay]) assert.equal(s.attributes[ATTR.correlationId], correlationId, s.name);
    assert.equal(append.attributes[ATTR.causationId], agent.attributes[ATTR.messageId]);
    assert.match(String(append.attributes[ATTR.stream]), /^job-traced-1$/);
    // The relayed event went out on the bus with a traceparent in the same trace.
    const relayed = busHeaders.find((h) => h['Caco-Correlation-Id'] === correlationId);
    assert.ok(relayed, 'the relayed event carries the correlation id header');
    assert.match(relayed['traceparent'] ?? '', new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
  });

  test('a correlation id no envelope may carry (CR/LF, 64 KB) is not put on the HTTP span before the signature is checked', async () => {
    exporter.reset();
    const hostile = `x\r\nInjected: 1 ${'y'.repeat(60_000)}`;
    const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ ...(await signedCommand(site.rt, validJob('traced-h'), { id: 'trace-h' })), correlationId: hostile }) });
    assert.notEqual(r.statusCode, 202);
    const http = exporter.getFinishedSpans().find((s) => s.name === 'http POST /jobs');
    assert.ok(http, 'the HTTP span');
    // Before: the sender's 60 KB with CR/LF went onto the span (and to the trace exporter) unchecked.
    assert.equal(http.attributes[ATTR.correlationId], undefined);
  });

  test('a malformed traceparent starts a new trace rather than failing the request', async () => {
    exporter.reset();
    const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json', traceparent: 'garbage' }, payload: JSON.stringify(await signedCommand(site.rt, validJob('traced-2'), { id: 'trace-me-2' })) });
    assert.equal(r.statusCode, 202, r.body);
    await site.rt.settle();
    const http = exporter.getFinishedSpans().find((s) => s.name === 'http POST /jobs');
    assert.ok(http);
    assert.equal(parentId(http), undefined);
  });

  test('the correlation id is the signed envelope\'s: a header cannot change it', async () => {
    const r = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json', 'x-correlation-id': 'forged-by-header' }, payload: JSON.stringify(await signedCommand(site.rt, validJob('traced-3'), { id: 'trace-me-3' })) });
    assert.equal(r.statusCode, 202, r.body);
    await site.rt.settle();
    const spans = exporter.getFinishedSpans();
    assert.ok(spans.some((x) => x.attributes[ATTR.correlationId] === 'trace-me-3'));
    assert.ok(!spans.some((x) => x.attributes[ATTR.correlationId] === 'forged-by-header'));
  });
});

describe('trace context crosses NATS in a traceparent header', { timeout: 30_000 }, async () => {
  const skip = await natsSkip();
  test('the receiving process\'s handle span is a child of the sender\'s publish span', { skip }, async () => {
    const exporter = new InMemorySpanExporter();
    const stop = await enableTracing(exporter);
    const a = await NatsBus.connect({ servers: natsUrl(), name: 'caco-trace-a' }).catch(async (e: unknown) => {
      await stop();
      throw e;
    });
    const b = await NatsBus.connect({ servers: natsUrl(), name: 'caco-trace-b' }).catch(async (e: unknown) => {
      await a.close();
      await stop();
      throw e;
    });
    try {
      const subject = `caco.${uniqueToken('trace')}.evt.test.thing.done`;
      const got: Array<Record<string, string>> = [];
      let done!: () => void;
      const arrived = new Promise<void>((r) => (done = r));
      await tracedBus(b).subscribe(subject, (m) => {
        got.push({ ...m.headers });
        done();
      });
      await b.flush();
      await tracedBus(a).publish(subject, Buffer.from('{}'), { headers: { 'Caco-Correlation-Id': 'nats-corr-1' } });
      await arrived;
      // The handle span ends just after the handler returns.
      const handle = await eventually(async () => exporter.getFinishedSpans().find((s) => s.name === `bus handle ${subject}`), 5000, 'the handle span');
      const spans = exporter.getFinishedSpans();
      const pub = spans.find((s) => s.name === `bus publish ${subject}`);
      assert.ok(pub && handle, spans.map((s) => s.name).join(', '));
      assert.equal(handle.spanContext().traceId, pub.spanContext().traceId);
      assert.equal(parentId(handle), pub.spanContext().spanId);
      assert.equal(handle.attributes[ATTR.correlationId], 'nats-corr-1');
      // The handler sees its own span as the parent for whatever it does next.
      assert.match(got[0]?.['traceparent'] ?? '', new RegExp(`^00-${pub.spanContext().traceId}-${handle.spanContext().spanId}-01$`));
    } finally {
      await a.close();
      await b.close();
      await stop();
    }
  });
});
