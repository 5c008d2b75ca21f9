import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectionLimitsFromEnv, DEFAULT_CONNECTION_LIMITS, frameworkErrorRefusal, guardLoopbackHost, httpServerOptions, jobIdParamRefusal, notFoundRefusal } from '../core/http/index.ts';
import type { PublicKeyDirectory } from '../core/ledger/index.ts';
import { verifiedView, type EventStore } from '../core/store/index.ts';
import { createLogger, type Logger } from '../core/log/index.ts';
import { RateLimiter, type RateLimit } from '../core/runtime/index.ts';
import { explainJob, explanationStatus } from '../projections/explain/index.ts';
import { chartsJsPath, echartsPath } from '../sim/report/index.ts';
import { LiveModel } from './live-model.ts';
import { SettlementDays } from './settlement-days.ts';
import { dashboardView, type DashboardView, type ViewOptions } from './view.ts';

export interface DashboardOptions {
  readonly store: EventStore;
  readonly keys: PublicKeyDirectory;
  /** Where an explanation's reader logs what it quarantines (default: stderr). */
  readonly log?: Logger;
  /** Default 127.0.0.1: the dashboard is a local tool. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Least time between two snapshots pushed to the page (default 250 ms). */
  readonly pushEveryMs?: number;
  readonly verifyEveryMs?: number;
  readonly view?: ViewOptions;
  /** Time to send a whole request (default `HTTP_REQUEST_TIMEOUT_MS`); then 408 and the connection is closed. */
  readonly requestTimeoutMs?: number;
  /** Open /api/stream connections at most (default 64); past it a 503 with Retry-After. */
  readonly maxStreams?: number;
  /** Per-client-address token buckets on /api/jobs/:id/explain (default 2 a second, burst 10; false: none). */
  readonly explainRate?: RateLimit | false;
  /** Milliseconds now, for the rate limit (default the wall clock). */
  readonly now?: () => number;
}

export interface Dashboard {
  readonly url: string;
  readonly live: LiveModel;
  view(): DashboardView;
  close(): Promise<void>;
}

/**
 * Most bytes queued for one event-stream client. Each push is a whole snapshot, so a client
 * this far behind (it stopped reading) skips snapshots instead of having every one buffered
 * for it, and gets the newest once it has read what is queued.
 */
const MAX_QUEUED_BYTES = 1024 * 1024;

export const DEFAULT_MAX_STREAMS = 64;
/** Seconds a refused event-stream client is asked to wait before trying again. */
const STREAM_RETRY_AFTER_S = 10;
/**
 * An explanation reads the job's stream through verify-on-read and scans the forecasts and
 * orders it may cite (~0.6 s on the default week), so one address may not keep the dashboard
 * doing that: the same per-address buckets as the site's GET /jobs/:id, at a rate that fits the cost.
 */
export const DEFAULT_EXPLAIN_RATE_LIMIT: RateLimit = { perSecond: 2, burst: 10 };

const refusal = (reason: string) => ({ ok: false, error: { reason } });

const publicFile = (f: string) => fileURLToPath(new URL(`./public/${f}`, import.meta.url));

/** Static files: the page and its scripts, ECharts from node_modules. Nothing from the network. */
function assets(): Record<string, { type: string; body: string }> {
  const js = 'text/javascript; charset=utf-8';
  return {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(publicFile('index.html'), 'utf8') },
    '/assets/app.js': { type: js, body: readFileSync(publicFile('app.js'), 'utf8') },
    '/assets/app.css': { type: 'text/css; charset=utf-8', body: readFileSync(publicFile('app.css'), 'utf8') },
    '/assets/charts.js': { type: js, body: readFileSync(chartsJsPath(), 'utf8') },
    '/assets/echarts.min.js': { type: js, body: readFileSync(echartsPath('full'), 'utf8') },
  };
}

