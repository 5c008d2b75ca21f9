/**
 * The live clients against a real HTTP server on 127.0.0.1: timeouts, retries and errors go
 * through Node's own fetch and sockets, not a fake.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { BadResponseError, CarbonIntensityClient, ElexonClient, LiveSignalSource, SourceUnavailableError } from '../../../../agents/grid/sources/index.ts';
import { fixtureText, localServer, recordingSleep, utc, type LocalServer } from './helpers.ts';

const FW48H = fixtureText('ci-national-fw48h-2026-01-15T1630Z.json');
const FROM = utc('2026-01-15T16:30Z');

const servers: LocalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
// Node loads its fetch implementation on first use, which can take longer than the short
// timeouts below; warm it up so the first test measures the client, not the loader.
before(async () => {
  const s = await serve((_req, res) => res.end('{}'));
  await (await fetch(s.baseUrl)).text();
});

async function serve(...args: Parameters<typeof localServer>): Promise<LocalServer> {
  const s = await localServer(...args);
  servers.push(s);
  return s;
}

async function rejection<E>(p: Promise<unknown>, type: new (...a: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('live client over real HTTP (127.0.0.1)', () => {
  test('a server that never answers: each attempt times out, then SourceUnavailable', async () => {
    const s = await serve(() => {
      /* never respond */
    });
    const sleep = recordingSleep();
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, timeoutMs: 150, retry: { maxAttempts: 2 }, sleep });
    const t0 = performance.now();
    const e = await rejection(c.fw48h(FROM), SourceUnavailableError);
    const elapsed = performance.now() - t0;
    assert.equal(e._tag, 'SourceUnavailable');
    assert.match(e.reason, /timed out after 150 ms/);
    assert.equal(e.attempts, 2);
    assert.equal(e.retryable, true);
    assert.equal(e.status, null);
    assert.equal(e.endpoint, 'carbon-intensity /intensity/{from}/fw48h');
    assert.equal(s.requests.length, 2);
    assert.equal(sleep.calls.length, 1);
    assert.ok(elapsed >= 290 && elapsed < 3000, `elapsed ${elapsed} ms`);
  });

  test('a body that stalls after the headers also times out', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data": [');
    });
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, timeoutMs: 150, retry: { maxAttempts: 1 } });
    const e = await rejection(c.fw48h(FROM), SourceUnavailableError);
    assert.match(e.reason, /timed out/);
    assert.equal(e.attempts, 1);
  });

  test('500 then 200: retried once, with a back-off wait, and the answer is used', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 1) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"500 Internal Server Error","message":"try later"}}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(FW48H);
      }
    });
    const sleep = recordingSleep();
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, retry: { maxAttempts: 3, baseDelayMs: 400, maxDelayMs: 5000 }, random: () => 0.5, sleep });
    const points = await c.fw48h(FROM);
    assert.equal(points.length, 96);
    assert.equal(s.requests.length, 2);
    assert.deepEqual(sleep.calls, [200]);
    assert.equal(s.requests[0], '/intensity/2026-01-15T16:30Z/fw48h');
  });

  test('the default sleep really waits between attempts (exponential)', async () => {
    const times: number[] = [];
    const s = await serve((_req, res) => {
      times.push(performance.now());
      res.writeHead(503);
      res.end();
    });
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, retry: { maxAttempts: 3, baseDelayMs: 60, maxDelayMs: 1000 }, random: () => 0.999 });
    const e = await rejection(c.fw48h(FROM), SourceUnavailableError);
    assert.equal(e.status, 503);
    assert.equal(e.attempts, 3);
    assert.equal(times.length, 3);
    const gaps = [(times[1] as number) - (times[0] as number), (times[2] as number) - (times[1] as number)];
    assert.ok(gaps[0]! >= 55 && gaps[1]! >= 110, `gaps ${gaps.join(', ')}`);
  });

  test('429 with Retry-After is retried no sooner than the server asked', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'retry-after': '2' });
        res.end();
      } else {
        res.writeHead(200);
        res.end(FW48H);
      }
    });
    const sleep = recordingSleep();
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, retry: { baseDelayMs: 10, maxDelayMs: 8000 }, random: () => 0, sleep });
    await c.fw48h(FROM);
    assert.deepEqual(sleep.calls, [2000]);
  });

  test('400 is not retried and the provider message is in the reason', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(fixtureText('ci-error-400.json'));
    });
    const sleep = recordingSleep();
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, sleep });
    const e = await rejection(c.range(utc('2026-01-01T00:00Z'), utc('2026-01-02T00:00Z')), SourceUnavailableError);
    assert.equal(s.requests.length, 1);
    assert.equal(sleep.calls.length, 0);
    assert.equal(e.status, 400);
    assert.equal(e.retryable, false);
    assert.match(e.reason, /HTTP 400: Please enter a valid date range/);
    assert.equal(e.toFailure()._tag, 'SourceUnavailable');
  });

  test('404 is not retried either', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(404);
      res.end('Not Found');
    });
    const c = new ElexonClient({ baseUrl: s.baseUrl, sleep: recordingSleep() });
    const e = await rejection(c.systemPrices('2026-01-15'), SourceUnavailableError);
    assert.equal(s.requests.length, 1);
    assert.equal(e.status, 404);
    assert.equal(e.endpoint, 'elexon /balancing/settlement/system-prices/{settlementDate}');
  });

  test('a wrong-shape body is a BadResponse naming endpoint and field paths, not retried', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200);
      res.end(fixtureText('ci-national-fw48h-wrong-shape.json'));
    });
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, sleep: recordingSleep() });
    const e = await rejection(c.fw48h(FROM), BadResponseError);
    assert.equal(s.requests.length, 1);
    const paths = e.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['data[1].intensity.forecast', 'data[2].to']);
    assert.match(e.message, /carbon-intensity \/intensity\/\{from\}\/fw48h: bad response: .*data\[1\]\.intensity\.forecast/);
    assert.match(e.url, /\/intensity\/2026-01-15T16:30Z\/fw48h$/);
    const f = e.toFailure();
    assert.equal(f._tag, 'BadResponse');
  });

  test('a body past the size bound is refused unread, once, not retried; gzip counts as it inflates; a small gzip body still reads', async () => {
    // Before, a 200 MB body was read whole into memory (a helper's review).
    const pad = 'a'.repeat(1024 * 1024);
    const big = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[],"pad":"');
      for (let i = 0; i < 9; i++) res.write(pad);
      res.end('"}');
    });
    const sleep = recordingSleep();
    const e = await rejection(new CarbonIntensityClient({ baseUrl: big.baseUrl, retry: { maxAttempts: 3 }, sleep }).fw48h(FROM), SourceUnavailableError);
    assert.match(e.reason, /larger than 8388608 bytes/);
    assert.equal(e.retryable, false);
    assert.equal(big.requests.length, 1);
    assert.equal(sleep.calls.length, 0);
    const bomb = gzipSync(Buffer.from(`{"data":[],"pad":"${'a'.repeat(3 * 1024 * 1024)}"}`));
    assert.ok(bomb.length < 64 * 1024, `${bomb.length} bytes of gzip`);
    const zipped = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
    const z = await rejection(new CarbonIntensityClient({ baseUrl: zipped.baseUrl, maxResponseBytes: 1024 * 1024, sleep: recordingSleep() }).fw48h(FROM), SourceUnavailableError);
    assert.match(z.reason, /larger than 1048576 bytes \(decompressed\)/);
    const small = gzipSync(Buffer.from(FW48H));
    const ok = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(small);
    });
    const points = await new CarbonIntensityClient({ baseUrl: ok.baseUrl, sleep: recordingSleep() }).fw48h(FROM);
    assert.ok(points.length > 0);
  });

  test('a 200 that is not JSON is a BadResponse', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    });
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, sleep: recordingSleep() });
    const e = await rejection(c.fw48h(FROM), BadResponseError);
    assert.match(e.reason, /not JSON.*maintenance/);
  });

  test('connection refused is a network error and is retried', async () => {
    // Take a free port, then close it so nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const sleep = recordingSleep();
    const c = new ElexonClient({ baseUrl: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3 }, sleep });
    const e = await rejection(c.marketIndex(utc('2026-01-15T00:00Z'), utc('2026-01-15T01:00Z')), SourceUnavailableError);
    assert.equal(e.attempts, 3);
    assert.equal(sleep.calls.length, 2);
    assert.match(e.reason, /network error.*(ECONNREFUSED|fetch failed)/);
  });

  test('the caller can cancel: no further attempts', async () => {
    const s = await serve(() => {
      /* never respond */
    });
    const ac = new AbortController();
    const c = new CarbonIntensityClient({ baseUrl: s.baseUrl, timeoutMs: 5000, retry: { maxAttempts: 5 }, sleep: recordingSleep() });
    const p = c.fw48h(FROM, ac.signal);
    setTimeout(() => ac.abort(), 50);
    const e = await rejection(p, SourceUnavailableError);
    assert.match(e.reason, /cancelled/);
    assert.equal(e.retryable, false);
    assert.equal(s.requests.length, 1);
  });

  test('LiveSignalSource end to end over HTTP: both APIs, fixtures served from disk', async () => {
    const s = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (name: string) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(fixtureText(name));
      };
      if (url.pathname === '/ci/intensity/2023-03-25T23:00Z/2023-03-27T00:00Z') return send('ci-national-range-2023-03-25T2300Z-2023-03-27T0000Z.json');
      if (url.pathname === '/bmrs/balancing/settlement/system-prices/2023-03-26') return send('elexon-system-prices-2023-03-26.json');
      // 23:00Z on the 26th is already the 27th in London (BST), so three settlement days are asked
      if (/^\/bmrs\/balancing\/settlement\/system-prices\/2023-03-2[57]$/.test(url.pathname)) {
        res.writeHead(200);
        return res.end('{"data":[],"metadata":{"datasets":["DISEBSP"]}}');
      }
      if (url.pathname === '/bmrs/balancing/pricing/market-index' && url.searchParams.get('from') === '2023-03-25T23:00:00Z') {
        res.writeHead(200);
        return res.end('{"data":[]}');
      }
      res.writeHead(404);
      res.end(`no fixture for ${req.url}`);
    });
    const opts = { sleep: recordingSleep(), retry: { maxAttempts: 1 } };
    const src = new LiveSignalSource({
      carbon: new CarbonIntensityClient({ ...opts, baseUrl: `${s.baseUrl}/ci` }),
      elexon: new ElexonClient({ ...opts, baseUrl: `${s.baseUrl}/bmrs` }),
    });
    const pts = await src.observed(utc('2023-03-25T23:00Z'), utc('2023-03-27T00:00Z'), utc('2023-03-28T00:00Z'));
    assert.equal(pts.length, 50);
    const withPrice = pts.filter((p) => p.imbalancePriceGbpPerMwh !== null);
    assert.equal(withPrice.length, 44);
    assert.equal(withPrice[0]!.fromMs, utc('2023-03-26T00:00Z'));
    assert.ok(pts.every((p) => p.carbonActualGPerKwh !== null && p.marketIndexPriceGbpPerMwh === null));
    assert.deepEqual(s.requests.filter((r) => r.includes('system-prices')).sort(), [
      '/bmrs/balancing/settlement/system-prices/2023-03-25',
      '/bmrs/balancing/settlement/system-prices/2023-03-26',
      '/bmrs/balancing/settlement/system-prices/2023-03-27',
    ]);
  });
});
