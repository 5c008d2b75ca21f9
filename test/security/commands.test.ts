import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type CommandReply } from '../../core/runtime/runtime.ts';
import { embeddedStack } from '../support/embedded.ts';
import { natsAvailable, natsUrl, uniqueToken } from '../support/nats.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent, parseSlaCeiling, type ComputeState } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { advanceAndSettle } from '../../sim/clock-driver.ts';
import { KvKeyRegistryStore, MemoryKeyRegistryStore, newKeyFile, KeyRegistry, signEntry, SiteIdentity, signWithKey, type LoadedKey, type Role } from '../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import { connectNats } from '../../core/bus/nats-bus.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import type { Bus } from '../../core/bus/bus.ts';
import { loadConfig } from '../../core/config/config.ts';

/**
 * The outsider's view of commands: someone with a bus connection (in-process here, and one
 * case on a real NATS server) sends commands to the compute agent. Each refusal must name
 * its reason and leave the ledger as it was; the legitimate sender must still get through.
 */

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function party(name: string, role: Role): LoadedKey {
  const k = newKeyFile({ party: name, role });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

function job(id: string, over: Record<string, unknown> = {}) {
  return { jobId: id, class: 'training', powerKw: 500, runtimeMin: 60, earliestStart: iso(T0 + H), deadline: iso(T0 + 4 * H), slaClass: 'silver', preemptible: false, ...over };
}

let seq = 0;
function envelope(name: string, source: string, data: unknown) {
  const id = `cmd-${++seq}`;
  return { id, type: `compute.job.${name}`, version: 1, time: iso(T0), source, correlationId: id, causationId: null, data };
}

async function request(bus: Bus, site: string, name: string, body: unknown): Promise<CommandReply> {
  const res = await bus.request(`caco.${site}.cmd.compute.${name}`, Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 });
  return JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
}

async function ledger(store: { readAll(): AsyncIterable<Envelope> }): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

const reasonOf = (r: CommandReply) => (r.ok ? '' : r.error.reason);
/** The problems of the compute.job.rejected event a command caused. */
function rejection(r: CommandReply): Array<{ field: string; reason: string }> {
  assert.equal(r.ok, true, JSON.stringify(r));
  const e = r.ok ? r.events.find((x) => x.type === 'compute.job.rejected') : undefined;
  assert.ok(e, `expected a compute.job.rejected event, got ${JSON.stringify(r)}`);
  return (e.data as { problems: Array<{ field: string; reason: string }> }).problems;
}

async function site(seed: string) {
  const s = embeddedStack(seed);
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const rt = new Runtime({ ...s, site: 'sec', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity });
  const compute = rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  await rt.start();
  await rt.settle();
  const alice = party('alice', 'third-party');
  const mallory = party('mallory', 'third-party');
  const eve = party('eve', 'third-party');
  for (const p of [alice, mallory, eve]) await identity.admin.add(p);
  await identity.admin.revoke(eve.keyId);
  const state = () => compute.state as ComputeState;
  return { s, rt, identity, alice, mallory, eve, state };
}

