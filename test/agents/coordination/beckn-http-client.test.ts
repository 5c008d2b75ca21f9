import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postSigned } from '../../../agents/coordination/beckn-http.ts';
import { seededSigningKey } from '../../../agents/coordination/identity.ts';

/**
 * The Beckn client reads the other side's answer (an ACK or a NACK, a few hundred bytes). It
 * used to read it whole with `res.text()`, however long: a BAP answering a callback (or a BPP
 * answering a request) with an endless body made the sender buffer all of it until the
 * timeout, one such answer per callback in flight.
 */

const key = seededSigningKey('client-test', 'bpp.caco.local');
const body = { context: { ttl: 'PT30S' }, message: {} };

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/beckn`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('postSigned reads a bounded answer', { timeout: 30_000 }, () => {
  test('an endless answer is cut off at the size limit, at once, not buffered until the timeout', async () => {
    let written = 0;
    let stop = false;
    const server = await listen((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        // 32 MiB at most, then the connection is held open without an end.
        while (!stop && written < 32 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    try {
      const t0 = Date.now();
      const r = await postSigned({ baseUri: server.url, action: 'on_search', body, key, nowMs: Date.now(), timeoutMs: 4_000 });
      const took = Date.now() - t0;
      stop = true;
      assert.equal(r.ack, null);
      assert.match(r.problem ?? '', /answer is larger than 1048576 bytes/);
      assert.ok(took < 2_000, `took ${took} ms: the answer was read until the timeout`);
      assert.ok(written < 16 * 1024 * 1024, `${written} bytes were sent before the client stopped reading`);
    } finally {
      stop = true;
      await server.close();
    }
  });

  test('a declared content-length over the limit is refused without reading the body', async () => {
    const server = await listen((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) });
      res.write('{"message":');
    });
    try {
      const t0 = Date.now();
      const r = await postSigned({ baseUri: server.url, action: 'on_search', body, key, nowMs: Date.now(), timeoutMs: 4_000 });
      assert.match(r.problem ?? '', /answer is larger than 1048576 bytes/);
      assert.ok(Date.now() - t0 < 2_000);
    } finally {
      await server.close();
    }
  });

  test('an ordinary ACK and NACK are still read', async () => {
    const server = await listen((req, res) => {
      req.resume();
      const nack = req.url?.endsWith('/on_select');
      res.writeHead(nack ? 400 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(nack ? { message: { ack: { status: 'NACK' } }, error: { code: '30000', message: 'no' } } : { message: { ack: { status: 'ACK' } } }));
    });
    try {
      const a = await postSigned({ baseUri: server.url, action: 'on_search', body, key, nowMs: Date.now() });
      assert.deepEqual(a, { httpStatus: 200, ack: 'ACK', error: null, problem: null });
      const n = await postSigned({ baseUri: server.url, action: 'on_select', body, key, nowMs: Date.now() });
      assert.deepEqual(n, { httpStatus: 400, ack: 'NACK', error: { code: '30000', message: 'no' }, problem: null });
    } finally {
      await server.close();
    }
  });
});

/**
 * A message goes only to the receiver's registered address, checked before sending. Fetch
 * follows redirects by default: a receiver answering 307 (or 303) made the site send the signed
 * body (or a GET) to any address it named, such as a service on this machine's loopback, and
 * the start of that service's answer was copied into the ledger's record of the attempt.
 */
describe('postSigned does not follow a redirect', { timeout: 30_000 }, () => {
  for (const status of [301, 302, 303, 307, 308]) {
    test(`a ${status} answer is final: nothing reaches the address it names`, async () => {
      const reached: string[] = [];
      const internal = await listen((req, res) => {
        reached.push(`${req.method} ${req.url}`);
        req.resume();
        res.end('SECRET-INTERNAL-DATA');
      });
      const receiver = await listen((req, res) => {
        req.resume();
        res.writeHead(status, { location: `${internal.url}/admin/delete-all` });
        res.end();
      });
      try {
        const r = await postSigned({ baseUri: receiver.url, action: 'on_confirm', body, key, nowMs: Date.now(), timeoutMs: 4_000 });
        assert.deepEqual(reached, [], 'the redirect was followed');
        assert.equal(r.httpStatus, status);
        assert.equal(r.ack, null);
        assert.match(r.problem ?? '', new RegExp(`answered ${status}, a redirect: not followed`));
      } finally {
        await receiver.close();
        await internal.close();
      }
    });
  }

  test("an answer that is not JSON is recorded by its length, not copied", async () => {
    const receiver = await listen((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('SECRET-INTERNAL-DATA and more');
    });
    try {
      const r = await postSigned({ baseUri: receiver.url, action: 'on_confirm', body, key, nowMs: Date.now(), timeoutMs: 4_000 });
      assert.equal(r.problem, 'the answer is not JSON (29 characters)');
    } finally {
      await receiver.close();
    }
  });
});
