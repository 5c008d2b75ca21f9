// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Runtime, type CommandReply } from '../../core/runtime/runtime.ts';
import { embeddedStack } from '../support/embedded.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent, type ComputeState } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { checkCommandBinding, MAX_COMMAND_LIFETIME_MS, newKeyFile, SiteIdentity, signWithKey, type LoadedKey } from '../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import { inputLimitsFromEnv } from '../../core/config/input-limits-config.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import type { Bus } from '../../core/bus/bus.ts';
import { ask, gatewaySite, loadedKey } from '../core/gateway/support.ts';

/**
 * A signed command names the site it is for and when it stops being good, inside its
 * signature: a copy taken off the wire is refused at another site that knows the same key,
 * and after its expiry. Each refusal names its field and leaves the ledger as it was.
 */

const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function party(name: string): LoadedKey {
  const k = newKeyFile({ party: name, role: 'third-party' });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

let seq = 0;
function submit(now: number, jobId: string, binding: Record<string, unknown>) {
  const id = `bind-${++seq}`;
  const data = { jobId, class: 'training', powerKw: 500, runtimeMin: 60, earliestStart: iso(now + H), deadline: iso(now + 6 * H), slaClass: 'silver', preemptible: false };
  return { id, type: 'compute.job.submit', version: 1, time: iso(now), source: 'alice', correlationId: id, causationId: null, ...binding, data };
}

async function request(bus: Bus, site: string, body: unknown): Promise<CommandReply> {
  const res = await bus.request(`caco.${site}.cmd.compute.submit`, Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 });
  return JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
}

async function hashes(store: { readAll(): AsyncIterable<Envelope> }): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.readAll()) out.push(e.hash);
  return out;
}

async function site(seed: string, requireBoundCommands: boolean) {
  const s = embeddedStack(seed);
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const rt = new Runtime({ ...s, site: 'north', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity, requireBoundCommands });
  const compute = rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  await rt.start();
  await rt.settle();
  const alice = party('alice');
  await identity.admin.add(alice);
  return { s, rt, alice, jobs: () => (compute.state as ComputeState).jobs };
}

const codeOf = (r: CommandReply) => (r.ok ? 'ok' : r.error.code);

