import { createServer, type RequestListener, type Server as HttpServer, type ServerOptions } from 'node:http';
import type { Server, Socket } from 'node:net';
import { ConfigError, envValue } from '../errors/index.ts';

/** How many connections a server holds at once, in all and from one client address. */
export interface ConnectionLimits {
  readonly total: number;
  readonly perAddress: number;
}

/**
 * Each connection may hold a body up to the server's limit (1 MiB for Beckn) while it is sent,
 * for up to the request time limit: without a bound, one client opening thousands of slow
 * connections made the process buffer thousands of bodies. 1,024 × 1 MiB is the most a Beckn
 * server buffers; one address holds at most 64 of them.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { total: 1_024, perAddress: 64 };

export const CONNECTIONS_ENV = 'CACO_HTTP_CONNECTIONS';

/** `CACO_HTTP_CONNECTIONS` = `<total>:<per-address>` (e.g. `1024:64`); unset, `defaults` (a server's own, or DEFAULT_CONNECTION_LIMITS). */
export function connectionLimitsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env, defaults: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): ConnectionLimits {
  const raw = envValue(env, CONNECTIONS_ENV)?.trim();
  if (raw === undefined) return defaults;
  const m = /^(\d{1,7}):(\d{1,7})$/.exec(raw);
  const total = m ? Number(m[1]) : Number.NaN;
  const perAddress = m ? Number(m[2]) : Number.NaN;
  if (!m || total < 1 || perAddress < 1 || perAddress > total) {
    throw new ConfigError(CONNECTIONS_ENV, `"${raw.slice(0, 64)}" must be <total>:<per-address>, whole numbers from 1 with per-address at most total, e.g. 1024:64`);
  }
  return { total, perAddress };
}

/** What a guarded server has turned away since it started. */
export interface ConnectionRefusals {
  readonly overTotal: number;
  readonly overPerAddress: number;
}

/**
 * Connections held at once, counted across every server it guards: Fastify listens on each
 * address a name resolves to (`localhost`: 127.0.0.1 and ::1) with a server of its own, and the
 * limits were on the first only (a helper's review: 20 of 20 connections to ::1 held, against 2).
 * Past the total or one address's share a connection is closed before a byte of it is read.
 * Behind a proxy every client has the proxy's address: raise `perAddress` to the total there.
 */
export class ConnectionGate {
  private readonly open = new Map<string, number>();
  private total = 0;
  private overTotal = 0;
  private overPerAddress = 0;

  constructor(readonly limits: ConnectionLimits = connectionLimitsFromEnv()) {}

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  get refusals(): ConnectionRefusals {
    return { overTotal: this.overTotal, overPerAddress: this.overPerAddress };
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const n = (this.open.get(address) ?? 0) + 1;
    if (this.total >= this.limits.total) {
      this.overTotal++;
      socket.destroy();
      return;
    }
    if (n > this.limits.perAddress) {
      this.overPerAddress++;
      socket.destroy();
      return;
    }
    this.open.set(address, n);
    this.total++;
    socket.once('close', () => {
      this.total--;
      const left = (this.open.get(address) ?? 1) - 1;
      if (left <= 0) this.open.delete(address);
      else this.open.set(address, left);
    });
  }
}

/** The Fastify options a server's HTTP listeners are made with (see fastifyServerFactory). */
interface FastifyServerOptions {
  readonly http?: ServerOptions;
  readonly keepAliveTimeout?: number;
  readonly requestTimeout?: number;
  readonly connectionTimeout?: number;
  readonly maxRequestsPerSocket?: number;
}

/**
 * A Fastify `serverFactory` that makes each of its HTTP servers (the main one and one per further
 * address) as Fastify would, and puts it behind `gate`.
 */
export function fastifyServerFactory(gate: ConnectionGate): (handler: RequestListener, options: FastifyServerOptions) => HttpServer {
  return (handler, options) => {
    const server = createServer(options.http ?? {}, handler);
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    if ((options.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket!;
    gate.attach(server);
    return server;
  };
}