/**
 * Serve the live projections: `/api/view` (one snapshot), `/api/stream` (server-sent events:
 * a snapshot on connect and after every change, at most one per `pushEveryMs`; at most
 * `maxStreams` open), `/api/jobs/:id/explain` (why a job ran when it did, with ledger event
 * ids; rate-limited per address). The snapshot is built once per change and shared.
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const files = assets();
  const clients = new Set<(data: string) => void>();
  const streams = new Set<{ end(): void }>();
  let pending: NodeJS.Timeout | null = null;
  let lastPush = 0;
  const pushEvery = o.pushEveryMs ?? 250;
  let live: LiveModel | null = null;
  // One view (and its JSON) per model and verification: every push, stream and /api/view
  // between two changes shares it, and nothing is rebuilt when nothing changed.
  const days = new SettlementDays();
  let built: { model: LiveModel['model']; verification: LiveModel['verification']; view: DashboardView; json: string | null } | null = null;
  const current = () => {
    const l = live!;
    if (!built || built.model !== l.model || built.verification !== l.verification) {
      built = { model: l.model, verification: l.verification, view: dashboardView(l.model, l.verification, o.view, days), json: null };
    }
    return built;
  };
  const view = () => current().view;
  const json = () => {
    const b = current();
    return (b.json ??= JSON.stringify(b.view));
  };
  const push = () => {
    pending = null;
    lastPush = Date.now();
    if (clients.size === 0 || !live) return;
    const data = json();
    for (const send of clients) send(data);
  };
  const changed = () => {
    if (pending) return;
    pending = setTimeout(push, Math.max(0, pushEvery - (Date.now() - lastPush)));
  };
  live = await LiveModel.start({ store: o.store, keys: o.keys, onChange: changed, ...(o.verifyEveryMs !== undefined ? { verifyEveryMs: o.verifyEveryMs } : {}) });

  // Explanations read the ledger through verify-on-read, as the live view does.
  const explainable = verifiedView(o.store, o.keys, o.log ?? createLogger());
  const maxStreams = o.maxStreams ?? DEFAULT_MAX_STREAMS;
  // By default, room for every stream and the page's other requests, from one address too: a
  // loopback browser is one address, and past 64 connections (the default share) every new one
  // was reset before the 503 below could say why, the page and /api/view included. A limit set
  // in CACO_HTTP_CONNECTIONS is the operator's and holds as set.
  const connections = connectionLimitsFromEnv(process.env, { total: Math.max(DEFAULT_CONNECTION_LIMITS.total, maxStreams + 64), perAddress: Math.max(DEFAULT_CONNECTION_LIMITS.perAddress, maxStreams + 16) });
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true, ...httpServerOptions({ requestTimeoutMs: o.requestTimeoutMs, connections }), frameworkErrors: frameworkErrorRefusal });
  guardLoopbackHost(app, o.host ?? '127.0.0.1');
  app.setNotFoundHandler(notFoundRefusal('the dashboard (/), /api/view, /api/stream and /api/jobs/:id/explain'));
  for (const [path, f] of Object.entries(files)) app.get(path, (_req, reply) => reply.type(f.type).header('cache-control', 'no-cache').send(f.body));
  app.get('/favicon.ico', (_req, reply) => reply.code(204).send());
  app.get('/api/view', (_req, reply) => reply.type('application/json; charset=utf-8').send(json()));
  const limiter = o.explainRate === false ? undefined : new RateLimiter(o.explainRate ?? DEFAULT_EXPLAIN_RATE_LIMIT);
  const now = o.now ?? Date.now;
  const perAddress = async (req: FastifyRequest, reply: FastifyReply) => {
    const admitted = limiter?.take(req.ip, now(), `address ${req.ip}`) ?? { ok: true as const };
    if (!admitted.ok) return reply.code(429).header('retry-after', Math.ceil(admitted.retryAfterMs / 1000)).send(refusal(admitted.reason));
  };
  app.get<{ Params: { id: string } }>('/api/jobs/:id/explain', { preHandler: perAddress }, async (req, reply) => {
    const bad = jobIdParamRefusal(req.params.id);
    if (bad) return reply.code(400).send(bad);
    const x = await explainJob(explainable, req.params.id);
    return reply.code(explanationStatus(x)).send(x);
  });
  // GET only: Fastify's automatic HEAD route ran this handler, whose hijacked response sent
  // nothing to a HEAD request, and so held a stream's place with no answer, for ever.
  app.get('/api/stream', { exposeHeadRoute: false }, (req, reply) => {
    if (streams.size >= maxStreams) {
      return reply.code(503).header('retry-after', STREAM_RETRY_AFTER_S).send(refusal(`the dashboard serves ${maxStreams} live streams at most and all are open; retry in ${STREAM_RETRY_AFTER_S} s, or read /api/view`));
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let behind = false;
    const send = (data: string) => {
      if (res.writableLength > MAX_QUEUED_BYTES) behind = true;
      else res.write(`event: view\ndata: ${data}\n\n`);
    };
    res.on('drain', () => {
      if (!behind) return;
      behind = false;
      send(json());
    });
    send(json());
    clients.add(send);
    streams.add(res);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(beat);
      clients.delete(send);
      streams.delete(res);
    });
  });

  let url: string;
  try {
    url = await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 8080 });
  } catch (err) {
    await live.close();
    throw err;
  }
  return {
    url,
    live,
    view,
    async close() {
      if (pending) clearTimeout(pending);
      clients.clear();
      for (const r of streams) r.end();
      await live!.close();
      // Open event streams would keep close() waiting forever.
      await app.close().catch(() => undefined);
    },
  };
}