describe('commands must be signed by a registered key and may touch only what their party owns', { timeout: 120_000 }, () => {
  test('unsigned, unknown, revoked, badly signed and impostor commands are refused with the reason and change nothing', async () => {
    const { s, rt, alice, eve } = await site('sec-refuse');
    try {
      const stranger = party('stranger', 'third-party');
      const before = await ledger(s.store);
      const cases: Array<[string, unknown, RegExp, string]> = [
        ['unsigned', envelope('submit', 'alice', job('u1')), /^unsigned: a command needs "keyId" and "sig"/, 'unsigned'],
        ['unknown key', signWithKey(envelope('submit', 'stranger', job('u2')), stranger), /^unknown key "stranger-[0-9a-f]{8}": not in the site's key registry/, 'unknown-key'],
        ['revoked key', signWithKey(envelope('submit', 'eve', job('u3')), eve), /^revoked key "eve-[0-9a-f]{8}" \(party "eve", revoked at /, 'revoked-key'],
        ['tampered after signing', { ...signWithKey(envelope('submit', 'alice', job('u4')), alice), data: job('u4', { slaClass: 'gold' }) }, /^bad signature by key "alice-/, 'bad-signature'],
        // alice's valid signature, but claiming to be the site's own compute agent.
        ['impostor source', signWithKey(envelope('submit', 'alice', job('u5')), { ...alice, party: 'compute' }), /^source "compute" does not match key "alice-[0-9a-f]{8}" \(party "alice"\)/, 'source-mismatch'],
        ['a key id that is not one', { ...envelope('submit', 'alice', job('u6')), keyId: 'a.b>*', sig: 'AAAA' }, /^key id "a\.b>\*" is not a valid key id/, 'unknown-key'],
      ];
      for (const [name, body, reason, code] of cases) {
        const r = await request(s.bus, 'sec', 'submit', body);
        assert.equal(r.ok, false, `${name}: ${JSON.stringify(r)}`);
        assert.match(reasonOf(r), reason, name);
        assert.equal(!r.ok && r.error.code, code, name);
      }
      // A big unsigned message (within the size limit): refused, and what is kept of it is bounded.
      const letters: string[] = [];
      await s.bus.subscribe('caco.sec.dlq', (m) => void letters.push(Buffer.from(m.data).toString('utf8')));
      const big = await request(s.bus, 'sec', 'submit', envelope('submit', 'alice', job('x'.repeat(50_000))));
      assert.match(reasonOf(big), /^unsigned/);
      await s.bus.flush();
      assert.equal(letters.length, 1);
      assert.ok(letters[0]!.length < 2048, `dead letter of ${letters[0]!.length} characters`);
      assert.match(letters[0]!, /cut: \d+ bytes, sha256 [0-9a-f]{64}/);
      // A pin is refused the same way before the agent sees it.
      const pin = await request(s.bus, 'sec', 'pin', envelope('pin', 'operator', { jobId: 'x', startAt: iso(T0 + 2 * H), operator: 'me' }));
      assert.match(reasonOf(pin), /^unsigned/);
      await rt.settle();
      assert.deepEqual((await ledger(s.store)).map((e) => e.hash), before.map((e) => e.hash), 'nothing was written to the ledger');
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test('a registry entry not signed by the admin key is ignored (the key is unknown) and reported', async () => {
    const s = embeddedStack('sec-forged-entry');
    const store = new MemoryKeyRegistryStore();
    const identity = new SiteIdentity({ store, keyring: s.keyring, clock: s.clock });
    const rt = new Runtime({ ...s, site: 'sec', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity });
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false } }));
    await rt.start();
    try {
      const mallory = party('mallory', 'operator');
      // Written straight into the storage, as someone with write access to the bucket would,
      // and signed by a key of their own rather than the site's admin key.
      const forger = generateKeyPairSync('ed25519').privateKey;
      const entry = { format: 'caco-key-entry/1' as const, keyId: mallory.keyId, party: 'mallory', role: 'operator' as const, publicKey: mallory.publicKey, status: 'active' as const, createdAt: iso(T0), revokedAt: null };
      await store.put(mallory.keyId, signEntry(entry, (b) => sign(null, b, forger).toString('base64')));
      const r = await request(s.bus, 'sec', 'submit', signWithKey(envelope('submit', 'mallory', job('f1')), mallory));
      assert.match(reasonOf(r), /^unknown key "mallory-[0-9a-f]{8}": its registry entry is ignored \(admin signature does not verify/);
      const listed = await identity.registry.list();
      assert.deepEqual(listed.bad.map((b) => b.keyId), [mallory.keyId]);
      assert.equal(listed.entries.some((e) => e.keyId === mallory.keyId), false);
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test('a signed submission is accepted and records its submitter; the submitter and an operator may pin and release, others may not', async () => {
    const { s, rt, alice, mallory, state } = await site('sec-pin');
    try {
      const ok = await request(s.bus, 'sec', 'submit', signWithKey(envelope('submit', 'alice', job('a1')), alice));
      assert.equal(ok.ok, true, JSON.stringify(ok));
      const submitted = ok.ok ? ok.events.find((e) => e.type === 'compute.job.submitted') : undefined;
      assert.deepEqual((submitted?.data as { submittedBy: unknown }).submittedBy, { keyId: alice.keyId, party: 'alice', role: 'third-party' });
      await request(s.bus, 'sec', 'submit', signWithKey(envelope('submit', 'alice', job('a2')), alice));
      await rt.settle();
      const jobStream = async (id: string) => (await ledger(s.store)).filter((e) => e.stream === `job-${id}`).map((e) => e.hash);
      const a1Before = await jobStream('a1');

      // Someone else's job: refused, named, and the job untouched.
      const other = rejection(await request(s.bus, 'sec', 'pin', signWithKey(envelope('pin', 'mallory', { jobId: 'a1', startAt: iso(T0 + 2 * H), operator: 'mallory' }), mallory)));
      assert.equal(other[0]?.field, 'source');
      assert.match(other[0]!.reason, /party "mallory" .* may not pin job "a1": only its submitter \("alice"\) or an operator may/);
      const otherRelease = rejection(await request(s.bus, 'sec', 'release', signWithKey(envelope('release', 'mallory', { jobId: 'a1', operator: 'mallory' }), mallory)));
      assert.match(otherRelease[0]!.reason, /may not release job "a1"/);

      // Outside the job's window (release 01:00, deadline 04:00, 60 min of work): 18 h past
      // the deadline, and a start that would end half an hour late.
      for (const at of [T0 + 22 * H, T0 + 3.5 * H]) {
        const late = rejection(await request(s.bus, 'sec', 'pin', signWithKey(envelope('pin', 'alice', { jobId: 'a1', startAt: iso(at), operator: 'alice' }), alice)));
        assert.equal(late[0]?.field, 'startAt');
        assert.match(late[0]!.reason, /after its deadline 2023-07-03T04:00:00\.000Z .*its window is 2023-07-03T01:00:00\.000Z to 2023-07-03T03:00:00\.000Z/);
      }
      const early = rejection(await request(s.bus, 'sec', 'pin', signWithKey(envelope('pin', 'alice', { jobId: 'a1', startAt: iso(T0 + 0.5 * H), operator: 'alice' }), alice)));
      assert.match(early[0]!.reason, /before the job's release/);
      await rt.settle();
      assert.deepEqual(await jobStream('a1'), a1Before, 'no refused pin touched the job');
      assert.equal(state().jobs.get('a1')!.pinnedStartMs, null);

      // The submitter, at the last start that meets the deadline.
      const mine = await request(s.bus, 'sec', 'pin', signWithKey(envelope('pin', 'alice', { jobId: 'a1', startAt: iso(T0 + 3 * H), operator: 'alice' }), alice));
      const pinned = mine.ok ? mine.events.find((e) => e.type === 'compute.job.pinned') : undefined;
      assert.ok(pinned, JSON.stringify(mine));
      assert.deepEqual((pinned.data as { by: unknown }).by, { keyId: alice.keyId, party: 'alice', role: 'third-party' });
      assert.equal(state().jobs.get('a1')!.pinnedStartMs, T0 + 3 * H);
      // An operator (the site's own, signed by the runtime) pins and releases alice's other job.
      const op = await rt.send('compute', 'pin', { jobId: 'a2', startAt: iso(T0 + 2 * H), operator: 'ops' }, { source: 'operator' });
      const opPinned = op.ok ? op.events.find((e) => e.type === 'compute.job.pinned') : undefined;
      assert.deepEqual((opPinned?.data as { by: unknown }).by, { keyId: 'operator', party: 'operator', role: 'operator' });
      const rel = await rt.send('compute', 'release', { jobId: 'a2', operator: 'ops' }, { source: 'operator' });
      assert.ok(rel.ok && rel.events.some((e) => e.type === 'compute.job.released'), JSON.stringify(rel));
      assert.equal(state().jobs.get('a2')!.pinnedStartMs, null);
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test('a pin on a running job that cannot be preempted is refused; the job runs to completion', async () => {
    const { s, rt, alice, state } = await site('sec-running');
    try {
      // Serving jobs run from their release: this one starts at 00:30 and runs 2 h.
      const sub = await request(s.bus, 'sec', 'submit', signWithKey(envelope('submit', 'alice', job('r1', { class: 'serving', earliestStart: iso(T0 + 0.5 * H), deadline: iso(T0 + 6 * H), runtimeMin: 120 })), alice));
      assert.equal(sub.ok, true, JSON.stringify(sub));
      await advanceAndSettle(s.clock, rt, T0 + 0.5 * H + 40);
      assert.equal(state().jobs.get('r1')!.status, 'running');
      const before = (await ledger(s.store)).filter((e) => e.stream === 'job-r1').map((e) => e.hash);
      const p = rejection(await request(s.bus, 'sec', 'pin', signWithKey(envelope('pin', 'alice', { jobId: 'r1', startAt: iso(T0 + 2 * H), operator: 'alice' }), alice)));
      assert.equal(p[0]?.field, 'jobId');
      assert.match(p[0]!.reason, /running .* not preemptible: a pin would stop it/);
      const op = await rt.send('compute', 'pin', { jobId: 'r1', startAt: iso(T0 + 2 * H), operator: 'ops' });
      assert.match(rejection(op)[0]!.reason, /not preemptible/, 'not even an operator');
      await rt.settle();
      assert.deepEqual((await ledger(s.store)).filter((e) => e.stream === 'job-r1').map((e) => e.hash), before);
      await advanceAndSettle(s.clock, rt, T0 + 4 * H);
      assert.equal(state().jobs.get('r1')!.status, 'done', 'it completed');
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test('an embedded site started with no keys makes its admin and party keys (mode 0600) and registers them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-sec-site-'));
    const { startLiveSite } = await import('../../cli/site-runtime.ts');
    const config = { ...loadConfig({ env: { CACO_BUS: 'memory', CACO_STORE: 'sqlite', LOG_LEVEL: 'silent' } }), dataDir: dir, site: 'fresh' };
    assert.equal(existsSync(join(dir, 'fresh', 'keys')), false);
    const live = await startLiveSite(config, { recorded: true });
    try {
      for (const p of ['admin', 'operator', 'grid', 'compute']) {
        const f = join(dir, 'fresh', 'keys', 'private', `${p}.key`);
        assert.ok(existsSync(f), `${p}'s key was made`);
        assert.equal(statSync(f).mode & 0o777, 0o600, `${p}'s key is private`);
      }
      assert.ok(existsSync(join(dir, 'fresh', 'keys', 'registry.db')));
      const { entries, bad } = await live.identity.registry.list();
      assert.deepEqual(bad, []);
      assert.deepEqual(entries.map((e) => `${e.keyId}:${e.role}`).sort(), ['admin:admin', 'compute:agent', 'grid:agent', 'operator:operator']);
      // And the operator can use the site at once.
      const r = await live.runtime.send('compute', 'submit', job('first', { earliestStart: iso(Date.now()), deadline: iso(Date.now() + 6 * H) }));
      assert.ok(r.ok && r.events.some((e) => e.type === 'compute.job.submitted'), JSON.stringify(r));
    } finally {
      await live.stop();
    }
    // A second start reuses the same keys and registry: nothing is re-made.
    const adminKey = statSync(join(dir, 'fresh', 'keys', 'private', 'admin.key')).mtimeMs;
    const again = await startLiveSite(config, { recorded: true });
    try {
      assert.equal(statSync(join(dir, 'fresh', 'keys', 'private', 'admin.key')).mtimeMs, adminKey);
      assert.equal((await again.identity.registry.list()).entries.length, 4);
    } finally {
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a live site given a service-class ceiling refuses a third party\'s gold job over the bus, and says so at start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-sec-ceiling-'));
    const { startLiveSite } = await import('../../cli/site-runtime.ts');
    const config = { ...loadConfig({ env: { CACO_BUS: 'memory', CACO_STORE: 'sqlite', LOG_LEVEL: 'silent' } }), dataDir: dir, site: 'ceiling' };
    const live = await startLiveSite(config, { recorded: true, slaCeiling: parseSlaCeiling('silver') });
    try {
      assert.ok(live.notes.some((n) => n.includes('third parties at most silver service class')), live.notes.join('\n'));
      const alice = party('alice', 'third-party');
      await live.identity.admin.add(alice);
      const when = (over: Record<string, unknown>) => job(`c-${++seq}`, { earliestStart: iso(Date.now()), deadline: iso(Date.now() + 6 * H), powerKw: 100, ...over });
      const gold = await request(live.stack.bus, 'ceiling', 'submit', signWithKey(envelope('submit', 'alice', when({ slaClass: 'gold' })), alice));
      assert.deepEqual(rejection(gold).map((p) => p.field), ['slaClass']);
      const silver = await request(live.stack.bus, 'ceiling', 'submit', signWithKey(envelope('submit', 'alice', when({ slaClass: 'silver' })), alice));
      assert.ok(silver.ok && silver.events.some((e) => e.type === 'compute.job.submitted'), JSON.stringify(silver));
    } finally {
      await live.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on NATS with the registry in a JetStream KV bucket: unsigned and revoked are refused, a registered key gets through', async (t) => {
    const nats = await natsAvailable();
    if (!nats.ok) {
      if (process.env['CI'] === 'true') assert.fail(`${nats.reason}, and CI=true: the NATS tests must run`);
      t.skip(nats.reason);
      return;
    }
    const siteName = uniqueToken('sec');
    const s = embeddedStack('sec-nats');
    const nc = await connectNats({ servers: natsUrl() });
    const bus = await NatsBus.connect({ servers: natsUrl() });
    const client = await NatsBus.connect({ servers: natsUrl(), name: 'outsider' });
    const kv = await KvKeyRegistryStore.open(nc, siteName);
    const identity = new SiteIdentity({ store: kv, keyring: s.keyring, clock: s.clock });
    const rt = new Runtime({ ...s, bus, site: siteName, checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity });
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false } }));
    try {
      await rt.start();
      const alice = party('alice', 'third-party');
      await identity.admin.add(alice);
      const unsigned = await request(client, siteName, 'submit', envelope('submit', 'alice', job('n1')));
      assert.match(reasonOf(unsigned), /^unsigned/);
      const impostor = await request(client, siteName, 'submit', signWithKey(envelope('submit', 'alice', job('n1')), { ...alice, party: 'compute' }));
      assert.match(reasonOf(impostor), /^source "compute" does not match/);
      const ok = await request(client, siteName, 'submit', signWithKey(envelope('submit', 'alice', job('n1')), alice));
      assert.ok(ok.ok && ok.events.some((e) => e.type === 'compute.job.submitted'), JSON.stringify(ok));
      // Another process reading the same bucket with the admin's public key sees the entry.
      const other = await KvKeyRegistryStore.open(client.nc, siteName, { create: false });
      assert.equal((await new KeyRegistry(other, identity.registry.adminPublicKey).lookup(alice.keyId)).found, true);
      assert.deepEqual((await new KeyRegistry(other, identity.registry.adminPublicKey).list()).entries.map((e) => e.keyId), [alice.keyId]);
      await identity.admin.revoke(alice.keyId);
      const revoked = await request(client, siteName, 'submit', signWithKey(envelope('submit', 'alice', job('n2')), alice));
      assert.match(reasonOf(revoked), /^revoked key/);
    } finally {
      await rt.stop();
      await kv.destroy().catch(() => undefined);
      await nc.close();
      await client.close();
      await bus.close();
      await s.close();
    }
  });
});
