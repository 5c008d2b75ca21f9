// test-file-timeout: 60
/**
 * With tracing on, `sendEnvelope` (what `POST /jobs` calls with the client's signed envelope)
 * passes the client's correlation id along in a header, before the agent's intake has checked
 * it. One with a CR/LF made nats.js throw inside the request: the client got a 500 instead of
 * the envelope schema's refusal. Now only an id a header can carry goes into one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { enableTracing } from '../../../core/observability/index.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { tallyAgent } from '../../example/agents.ts';
import type { Bus } from '../../../core/bus/bus.ts';

test('a client envelope whose correlationId holds CR/LF is refused by the schema, not a failed request, with tracing on', { timeout: 30_000 }, async () => {
  const s = embeddedStack('send-envelope-headers');
  const stopTracing = await enableTracing(new InMemorySpanExporter());
  // As nats.js does: a header value with CR or LF is refused.
  const bus = Object.create(s.bus, {
    request: {
      value: (subject: string, data: Uint8Array, opts: Parameters<Bus['request']>[2]) => {
        for (const v of Object.values(opts?.headers ?? {})) if (/[\r\n]/.test(String(v))) return Promise.reject(new Error("'header' values cannot contain \\r or \\n"));
        return s.bus.request(subject, data, opts);
      },
    },
  }) as Bus;
  const rt = new Runtime({ ...s, bus, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep' });
  rt.add(tallyAgent());
  try {
    await rt.start();
    const envelope = { id: 'cmd-1', type: 'example.total.reset', version: 1, time: new Date(s.clock.now()).toISOString(), source: 'operator', correlationId: 'tx\r\nInjected: 1', causationId: null, data: { meter: 'main', reason: 'x' } };
    const reply = await rt.sendEnvelope('tally', 'reset', envelope);
    assert.equal(reply.ok, false);
    assert.match(JSON.stringify(reply), /correlationId/);
  } finally {
    await rt.stop();
    await stopTracing();
    await s.close();
  }
});
