// test-file-timeout: 60
/**
 * Found by a helper's review, run there: the dashboard and the site's jobs API, bound to
 * loopback and without logins, answered any Host, so a web page the operator visits could point
 * its own name at 127.0.0.1 (DNS rebinding) and read /api/view, /api/stream and explanations;
 * and HEAD /api/stream was never answered and held a stream's place. Now a loopback-bound server
 * answers only loopback names (421 otherwise), and the stream is GET only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import Fastify from 'fastify';
import { startDashboard } from '../../dashboard/index.ts';
import { allowedHostsFromEnv, guardLoopbackHost } from '../../core/http/index.ts';
import { startObservabilityHttp } from '../../core/observability/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { embeddedStack } from '../support/embedded.ts';

/** One request with the Host header given (fetch will not send another than the URL's). */
function get(url: string, host: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: { host }, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${u.pathname} in 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('servers bound to loopback answer loopback names only', { timeout: 60_000 }, () => {
  test('the dashboard: another Host is refused 421 naming why; localhost, 127.0.0.1 and [::1] are served; HEAD /api/stream is answered', async () => {
    const s = embeddedStack('dash-host');
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, verifyEveryMs: 600_000, log: silentLogger(), maxStreams: 1 });
    try {
      const port = new URL(dash.url).port;
      const evil = await get(`${dash.url}/api/view`, 'attacker.example');
      assert.equal(evil.status, 421);
      assert.match(evil.body, /host refused: .*not \\"attacker\.example\\"/);
      assert.equal((await get(`${dash.url}/`, `attacker.example:${port}`)).status, 421);
      for (const h of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) assert.equal((await get(`${dash.url}/api/view`, h)).status, 200, h);
      // Before: no answer at all, and the stream's only place taken.
      const head = await get(`${dash.url}/api/stream`, `localhost:${port}`, 'HEAD');
      assert.equal(head.status, 404);
    } finally {
      await dash.close();
      await s.close();
    }
  });

  test('a server bound to another address is not checked; extra names can be allowed', async () => {
    assert.deepEqual(allowedHostsFromEnv({ CACO_ALLOWED_HOSTS: ' caco.example.org, dash.local ,' }), ['caco.example.org', 'dash.local']);
    assert.deepEqual(allowedHostsFromEnv({}), []);
    for (const [bound, host, allowed, status] of [['0.0.0.0', 'site.example', [], 200], ['127.0.0.1', 'caco.internal:8080', ['caco.internal'], 200], ['127.0.0.1', 'caco.internal', [], 421]] as const) {
      const app = Fastify();
      guardLoopbackHost(app, bound, allowed);
      app.get('/x', async () => ({ ok: true }));
      await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const port = (app.server.address() as { port: number }).port;
        assert.equal((await get(`http://127.0.0.1:${port}/x`, host)).status, status, `${bound} ${host}`);
      } finally {
        await app.close();
      }
    }
  });

  test("caco bpp's /metrics and /health server is guarded the same way", async () => {
    const app = await startObservabilityHttp(0, '127.0.0.1', {});
    try {
      const port = (app.server.address() as { port: number }).port;
      assert.equal((await get(`http://127.0.0.1:${port}/health`, 'attacker.example')).status, 421);
      assert.equal((await get(`http://127.0.0.1:${port}/health`, `localhost:${port}`)).status, 200);
    } finally {
      await app.close();
    }
  });
});

