import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { Msg, NatsConnection, SubscriptionOptions } from '@nats-io/transport-node';
import { isReplySubject } from '../bus/subject.ts';
import { aimsAtOwnRequest } from '../bus/own-requests.ts';
import type { Logger } from '../log/logger.ts';
import type { GatewayEndpoint } from './gateway.ts';

/**
 * Discovery through the NATS services framework rather than a registry of our own: every
 * service added here answers `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (and the same with its
 * name, and its name and id), so `nats micro list` or any client in any language lists the
 * gateway and the site's agents with what they publish and consume.
 */
export interface DiscoverableService {
  /** Letters, digits, "-" and "_" (the framework's rule). */
  readonly name: string;
  /** Semantic version (the framework's rule). */
  readonly version: string;
  readonly description: string;
  /** Strings only (the framework's rule): lists are comma-separated. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Endpoints served through the service (so STATS counts them); none for a listing only. */
  readonly endpoints?: ReadonlyArray<GatewayEndpoint>;
  /** Queue group of the endpoints (several instances share the work). */
  readonly queue?: string;
}

export interface ServiceHandle {
  readonly services: ReadonlyArray<Service>;
  stop(): Promise<void>;
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** A version the framework accepts: `0.1` → `0.1.0`; anything else not semver → `0.0.0+<it>` cleaned. */
export function semverOf(v: string): string {
  if (SEMVER.test(v)) return v;
  const parts = v.split('.');
  if (parts.length === 2 && parts.every((p) => /^\d+$/.test(p))) return `${v}.0`;
  if (parts.length === 1 && /^\d+$/.test(v)) return `${v}.0.0`;
  return `0.0.0+${v.replace(/[^0-9A-Za-z.-]/g, '-').slice(0, 40) || 'unknown'}`;
}

export async function serveAsServices(nc: NatsConnection, services: ReadonlyArray<DiscoverableService>, log?: Logger): Promise<ServiceHandle> {
  const svcm = new Svcm(inboxAnswersOnly(nc) as ConstructorParameters<typeof Svcm>[0]);
  const started: Service[] = [];
  try {
    for (const d of services) {
      const svc = await svcm.add({ name: d.name, version: semverOf(d.version), description: d.description, metadata: { ...d.metadata } });
      started.push(svc);
      for (const e of d.endpoints ?? []) {
        svc.addEndpoint(e.name, {
          subject: e.subject,
          ...(d.queue ? { queue: d.queue } : {}),
          handler: (err: Error | null, msg: ServiceMsg) => {
            if (err) {
              log?.error({ service: d.name, endpoint: e.name, err: err.message }, 'service endpoint stopped');
              return;
            }
            // Each request runs as it arrives (the framework does not wait for the last): an
            // endpoint bounds its own requests in progress (SiteGateway's maxInFlight, and
            // maxInFlightPerKey per key).
            void e
              .handle(msg.data)
              .then(
                (reply) => msg.respond(reply),
                (failure: unknown) => msg.respondError(500, failure instanceof Error ? failure.message.slice(0, 200) : 'error'),
              )
              .catch((failure: unknown) => {
                // The reply could not be sent (larger than the server's max_payload, or the
                // connection is closing): said to the requester if it can be, never a rejection
                // nobody handles, which would end the process.
                const reason = failure instanceof Error ? failure.message.slice(0, 200) : String(failure);
                log?.error({ service: d.name, endpoint: e.name, err: reason }, 'service endpoint could not send its reply');
                try {
                  msg.respondError(500, `the reply could not be sent: ${reason}`);
                } catch {
                  // The connection is gone: nothing more to say.
                }
              });
          },
        });
      }
    }
  } catch (err) {
    for (const s of started) await s.stop().catch(() => undefined);
    throw err;
  }
  return {
    services: started,
    async stop() {
      for (const s of started) await s.stop().catch(() => undefined);
    },
  };
}

/**
 * The connection as the services framework sees it: a message whose reply subject is no inbox
 * (isReplySubject) never reaches a handler, the framework's own `$SRV.PING`/`INFO`/`STATS`
 * answers included, which answer any reply subject with the site's permissions (a PING "answered"
 * to `$KV.caco_<site>_keys.<key>` would overwrite that key's registry entry). The framework
 * answers through the message, not the connection, so it is filtered where messages arrive.
 */
function inboxAnswersOnly(nc: NatsConnection): NatsConnection {
  return new Proxy(nc, {
    get(target, prop, receiver) {
      if (prop !== 'subscribe') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return (subject: string, opts?: SubscriptionOptions) => {
        const callback = opts?.callback;
        if (!callback) return target.subscribe(subject, opts);
        return target.subscribe(subject, {
          ...opts,
          callback: (err: Error | null, msg: Msg) => {
            if (!err && msg.reply !== undefined && msg.reply !== '' && (!isReplySubject(msg.reply) || aimsAtOwnRequest(target, msg))) return;
            callback(err, msg);
          },
        });
      };
    },
  });
}
