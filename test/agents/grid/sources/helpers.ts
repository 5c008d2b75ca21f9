import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FetchFn } from '../../../../agents/grid/sources/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function fixtureText(name: string): string {
  return readFileSync(join(here, 'fixtures', name), 'utf8');
}

export function fixture<T = unknown>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

export interface FakeReply {
  status?: number;
  body: string | object;
  headers?: Record<string, string>;
}

/** A `fetch` that answers from a handler, records every URL, and honours the abort signal. */
export function fakeFetch(handler: (url: URL) => FakeReply | Promise<FakeReply>): FetchFn & { urls: URL[] } {
  const urls: URL[] = [];
  const f = async (input: string, init: { signal: AbortSignal }) => {
    const url = new URL(input);
    urls.push(url);
    if (init.signal.aborted) throw new DOMException('aborted', 'AbortError');
    const r = await handler(url);
    const body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    return new Response(body, { status: r.status ?? 200, headers: { 'content-type': 'application/json', ...r.headers } });
  };
  return Object.assign(f, { urls });
}

/** Records the back-off delays asked for, without waiting. */
export function recordingSleep(): ((ms: number) => Promise<void>) & { calls: number[] } {
  const calls: number[] = [];
  return Object.assign((ms: number) => {
    calls.push(ms);
    return Promise.resolve();
  }, { calls });
}

export interface LocalServer {
  baseUrl: string;
  requests: string[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 with an ephemeral port. */
export async function localServer(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<LocalServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handle(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const HH = 30 * 60 * 1000;
export const utc = (s: string) => Date.parse(s);
