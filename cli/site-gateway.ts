import type { Runtime } from '../core/runtime/index.ts';
import type { Bus } from '../core/bus/index.ts';
import type { Clock } from '../core/clock/index.ts';
import type { Logger } from '../core/log/index.ts';
import type { SiteIdentity } from '../core/identity/index.ts';
import type { InputLimits } from '../core/runtime/index.ts';
import type { RateLimit } from '../core/runtime/index.ts';
import { NatsBus } from '../core/bus/index.ts';
import { subjects } from '../core/runtime/index.ts';
import { GATEWAY_SERVICE, SiteGateway, ledgerKeysQuery, serveAsServices, type DiscoverableService } from '../core/gateway/index.ts';
import { SiteReadModel, siteQueries } from './site-read-model.ts';

/** What each of the site's agents publishes, by event-type pattern (its decisions' types). */
const PUBLISHES: Readonly<Record<string, ReadonlyArray<string>>> = {
  grid: ['grid.>'],
  compute: ['compute.>'],
  coordination: ['flex.>', 'beckn.callback.scheduled', 'beckn.request.rejected', 'outbox.>'],
  'grid-operator': ['market.>', 'beckn.request.scheduled', 'outbox.>'],
};

export interface SiteGatewayHandle {
  readonly gateway: SiteGateway;
  readonly model: SiteReadModel;
  /** `nats`: served as NATS services (discoverable); `bus`: on the in-process bus only. */
  readonly served: 'nats' | 'bus';
  stop(): Promise<void>;
}

/**
 * The gateway wired into a site: its queries read the site's projections; on NATS it and every
 * agent of the runtime register with the NATS services framework, so `$SRV.PING/INFO/STATS`
 * list them with what they publish and consume (on the in-process bus there is nobody outside
 * to discover them, and the gateway serves on the bus alone).
 */
export async function startSiteGateway(o: { runtime: Runtime; bus: Bus; identity: SiteIdentity; clock: Clock; log: Logger; limits?: InputLimits; rateLimit?: RateLimit; requireBoundCommands?: boolean }): Promise<SiteGatewayHandle> {
  const site = o.runtime.site;
  const model = new SiteReadModel(o.log.child({ component: 'site-read-model' }));
  await model.follow(o.runtime.store);
  const gateway = new SiteGateway({
    site,
    bus: o.bus,
    store: o.runtime.store,
    registry: o.runtime.o.registry,
    identity: o.identity,
    clock: o.clock,
    log: o.log.child({ component: 'gateway' }),
    queries: { ...siteQueries(model, () => o.clock.now()), keys: ledgerKeysQuery(o.runtime.o.keyring) },
    // The site's own signers (SITE_SIGNERS: admin, operator, gateway, effects, site-anchor, …) are
    // always reserved; the agents this site hosts too, whatever their names.
    reservedNames: o.runtime.agentNames,
    lookupKey: (keyId) => o.identity.registry.lookup(keyId),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    ...(o.requireBoundCommands ? { requireBoundCommands: true } : {}),
  });
  if (!(o.bus instanceof NatsBus)) {
    await gateway.start();
    return { gateway, model, served: 'bus', stop: async () => (await gateway.stop(), await model.close()) };
  }
  const services: DiscoverableService[] = [
    {
      name: GATEWAY_SERVICE,
      version: '1.0.0',
      description: `CACO site gateway of ${site}: outside agents announce, append their facts, read the ledger and query the site (docs/external-agent.md)`,
      metadata: { site, role: 'gateway', publishes: 'gateway.agent.announced,ext.>,onsite.>', consumes: '', protocol: 'caco-gateway/1' },
      endpoints: gateway.endpoints(),
      queue: 'caco-gateway',
    },
    ...o.runtime.agentNames.map((name): DiscoverableService => {
      const def = o.runtime.host(name)!.def;
      return {
        name: `caco-agent-${name}`,
        version: def.version,
        description: `CACO site agent "${name}" of ${site}`,
        metadata: {
          site,
          role: 'site-agent',
          agent: name,
          publishes: (PUBLISHES[name] ?? [`${name}.>`]).join(','),
          consumes: [...new Set([...(def.subscriptions ?? []), ...(def.observes ?? [])])].join(','),
          commands: Object.entries(def.commands ?? {}).map(([n, type]) => `${subjects.command(site, name, n)}=${type}`).join(','),
        },
      };
    }),
  ];
  const handle = await serveAsServices(o.bus.nc, services, o.log);
  return {
    gateway,
    model,
    served: 'nats',
    async stop() {
      await handle.stop();
      await gateway.stop();
      await model.close();
    },
  };
}
