import type { FastifyInstance } from 'fastify';
import { httpRefusal } from './refusals.ts';
import { truncateText as cut } from '../runtime/input-limits.ts';

const LOOPBACK_NAME = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** Whether `host` (as given to listen) is a loopback address or name. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_NAME.test(host.trim());

/** The name in a Host header, without its port (`[::1]:8080` → `[::1]`). */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * DNS rebinding: a web page the operator visits can point its own name at 127.0.0.1 and then
 * read a server bound to loopback, which has no other guard (the dashboard has no login; the
 * jobs API explains jobs to anyone who asks). A browser always sends the page's name as Host,
 * so a server bound to loopback answers only requests whose Host names loopback (`localhost`,
 * `127.x.x.x`, `[::1]`, any port) or one of `allowed`; others get 421 naming why. A server
 * bound to another address is reached by names this cannot know, and is not checked.
 */
export function guardLoopbackHost(app: FastifyInstance, boundHost: string, allowed: ReadonlyArray<string> = allowedHostsFromEnv()): void {
  if (!isLoopbackHost(boundHost)) return;
  const extra = new Set(allowed.map((a) => hostName(a)));
  app.addHook('onRequest', async (req, reply) => {
    const header = req.headers.host;
    if (header === undefined) return;
    const name = hostName(header);
    if (LOOPBACK_NAME.test(name) || extra.has(name)) return;
    return reply
      .code(421)
      .header('content-type', 'application/json; charset=utf-8')
      .send(httpRefusal(`host refused: this server listens on loopback and answers only for localhost, 127.0.0.1 or [::1], not "${cut(name, 64)}" (a page that points its own name at this machine could read it otherwise)`));
  });
}

export const ALLOWED_HOSTS_ENV = 'CACO_ALLOWED_HOSTS';

/**
 * More names a loopback-bound server answers for, from `CACO_ALLOWED_HOSTS` (comma-separated):
 * the name a proxy on the same machine forwards (Caddy, Traefik and the like pass the public Host on).
 */
export function allowedHostsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return (env[ALLOWED_HOSTS_ENV] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}
