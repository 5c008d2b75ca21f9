import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startDashboard } from '../../dashboard/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FixtureWriter, tick } from '../sim/report/fixture.ts';

/**
 * Every change pushes a whole snapshot (about 20 KB here) to every open /api/stream. The
 * server wrote it whatever the client had read, so a client that connected and stopped
 * reading made the dashboard buffer every snapshot from then on, without bound. A client
 * that is behind now skips snapshots (each one replaces the last) and gets the newest when
 * it catches up.
 */
describe('the dashboard event stream with a client that does not read', { timeout: 90_000 }, () => {
  test('what is buffered for it stays bounded, and it still gets the latest view once it reads', async () => {
    const s = embeddedStack('dash-sse');
    const w = new FixtureWriter(s.store, 'dash');
    for (let k = 0; k < 16; k++) await tick(w, k);
    // Watch how much the server has queued on event-stream responses.
    const original = http.ServerResponse.prototype.write;
    let maxQueued = 0;
    http.ServerResponse.prototype.write = function (this: http.ServerResponse, ...args: Parameters<typeof original>) {
      const r = original.apply(this, args);
      if (this.req?.url === '/api/stream') maxQueued = Math.max(maxQueued, this.writableLength);
      return r;
    } as typeof original;
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 1, verifyEveryMs: 600_000 });
    const sock = net.connect(Number(new URL(dash.url).port), '127.0.0.1');
    try {
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
      sock.write('GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      for (let i = 0; i < 50 && !text.includes('event: view'); i++) await new Promise((r) => setTimeout(r, 20));
      sock.pause();
      for (let k = 16; k < 700; k++) {
        await tick(w, k);
        await new Promise((r) => setTimeout(r, 2));
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(maxQueued < 2 * 1024 * 1024, `${maxQueued} bytes queued for a client that reads nothing`);
      // Caught up: it gets the newest view.
      text = '';
      sock.resume();
      const latest = JSON.stringify(dash.view());
      for (let i = 0; i < 300 && !text.includes(latest); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(text.includes(latest), 'the latest view reaches the client once it reads');
    } finally {
      http.ServerResponse.prototype.write = original;
      sock.destroy();
      await dash.close();
      await s.close();
    }
  });
});
