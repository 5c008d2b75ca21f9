import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { ConfigError } from '../errors/index.ts';

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

/** `CACO_HTTP_CONNECTIONS` = `<total>:<per-address>` (e.g. `1024:64`); unset, the defaults. */
export function connectionLimitsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ConnectionLimits {
  const raw = env[CONNECTIONS_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_CONNECTION_LIMITS;
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
 * Close at once any connection past `limits`: past the total by Node itself (`maxConnections`),
 * past one address's share here, before a byte of it is read. Behind a proxy every client has
 * the proxy's address: raise `perAddress` to the total there (the proxy should bound its clients).
 */
export function limitConnections(server: Server, limits: ConnectionLimits = connectionLimitsFromEnv()): () => ConnectionRefusals {
  server.maxConnections = limits.total;
  const open = new Map<string, number>();
  let overTotal = 0;
  let overPerAddress = 0;
  server.on('drop', () => {
    overTotal++;
  });
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (open.get(address) ?? 0) + 1;
    if (n > limits.perAddress) {
      overPerAddress++;
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  return () => ({ overTotal, overPerAddress });
}
