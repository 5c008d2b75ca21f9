/**
 * Is there a Docker engine to start test containers on? Answered at once where there is
 * none: the socket and DOCKER_HOST are looked at first (no library loaded, no network), and
 * only when one of them is there is testcontainers asked, with a short time limit.
 *
 * Docker-only tests (a KurrentDB container) skip with the reason wherever no engine runs,
 * CI included: CI machines here have no Docker engine, and these tests need nothing else.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type DockerProbe = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface DockerProbeOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Unix sockets to look for when DOCKER_HOST is unset (default: the usual Docker/Podman places). */
  readonly sockets?: ReadonlyArray<string>;
  /** Limit for the TCP check of a tcp:// DOCKER_HOST and for testcontainers' own check (ms). */
  readonly timeoutMs?: number;
  /** Ask testcontainers once a socket is found (default true; false for tests of this probe). */
  readonly askTestcontainers?: boolean;
}

export function defaultDockerSockets(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const uid = process.getuid?.();
  return [
    '/var/run/docker.sock',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
    ...(env['XDG_RUNTIME_DIR'] ? [join(env['XDG_RUNTIME_DIR'], 'docker.sock'), join(env['XDG_RUNTIME_DIR'], 'podman', 'podman.sock')] : []),
    ...(uid !== undefined ? [`/run/user/${uid}/docker.sock`] : []),
  ];
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function dockerAvailable(opts: DockerProbeOptions = {}): Promise<DockerProbe> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const host = env['DOCKER_HOST'];
  if (host) {
    if (host.startsWith('unix://')) {
      const path = host.slice('unix://'.length);
      if (!existsSync(path)) return { ok: false, reason: `no Docker engine: DOCKER_HOST=${host}, but there is no socket at ${path}` };
    } else if (/^tcp:\/\//.test(host)) {
      const u = new URL(host.replace(/^tcp:/, 'http:'));
      if (!(await tcpReachable(u.hostname, Number(u.port || 2375), Math.min(timeoutMs, 1500)))) return { ok: false, reason: `no Docker engine: nothing answers at DOCKER_HOST=${host}` };
    }
  } else {
    const sockets = opts.sockets ?? defaultDockerSockets(env);
    if (!sockets.some((s) => existsSync(s))) return { ok: false, reason: `no Docker engine: DOCKER_HOST is unset and there is no socket at ${sockets.join(', ')}` };
  }
  if (opts.askTestcontainers === false) return { ok: true };
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), timeoutMs, "testcontainers' container runtime check");
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `no usable Docker engine (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** The `skip` option for Docker-only tests: the reason (printed), or false when an engine is there. */
export async function dockerSkip(what: string, opts: DockerProbeOptions = {}): Promise<string | false> {
  const probe = await dockerAvailable(opts);
  if (probe.ok) return false;
  const reason = `${what}: skipped (${probe.reason})${process.env['CI'] === 'true' ? ' — also under CI=true: Docker-only tests need an engine and nothing else' : ''}`;
  process.stderr.write(`${reason}\n`);
  return reason;
}
