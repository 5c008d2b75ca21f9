import { Schema } from 'effect';
import { embeddedStack } from '../../support/embedded.ts';
import { cacoRegistry, defineEvent } from '../../../schemas/index.ts';
import { newKeyFile, SiteIdentity, signWithKey, type LoadedKey } from '../../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../../core/ledger/keyring.ts';
import { SiteGateway, type GatewayQuery } from '../../../core/gateway/index.ts';
import type { Bus } from '../../../core/bus/bus.ts';

/**
 * A stand-in for the go-agent branch's `onsite.battery.state.reported` (schemas/ owns the real
 * one): a site-owned outside-fact type, so the gateway's "site schema" path is tested here.
 */
export const TestBatteryState = defineEvent(
  'onsite.test.state.reported',
  1,
  'test only: an on-site asset reports its state',
  Schema.Struct({ assetId: Schema.String, stateOfChargeKwh: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)) }),
);

export function loadedKey(party: string, role: 'third-party' | 'agent' = 'third-party'): LoadedKey {
  const k = newKeyFile({ party, role });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

export async function gatewaySite(seed: string, opts: { queries?: Record<string, GatewayQuery>; rate?: { perSecond: number; burst: number }; readRate?: { perSecond: number; burst: number }; site?: string; requireBound?: boolean } = {}) {
  const s = embeddedStack(seed);
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const registry = cacoRegistry([TestBatteryState]);
  const gateway = new SiteGateway({ lookupKey: (k) => identity.registry.lookup(k), site: opts.site ?? 'gw', bus: s.bus, store: s.store, registry, identity, clock: s.clock, log: s.log, ...(opts.queries ? { queries: opts.queries } : {}), ...(opts.rate ? { rateLimit: opts.rate } : {}), ...(opts.readRate ? { readRate: opts.readRate } : {}), ...(opts.requireBound ? { requireBoundCommands: true } : {}) });
  await gateway.start();
  return {
    s,
    identity,
    registry,
    gateway,
    async close() {
      await gateway.stop();
      await s.close();
    },
  };
}

export async function ask(bus: Bus, subject: string, body: unknown): Promise<Record<string, unknown> & { ok: boolean; error?: { code: string; field: string | null; reason: string } }> {
  const res = await bus.request(subject, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { timeoutMs: 10_000 });
  return JSON.parse(Buffer.from(res.data).toString('utf8')) as Record<string, unknown> & { ok: boolean; error?: { code: string; field: string | null; reason: string } };
}

export { signWithKey };