describe('a command is bound to its site and its lifetime', { timeout: 90_000 }, () => {
  test('another site, an expiry past, a far-off expiry or a binding changed after signing are refused by name; a bound command is taken', async () => {
    const { s, rt, alice, jobs } = await site('bind-refuse', false);
    try {
      const now = s.clock.now();
      const before = await hashes(s.store);
      const cases: Array<[string, unknown, string, RegExp]> = [
        ['signed for another site', signWithKey(submit(now, 'b1', { site: 'south', expiresAt: iso(now + 60_000) }), alice), 'wrong-site', /^wrong site: the command is for site "south"; this is site "north"/],
        ['expired', signWithKey(submit(now, 'b2', { site: 'north', expiresAt: iso(now - 1) }), alice), 'expired', /^expired: the command expired at .*; the site's clock reads /],
        ['expiring the instant it arrives', signWithKey(submit(now, 'b3', { expiresAt: iso(now) }), alice), 'expired', /^expired/],
        ['an expiry too far off to be one', signWithKey(submit(now, 'b4', { site: 'north', expiresAt: iso(now + MAX_COMMAND_LIFETIME_MS + 1000) }), alice), 'unbound', /more than 24 h after the site's clock/],
        ['site changed after signing', { ...signWithKey(submit(now, 'b5', { site: 'south', expiresAt: iso(now + 60_000) }), alice), site: 'north' }, 'bad-signature', /^bad signature/],
        ['site removed after signing', (() => { const { site: _s, ...rest } = signWithKey(submit(now, 'b6', { site: 'south' }), alice) as Record<string, unknown>; return rest; })(), 'bad-signature', /^bad signature/],
        ['expiry moved after signing', { ...signWithKey(submit(now, 'b7', { expiresAt: iso(now - 1) }), alice), expiresAt: iso(now + 60_000) }, 'bad-signature', /^bad signature/],
      ];
      for (const [name, body, code, reason] of cases) {
        const r = await request(s.bus, 'north', body);
        assert.equal(codeOf(r), code, `${name}: ${JSON.stringify(r)}`);
        assert.match(r.ok ? '' : r.error.reason, reason, name);
      }
      await rt.settle();
      assert.deepEqual(await hashes(s.store), before, 'nothing was written to the ledger');
      assert.equal(jobs().size, 0);

      // Bound to this site and still good: taken. Without the fields, this site (not
      // requiring them) takes it as before.
      const bound = await request(s.bus, 'north', signWithKey(submit(now, 'ok1', { site: 'north', expiresAt: iso(now + 5 * 60_000) }), alice));
      assert.equal(codeOf(bound), 'ok', JSON.stringify(bound));
      const unbound = await request(s.bus, 'north', signWithKey(submit(now, 'ok2', {}), alice));
      assert.equal(codeOf(unbound), 'ok', JSON.stringify(unbound));
      assert.deepEqual([...jobs().keys()].sort(), ['ok1', 'ok2']);
      // The binding fields are the intake's: they do not reach the agent's decision.
      const submitted = bound.ok ? bound.events.find((e) => e.type === 'compute.job.submitted') : undefined;
      assert.ok(submitted);
      assert.equal(JSON.stringify(submitted.data).includes('expiresAt'), false);
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test('a site that requires the binding refuses a command without it, and its own sends carry it', async () => {
    const { s, rt, alice, jobs } = await site('bind-require', true);
    try {
      const now = s.clock.now();
      const noSite = await request(s.bus, 'north', signWithKey(submit(now, 'r1', { expiresAt: iso(now + 60_000) }), alice));
      assert.equal(codeOf(noSite), 'unbound');
      assert.match(noSite.ok ? '' : noSite.error.reason, /add "site": "north"/);
      const noExpiry = await request(s.bus, 'north', signWithKey(submit(now, 'r2', { site: 'north' }), alice));
      assert.equal(codeOf(noExpiry), 'unbound');
      assert.match(noExpiry.ok ? '' : noExpiry.error.reason, /add "expiresAt"/);
      const bound = await request(s.bus, 'north', signWithKey(submit(now, 'r3', { site: 'north', expiresAt: iso(now + 60_000) }), alice));
      assert.equal(codeOf(bound), 'ok', JSON.stringify(bound));
      // The site's own in-process send (signed by its operator key) is bound for it.
      const own = await rt.send('compute', 'submit', submit(now, 'r4', {}).data);
      assert.equal(codeOf(own), 'ok', JSON.stringify(own));
      assert.deepEqual([...jobs().keys()].sort(), ['r3', 'r4']);
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test('the gateway checks an outside agent’s signed append the same way', async () => {
    const site = await gatewaySite('bind-gw', { requireBound: true });
    try {
      const acme = loadedKey('acme');
      await site.identity.admin.add(acme);
      const now = site.s.clock.now();
      const bind = (over: Record<string, unknown> = {}) => ({ site: 'gw', expiresAt: iso(now + 60_000), ...over });
      const announced = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey({ name: 'acme', version: '1', publishes: ['ext.acme.meter.read'], schemas: { 'ext.acme.meter.read': { type: 'object' } }, ...bind() }, acme));
      assert.equal(announced.ok, true, JSON.stringify(announced));
      const fact = (id: string, over: Record<string, unknown>) => signWithKey({ id, type: 'ext.acme.meter.read', version: 1, data: { kw: 1 }, ...over }, acme);
      const before = await hashes(site.s.store);
      for (const [body, code, field] of [
        [fact('f1', bind({ site: 'other' })), 'wrong-site', 'site'],
        [fact('f2', bind({ expiresAt: iso(now - 1000) })), 'expired', 'expiresAt'],
        [fact('f3', {}), 'unbound', 'site'],
      ] as const) {
        const r = await ask(site.s.bus, 'caco.gw.gw.append', body);
        assert.equal(r.error?.code, code, JSON.stringify(r));
        assert.equal(r.error?.field, field);
      }
      assert.deepEqual(await hashes(site.s.store), before);
      const good = await ask(site.s.bus, 'caco.gw.gw.append', fact('f4', bind()));
      assert.equal(good.ok, true, JSON.stringify(good));
    } finally {
      await site.close();
    }
  });
});

describe('checkCommandBinding (property)', () => {
  const siteName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
  const now = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2100-01-01T00:00:00Z') });
  test('a command is taken only for this site and only while now < expiresAt ≤ now + 24 h; missing fields only when not required', () => {
    fc.assert(
      fc.property(siteName, fc.option(siteName, { nil: undefined }), now, fc.option(fc.integer({ min: -3 * MAX_COMMAND_LIFETIME_MS, max: 3 * MAX_COMMAND_LIFETIME_MS }), { nil: undefined }), fc.boolean(), (here, named, t, offset, require) => {
        const cmd: Record<string, unknown> = {};
        if (named !== undefined) cmd['site'] = named;
        if (offset !== undefined) cmd['expiresAt'] = iso(t + offset);
        const r = checkCommandBinding(cmd, { site: here, now: () => t, require });
        const siteOk = named === undefined ? !require : named === here;
        const expiryOk = offset === undefined ? !require : offset > 0 && offset <= MAX_COMMAND_LIFETIME_MS;
        assert.equal(r.ok, siteOk && expiryOk, JSON.stringify({ here, named, offset, require, r }));
        if (!r.ok && named !== undefined && named !== here) assert.equal(r.code, 'wrong-site');
        if (!r.ok && siteOk && offset !== undefined && offset <= 0) assert.equal(r.code, 'expired');
      }),
      { numRuns: 500 },
    );
  });

  test('CACO_REQUIRE_BOUND_COMMANDS: off by default, 1/0 and their spellings, anything else names the variable', () => {
    assert.equal(inputLimitsFromEnv({}).requireBoundCommands, false);
    assert.equal(inputLimitsFromEnv({ CACO_REQUIRE_BOUND_COMMANDS: '1' }).requireBoundCommands, true);
    assert.equal(inputLimitsFromEnv({ CACO_REQUIRE_BOUND_COMMANDS: 'yes' }).requireBoundCommands, true);
    assert.equal(inputLimitsFromEnv({ CACO_REQUIRE_BOUND_COMMANDS: 'off' }).requireBoundCommands, false);
    assert.throws(() => inputLimitsFromEnv({ CACO_REQUIRE_BOUND_COMMANDS: 'sometimes' }), /CACO_REQUIRE_BOUND_COMMANDS/);
  });
});
