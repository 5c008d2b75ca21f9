import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBecknHttpServer } from '../../agents/coordination/beckn-http.ts';
import { buildJobsHttp } from '../../cli/jobs-http.ts';
import { startObservabilityHttp } from '../../core/observability/index.ts';
import { startDashboard } from '../../dashboard/index.ts';
import { HTTP_REQUEST_TIMEOUT_MS } from '../../core/http/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { computeSite } from './support.ts';

/**
 * Fastify turns Node's request time limit off (requestTimeout 0) and sets no socket timeout, so
 * a client that sends the headers and then a byte of body now and then held a connection, and
 * up to a body's worth of buffered bytes, for ever: before any signature was checked. Every
 * HTTP server of the site now bounds the time to send a whole request; past it the answer is
 * 408 and the connection is closed.
 */

const LIMIT_MS = 800;

/** Headers that promise a body, then one byte every 150 ms: never idle, never finished. */
async function slowBody(port: number, method: string, path: string): Promise<{ closedAfterMs: number | null; answer: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  const t0 = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - t0)));
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n{`);
  const drip = setInterval(() => {
    if (socket.writable) socket.write(' ');
  }, 150);
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([closed, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), LIMIT_MS + 3_000)))]);
    return { closedAfterMs: r, answer };
  } finally {
    clearInterval(drip);
    clearTimeout(timer);
    socket.destroy();
  }
}

function assertCutOff(r: { closedAfterMs: number | null; answer: string }, what: string, expect408 = true): void {
  assert.notEqual(r.closedAfterMs, null, `${what}: a request still being sent after ${LIMIT_MS + 3_000} ms was not cut off (limit ${LIMIT_MS} ms)`);
  assert.ok(r.closedAfterMs! >= LIMIT_MS - 50, `${what}: closed after ${r.closedAfterMs} ms, before the limit`);
  if (expect408) assert.match(r.answer, /^HTTP\/1\.1 408 /, `${what}: answered ${JSON.stringify(r.answer.slice(0, 60))}`);
}

describe('HTTP servers bound the time to send a request (slow body)', { timeout: 60_000 }, () => {
  test('the default limit is finite and well under a minute', () => {
    assert.ok(HTTP_REQUEST_TIMEOUT_MS > 0 && HTTP_REQUEST_TIMEOUT_MS <= 60_000);
  });

  test('the Beckn server: a body dripped a byte at a time gets 408 and the connection is closed, before any handler runs', async () => {
    let handled = 0;
    const server = await startBecknHttpServer({
      actions: ['search'],
      pathPrefix: '/beckn',
      requestTimeoutMs: LIMIT_MS,
      handler: async () => {
        handled++;
        return { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } };
      },
    });
    try {
      assertCutOff(await slowBody(server.port, 'POST', '/beckn/search'), 'beckn');
      assert.equal(handled, 0);
    } finally {
      await server.close();
    }
  });

  test('POST /jobs: the same', async () => {
    const site = await computeSite('http-time-limits');
    const app = buildJobsHttp(site.rt, site.rt.store, { requestTimeoutMs: LIMIT_MS });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as net.AddressInfo).port;
      assertCutOff(await slowBody(port, 'POST', '/jobs'), 'jobs');
    } finally {
      await app.close();
      await site.close();
    }
  });

  test('the observability server: the same', async () => {
    const app = await startObservabilityHttp(0, '127.0.0.1', { requestTimeoutMs: LIMIT_MS });
    try {
      const port = (app.server.address() as net.AddressInfo).port;
      assertCutOff(await slowBody(port, 'POST', '/health'), 'observability');
    } finally {
      await app.close();
    }
  });

  test('the dashboard: the same', async () => {
    const s = embeddedStack('http-time-limits');
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, requestTimeoutMs: LIMIT_MS });
    try {
      assertCutOff(await slowBody(Number(new URL(dash.url).port), 'POST', '/api/view'), 'dashboard');
    } finally {
      await dash.close();
      await s.close();
    }
  });
});
