/**
 * The shipped NATS security configuration (deploy/nats/nats-server-secure.conf with the
 * accounts include `caco nats creds` writes) on a real nats-server of our own: every role's
 * allowances work, and every denial holds, as an outsider with a NATS connection would try.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { headers, nkeys, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { connectNats, NatsBus, NatsUnavailableError } from '../../core/bus/nats-bus.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { FileKeyring, type Keyring } from '../../core/ledger/keyring.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { Relay } from '../../core/runtime/relay.ts';
import { createLogger } from '../../core/log/logger.ts';
import { makeNatsCredentials, parseNatsCredentials } from '../../core/nats-auth/index.ts';
import { openStack } from '../../core/stack/stack.ts';
import { loadConfig } from '../../core/config/config.ts';
import { LedgerContinuityError } from '../../core/store/ledger-continuity.ts';
import { NatsServerProcess, natsServerInstalled } from '../../deploy/local/nats-server.ts';
import { newEvent } from '../contract/store-contract.ts';
import { KvKeyRegistryStore, newKeyFile, SiteIdentity, writeKeyFile } from '../../core/identity/index.ts';
import { AnchorWriter, JetStreamAnchorLog } from '../../core/anchor/index.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';
import { Svcm } from '@nats-io/services';
import { INTAKE_LIMITS } from '../../beckn/intake-checks.ts';
import { DEFAULT_COMMAND_LIMITS } from '../../core/runtime/input-limits.ts';

const skip = natsServerInstalled() || process.env['CI'] === 'true' ? false : 'nats-server is not installed (apt-get install nats-server)';

const SITE = 'secure';
const LEDGER = 'CACO_SECURE';
const SHIPPED = new URL('../../deploy/nats/nats-server-secure.conf', import.meta.url);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const root = join(import.meta.dirname, '../..');

function caco(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env['NATS_CREDS'];
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A request the server must refuse with a publish permission violation. */
async function assertPublishDenied(nc: NatsConnection, subject: string, body = '{}'): Promise<void> {
  await assert.rejects(nc.request(subject, enc(body), { timeout: 3000 }), (err: Error) => {
    assert.match(err.message, /Permissions Violation for Publish/i, `${subject}: ${err.message}`);
    return true;
  });
}

/** A subscription the server must refuse: it is closed with a subscription permission violation. */
async function assertSubscribeDenied(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject);
  await nc.flush();
  const closed = await Promise.race([sub.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 3000))]);
  if (!sub.isClosed()) sub.unsubscribe();
  assert.ok(closed instanceof Error, `subscribing to ${subject} was not refused`);
  assert.match(closed.message, /Permissions Violation for Subscription/i);
}

/** The next message on `sub`, or a failure after `ms`. */
async function nextMessage(sub: Subscription, ms = 5000): Promise<{ subject: string; data: string }> {
  const it = sub[Symbol.asyncIterator]();
  const r = await Promise.race([it.next(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), ms))]);
  assert.notEqual(r, 'timeout', `nothing arrived on ${sub.getSubject()} within ${ms} ms`);
  const m = (r as IteratorResult<{ subject: string; data: Uint8Array }>).value;
  return { subject: m.subject, data: dec(m.data) };
}

describe('NATS security: the shipped configuration on a real server', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let server: NatsServerProcess | undefined;
  const open: Array<{ close(): Promise<void> } | NatsConnection> = [];
  const creds = (user: string) => join(dir, 'local', `${user}.nk`);
  const as = async (user: string): Promise<NatsConnection> => {
    const nc = await connectNats({ servers: server!.url, credentials: creds(user), name: `test-${user}`, timeoutMs: 3000 });
    open.push(nc);
    return nc;
  };
  // Where `caco audit --data-dir <dir>/var --site secure` finds the public keys.
  let keyring: Keyring;
  let site: JetStreamEventStore;
  let siteBus: NatsBus;
  let adminJsm: JetStreamManager;
  const ledgerMessages = async () => (await adminJsm.streams.info(LEDGER)).state.messages;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caco-nats-security-'));
    keyring = new FileKeyring(join(dir, 'var', SITE, 'keys'));
    makeNatsCredentials({
      dir: join(dir, 'local'),
      users: [
        { name: `site-${SITE}`, role: 'site', site: SITE },
        { name: 'acme', role: 'third-party', site: SITE },
        { name: 'rival', role: 'third-party', site: SITE },
        { name: 'aud', role: 'auditor', site: SITE },
        { name: 'ops', role: 'admin' },
      ],
    });
    // The shipped file as it is, but for where JetStream keeps its data.
    const shipped = readFileSync(SHIPPED, 'utf8');
    assert.match(shipped, /^include "local\/accounts\.conf"$/m, 'the shipped configuration includes the generated users');
    const conf = shipped.replace(/store_dir: ".*"/, `store_dir: ${JSON.stringify(join(dir, 'js'))}`);
    assert.notEqual(conf, shipped);
    writeFileSync(join(dir, 'nats-server-secure.conf'), conf);
    server = await NatsServerProcess.start({ dir, config: join(dir, 'nats-server-secure.conf') });
    site = await JetStreamEventStore.connect({ servers: server.url, credentials: creds(`site-${SITE}`), site: SITE, keyring, ackTimeoutMs: 3000 });
    open.push(site);
    siteBus = await NatsBus.connect({ servers: server.url, credentials: creds(`site-${SITE}`) });
    open.push(siteBus);
    adminJsm = await jetstreamManager(await as('ops'));
  });

  after(async () => {
    for (const c of open.reverse()) await c.close().catch(() => undefined);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an anonymous client, and a key the server does not know, are refused', async () => {
    await assert.rejects(connectNats({ servers: server!.url, timeoutMs: 3000 }), (err: Error) => {
      assert.ok(err instanceof NatsUnavailableError);
      assert.match(err.message, /refused an anonymous connection.*--creds/);
      return true;
    });
    const stranger = join(dir, 'stranger.nk');
    writeFileSync(stranger, `${dec(nkeys.createUser().getSeed())}\n`, { mode: 0o600 });
    await assert.rejects(connectNats({ servers: server!.url, credentials: stranger, timeoutMs: 3000 }), /refused the credentials in .*stranger\.nk/);
  });

  test('site: appends through the JetStream store, reads back, keeps checkpoints; the relay publishes events', async () => {
    const first = await site.append('job-1', [newEvent(), newEvent()], 'no-stream');
    await site.append('job-1', [newEvent()], first.nextExpected);
    await site.append('job-2', [newEvent()], 'no-stream');
    const all: string[] = [];
    for await (const e of site.readAll()) all.push(e.id);
    assert.equal(all.length, 4);
    assert.equal((await site.streamHeads()).length, 2);
    const report = await verifyLedger(site, keyring);
    assert.equal(report.ok, true);

    // A third party watching events gets what the relay publishes from the ledger.
    const acme = await as('acme');
    const watch = acme.subscribe(`caco.${SITE}.evt.>`);
    await acme.flush();
    const relay = new Relay({ store: site, checkpoints: site, bus: siteBus, site: SITE, log: createLogger({ level: 'silent' }), checkpointEvery: 1 });
    await relay.start();
    try {
      await relay.caughtUp();
      const m = await nextMessage(watch);
      assert.equal(m.subject, `caco.${SITE}.evt.test.thing.happened`);
      assert.equal((JSON.parse(m.data) as { id: string }).id, all[0]);
    } finally {
      await relay.stop();
      watch.unsubscribe();
    }
    assert.ok((await site.get('relay')) > 0, 'the relay checkpoint is written');
  });

  test('site: cannot delete, purge or rewrite its own ledger, nor touch another site', async () => {
    const nc = site.nc;
    await assertPublishDenied(nc, `$JS.API.STREAM.DELETE.${LEDGER}`);
    await assertPublishDenied(nc, `$JS.API.STREAM.PURGE.${LEDGER}`);
    await assertPublishDenied(nc, `$JS.API.STREAM.MSG.DELETE.${LEDGER}`, JSON.stringify({ seq: 1 }));
    await assertPublishDenied(nc, `$JS.API.STREAM.UPDATE.${LEDGER}`, JSON.stringify({ name: LEDGER, subjects: [`caco.${SITE}.ledger.>`], deny_delete: false, deny_purge: false }));
    await assertPublishDenied(nc, '$JS.API.STREAM.DELETE.KV_caco_secure_checkpoints');
    await assertPublishDenied(nc, '$JS.API.STREAM.CREATE.CACO_OTHER', JSON.stringify({ name: 'CACO_OTHER', subjects: ['caco.other.ledger.>'] }));
    await assertPublishDenied(nc, 'caco.other.ledger.job-1');
    await assertPublishDenied(nc, '$JS.API.ACCOUNT.PURGE.CACO');
    await assertSubscribeDenied(nc, 'caco.other.evt.>');
    assert.ok((await ledgerMessages()) >= 3, 'the ledger is intact');
  });

  test("site: appends to its anchor stream and writes its buckets (keys, quarantine), removes none; the auditor reads them, a third party cannot", async () => {
    const anchor = `${LEDGER}-ANCHOR`;
    // The site's own code, as the site role: a signed checkpoint of the ledger's head in the anchor stream...
    const writer = await AnchorWriter.open({ store: site, log: await JetStreamAnchorLog.open(site.nc, SITE, { create: true }), keyring, site: SITE, clock: new SimulatedClock(Date.parse('2023-07-03T00:00:00Z')) });
    const checkpoint = await writer.close();
    assert.ok(checkpoint, 'a checkpoint was written');
    // ...and the key registry in its KV bucket `caco_<site>_keys`: created, written, read back.
    const identity = new SiteIdentity({ store: await KvKeyRegistryStore.open(site.nc, SITE), keyring, clock: new SimulatedClock(Date.parse('2023-07-03T00:00:00Z')) });
    open.push(identity);
    await identity.ensureAdmin();
    const operator = await identity.ensureLocal('operator');
    assert.deepEqual(operator, { keyId: 'operator', party: 'operator', role: 'operator' });
    assert.deepEqual((await identity.registry.list()).entries.map((e) => e.keyId).sort(), ['admin', 'operator']);
    // The quarantine bucket, laid out as a KV bucket.
    const js = jetstream(site.nc, { timeout: 3000 });
    const jsm = await jetstreamManager(site.nc);
    const quarantine = `caco_${SITE}_quarantine`;
    await jsm.streams.add({ name: `KV_${quarantine}`, subjects: [`$KV.${quarantine}.>`], max_msgs_per_subject: 1, deny_delete: true, allow_direct: true });
    await js.publish(`$KV.${quarantine}.k1`, enc('v1'));
    await assertPublishDenied(site.nc, `$JS.API.STREAM.DELETE.${anchor}`);
    await assertPublishDenied(site.nc, `$JS.API.STREAM.PURGE.${anchor}`);
    await assertPublishDenied(site.nc, `$JS.API.STREAM.MSG.DELETE.${anchor}`, JSON.stringify({ seq: 1 }));
    await assertPublishDenied(site.nc, `$JS.API.STREAM.DELETE.KV_caco_${SITE}_keys`);
    await assertPublishDenied(site.nc, `$JS.API.STREAM.PURGE.KV_caco_${SITE}_keys`);

    const audNc = await as('aud');
    const aud = await jetstreamManager(audNc);
    assert.equal((JSON.parse(dec((await aud.streams.getMessage(anchor, { seq: 1 }))!.data)) as { root: string }).root, checkpoint.root);
    assert.equal((JSON.parse(dec((await aud.streams.getMessage(`KV_caco_${SITE}_keys`, { last_by_subj: `$KV.caco_${SITE}_keys.operator` }))!.data)) as { party: string }).party, 'operator');
    assert.equal(dec((await aud.streams.getMessage(`KV_${quarantine}`, { last_by_subj: `$KV.${quarantine}.k1` }))!.data), 'v1');
    await assertPublishDenied(audNc, `caco.${SITE}.anchor`);
    await assertPublishDenied(audNc, `$KV.caco_${SITE}_keys.operator`, 'forged');

    const acme = await as('acme');
    await assertPublishDenied(acme, `caco.${SITE}.anchor`);
    await assertPublishDenied(acme, `$KV.caco_${SITE}_keys.acme`, 'forged key');
    await assertPublishDenied(acme, `$JS.API.STREAM.DELETE.${anchor}`);
    assert.equal((await aud.streams.info(anchor)).state.messages, 1);
  });

  test('third party: requests commands and gets the answer on its own inbox', async () => {
    const serving = await siteBus.subscribe(`caco.${SITE}.cmd.compute.>`, async (m) => {
      if (m.reply) await siteBus.publish(m.reply, enc(JSON.stringify({ ok: true, echo: dec(m.data) })));
    });
    try {
      const acme = await as('acme');
      const r = await acme.request(`caco.${SITE}.cmd.compute.submit`, enc('job'), { timeout: 3000 });
      assert.deepEqual(JSON.parse(dec(r.data)), { ok: true, echo: 'job' });
      // Through the CLI's bus too: the inbox prefix comes from the credentials file.
      const bus = await NatsBus.connect({ servers: server!.url, credentials: creds('acme') });
      open.push(bus);
      const viaBus = await bus.request(`caco.${SITE}.cmd.compute.submit`, enc('bus'), { timeoutMs: 3000 });
      assert.equal((JSON.parse(dec(viaBus.data)) as { echo: string }).echo, 'bus');
    } finally {
      await serving.unsubscribe();
    }
  });

  test('third party: its own gateway subjects work both ways, another party\'s do not', async () => {
    const acme = await as('acme');
    const gw = acme.subscribe(`caco.${SITE}.gw.acme.>`, { callback: (_e, m) => void m.respond(enc('quote from acme')) });
    await acme.flush();
    const answer = await siteBus.request(`caco.${SITE}.gw.acme.quote`, enc('?'), { timeoutMs: 3000 });
    assert.equal(dec(answer.data), 'quote from acme');
    gw.unsubscribe();
    const rival = await as('rival');
    await assertSubscribeDenied(rival, `caco.${SITE}.gw.acme.>`);
    await assertPublishDenied(rival, `caco.${SITE}.gw.acme.quote`);
  });

  test('third party: reaches the site gateway, the queries and discovery, answers discovery for itself, and cannot listen on them', async () => {
    const serving = [`caco.${SITE}.gw.announce`, `caco.${SITE}.gw.append`, `caco.${SITE}.gw.read`, `caco.${SITE}.q.forecast`].map((subject) => siteBus.nc.subscribe(subject, { callback: (_e, m) => void m.respond(enc(`site answers ${subject}`)) }));
    const gateway = await new Svcm(siteBus.nc as ConstructorParameters<typeof Svcm>[0]).add({ name: 'caco-gateway', version: '1.0.0', metadata: { site: SITE } });
    try {
      await siteBus.nc.flush();
      const acme = await as('acme');
      for (const subject of [`caco.${SITE}.gw.announce`, `caco.${SITE}.gw.append`, `caco.${SITE}.gw.read`, `caco.${SITE}.q.forecast`]) {
        assert.equal(dec((await acme.request(subject, enc('{}'), { timeout: 3000 })).data), `site answers ${subject}`);
      }
      const ping = JSON.parse(dec((await acme.request('$SRV.PING.caco-gateway', new Uint8Array(0), { timeout: 3000 })).data)) as { name: string };
      assert.equal(ping.name, 'caco-gateway');
      // Its own service, named after it, answers the site's discovery by name (and by name and id).
      const own = ['$SRV.INFO.acme', '$SRV.PING.acme.id1'].map((subject) => acme.subscribe(subject, { callback: (_e, m) => void m.respond(enc(JSON.stringify({ name: 'acme', subject }))) }));
      await acme.flush();
      for (const subject of ['$SRV.INFO.acme', '$SRV.PING.acme.id1']) {
        assert.deepEqual(JSON.parse(dec((await siteBus.nc.request(subject, new Uint8Array(0), { timeout: 3000 })).data)), { name: 'acme', subject });
      }
      for (const sub of own) sub.unsubscribe();
      // Never the bare subjects: an answer there could claim to be caco-gateway, listing acme's
      // own caco.<site>.gw.acme.* subjects as the gateway's (docs/external-agent.md §9).
      for (const subject of ['$SRV.INFO', '$SRV.PING', '$SRV.STATS', `caco.${SITE}.gw.append`, `caco.${SITE}.q.forecast`, '$SRV.PING.caco-gateway', '$SRV.INFO.rival']) await assertSubscribeDenied(await as('acme'), subject);
      await assertPublishDenied(acme, `caco.${SITE}.gw.other`);
    } finally {
      await gateway.stop();
      for (const s of serving) s.unsubscribe();
    }
  });

  test('third party: cannot write the ledger, forge events, or reach the JetStream API', async () => {
    const acme = await as('acme');
    const before = await ledgerMessages();
    // A forged commit, as a core publish and as a JetStream publish.
    await assertPublishDenied(acme, `caco.${SITE}.ledger.job-1`, '[{"id":"forged"}]');
    acme.publish(`caco.${SITE}.ledger.job-1`, enc('not json'));
    await assert.rejects(jetstream(acme, { timeout: 3000 }).publish(`caco.${SITE}.ledger.job-1`, enc('junk')), /Permissions Violation/);
    await assertPublishDenied(acme, `caco.${SITE}.evt.compute.job.completed`);
    await assertPublishDenied(acme, `caco.${SITE}.dlq`);
    await assertPublishDenied(acme, `$KV.caco_${SITE}_checkpoints.relay`, '999999999');
    await assertPublishDenied(acme, `$JS.API.STREAM.DELETE.${LEDGER}`);
    await assertPublishDenied(acme, `$JS.API.STREAM.PURGE.${LEDGER}`);
    await assertPublishDenied(acme, `$JS.API.STREAM.MSG.DELETE.${LEDGER}`, JSON.stringify({ seq: 1 }));
    await assertPublishDenied(acme, `$JS.API.STREAM.UPDATE.${LEDGER}`);
    await assertPublishDenied(acme, '$JS.API.STREAM.CREATE.SNOOP', JSON.stringify({ name: 'SNOOP', subjects: [`caco.${SITE}.cmd.>`] }));
    await assertPublishDenied(acme, `$JS.API.STREAM.INFO.${LEDGER}`);
    await assertPublishDenied(acme, `$JS.API.CONSUMER.CREATE.${LEDGER}`);
    await assertPublishDenied(acme, `$JS.API.DIRECT.GET.${LEDGER}`, JSON.stringify({ seq: 1 }));
    await assertPublishDenied(acme, '$JS.API.INFO');
    await acme.flush();
    assert.equal(await ledgerMessages(), before, 'nothing reached the ledger');
    assert.ok((await adminJsm.streams.info(LEDGER)).config.name === LEDGER, 'the ledger still exists');
  });

  test("third party: cannot listen to the ledger, to commands, or to others' replies", async () => {
    const acme = await as('acme');
    await assertSubscribeDenied(acme, `caco.${SITE}.ledger.>`);
    await assertSubscribeDenied(acme, `caco.${SITE}.cmd.>`);
    await assertSubscribeDenied(acme, '_INBOX.>');
    await assertSubscribeDenied(acme, '_INBOX_rival.>');
    await assertSubscribeDenied(acme, '$JS.>');
    await assertSubscribeDenied(acme, '>');
  });

  test('auditor: reads the ledger, checkpoints and heads; writes nothing', async () => {
    const store = await JetStreamEventStore.connect({ servers: server!.url, credentials: creds('aud'), site: SITE, keyring, ackTimeoutMs: 3000 });
    open.push(store);
    const report = await verifyLedger(store, keyring);
    assert.equal(report.ok, true);
    assert.equal(report.events, 4);
    assert.equal((await store.streamHeads()).length, 2);
    assert.ok((await store.get('relay')) > 0);
    const direct = await jetstreamManager(store.nc).then((jsm) => jsm.direct.getMessage(LEDGER, { seq: 1 }));
    assert.ok(direct && direct.data.length > 0, 'direct get reads a commit');

    const before = await ledgerMessages();
    await assert.rejects(store.append('job-9', [newEvent()], 'no-stream'), /Permissions Violation/);
    await assert.rejects(store.put('relay', 1), /Permissions Violation/);
    const nc = store.nc;
    await assertPublishDenied(nc, `caco.${SITE}.ledger.job-9`);
    await assertPublishDenied(nc, `$JS.API.STREAM.DELETE.${LEDGER}`);
    await assertPublishDenied(nc, `$JS.API.STREAM.PURGE.${LEDGER}`);
    await assertPublishDenied(nc, `$JS.API.STREAM.MSG.DELETE.${LEDGER}`, JSON.stringify({ seq: 1 }));
    await assertPublishDenied(nc, `$JS.API.STREAM.UPDATE.${LEDGER}`);
    await assertPublishDenied(nc, `$JS.API.STREAM.CREATE.${LEDGER}-ANCHOR`);
    await assertPublishDenied(nc, `$JS.API.CONSUMER.DELETE.${LEDGER}.someone`);
    await assertPublishDenied(nc, `caco.${SITE}.cmd.compute.submit`);
    await assertSubscribeDenied(nc, `caco.${SITE}.cmd.>`);
    assert.equal(await ledgerMessages(), before);
  });

  test('admin: creates, updates and deletes streams, but writes no ledger commit', async () => {
    const nc = await as('ops');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'OPS_SCRATCH', subjects: ['ops.scratch.>'] });
    await jsm.streams.update('OPS_SCRATCH', { subjects: ['ops.scratch.>', 'ops.more.>'] });
    assert.deepEqual((await jsm.streams.info('OPS_SCRATCH')).config.subjects, ['ops.scratch.>', 'ops.more.>']);
    assert.equal(await jsm.streams.delete('OPS_SCRATCH'), true);
    await assertPublishDenied(nc, `caco.${SITE}.ledger.job-1`);
    await assertPublishDenied(nc, '$JS.API.ACCOUNT.PURGE.CACO');
    const c = await jsm.consumers.add(LEDGER, { deliver_policy: DeliverPolicy.All, inactive_threshold: 5_000_000_000 });
    assert.equal(await jsm.consumers.delete(LEDGER, c.name), true);
  });

  test('the CLI connects as the user it is given: caco audit verify as the auditor, caco submit as a third party', async () => {
    const common = ['--site', SITE, '--nats-url', server!.url, '--data-dir', join(dir, 'var')];
    // The tests above append as "contract-agent": register it, as a site registers its agents;
    // audit verify names any signer that is neither the site's own nor in the registry.
    const identity = new SiteIdentity({ store: await KvKeyRegistryStore.open(site.nc, SITE), keyring, clock: new SimulatedClock(Date.parse('2023-07-03T00:00:00Z')) });
    open.push(identity);
    await identity.ensureLocal('contract-agent');
    const verify = await caco(['audit', 'verify', '--store', 'jetstream', ...common, '--creds', creds('aud')]);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    assert.match(verify.stdout, /^ledger OK: 4 events in 2 streams/m);
    const anonymous = await caco(['audit', 'verify', '--store', 'jetstream', ...common]);
    assert.equal(anonymous.code, 2);
    assert.match(anonymous.stderr, /refused an anonymous connection.*--creds/);
    // A site started with a third party's key: one line naming what was refused, exit 2.
    const wrongRole = await caco(['run', ...common, '--creds', creds('acme'), '--http-port', '0', '--recorded']);
    assert.equal(wrongRole.code, 2, wrongRole.stderr);
    assert.match(wrongRole.stderr, /^caco: NATS refused this user permission to publish to \$JS\.API\.INFO: the credentials/);

    const serving = await siteBus.subscribe(`caco.${SITE}.cmd.compute.submit`, async (m) => {
      if (m.reply) await siteBus.publish(m.reply, enc(JSON.stringify({ ok: true, events: [{ type: 'compute.job.accepted', id: 'e1', stream: 'job-cli', data: {} }] })));
    });
    try {
      const job = ['--job-id', 'job-cli', '--class', 'batch-inference', '--gpus', '1', '--runtime-min', '30', '--deadline', '2030-01-01T00:00:00Z'];
      // The command is signed with acme's own key (the fake site above does not check it; test/security/commands does).
      const acmeKey = join(dir, 'acme.key');
      writeKeyFile(acmeKey, newKeyFile({ party: 'acme', role: 'third-party' }));
      const submit = await caco(['submit', ...job, ...common, '--creds', creds('acme'), '--key', acmeKey]);
      assert.equal(submit.code, 0, submit.stderr);
      assert.match(submit.stdout, /compute\.job\.accepted {2}job-cli/);
      // With the auditor's key the command is not even sent: the auditor may not publish commands.
      const asAuditor = await caco(['submit', ...job, ...common, '--creds', creds('aud'), '--key', acmeKey, '--timeout', '3000']);
      assert.equal(asAuditor.code, 2);
      assert.match(asAuditor.stderr, /Permissions Violation for Publish to "caco\.secure\.cmd\.compute\.submit"/);
    } finally {
      await serving.unsubscribe();
    }
  });

  test('after an admin deletes the ledger, the site refuses to start on a new empty one until --init', async () => {
    const before = await site.get('relay');
    assert.ok(before > 0);
    assert.equal(await adminJsm.streams.delete(LEDGER), true);
    const config = loadConfig({ env: {}, overrides: { site: SITE, bus: 'memory', store: 'jetstream', natsUrl: server!.url, natsCreds: creds(`site-${SITE}`), dataDir: join(dir, 'var') } });
    await assert.rejects(openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } }), (err: Error) => {
      assert.ok(err instanceof LedgerContinuityError, String(err));
      assert.match(err.message, /does not exist.*relay at commit.*--init/);
      return true;
    });
    await assert.rejects(adminJsm.streams.info(LEDGER), /stream not found/, 'the refusal created no stream');
    const stack = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: true } });
    try {
      assert.equal(await stack.checkpoints.get('relay'), 0, '--init resets the stale checkpoints');
      await stack.store.append('job-1', [newEvent()], 'no-stream');
    } finally {
      await stack.close();
    }
  });

  test('max_payload carries the largest legitimate message, a 1 MiB Beckn body with its signature headers, and not 8 MB', async () => {
    const acme = await as('acme');
    const max = acme.info!.max_payload;
    // The largest messages the site takes or sends (docs/deployment-security.md): a Beckn request
    // over NATS (body up to INTAKE_LIMITS.bodyBytes, plus Authorization, Digest and
    // Idempotency-Key headers); a gateway read page (512 KiB of events) and a snapshot part
    // (512 KiB); a command (64 KB); a ledger commit (measured: at most ~16 KB in a simulated
    // week's ledger; a plan names every running job, ~150 bytes each).
    assert.ok(max >= INTAKE_LIMITS.bodyBytes + 8192, `max_payload ${max} must carry a 1 MiB Beckn body and its headers`);
    assert.ok(max >= 16 * DEFAULT_COMMAND_LIMITS.maxBytes);
    assert.ok(max <= 2 * 1024 * 1024, `max_payload ${max}: at most 2 MiB, 32 times the command limit (a junk command costs the site what it reads)`);
    const siteNc = await as(`site-${SITE}`);
    const sub = siteNc.subscribe('beckn.flex.search');
    await siteNc.flush();
    const h = headers();
    h.set('Authorization', `Signature keyId="acme.example|k1|ed25519",algorithm="ed25519",created="1700000000",expires="1700000030",headers="(created) (expires) digest",signature="${'A'.repeat(86)}=="`);
    h.set('Digest', `BLAKE-512=${'B'.repeat(86)}==`);
    h.set('Idempotency-Key', 'c6d1a7e2-0000-4000-8000-000000000000');
    acme.publish('beckn.flex.search', new Uint8Array(INTAKE_LIMITS.bodyBytes), { headers: h });
    await acme.flush();
    const m = await nextMessage(sub);
    assert.equal(m.data.length, INTAKE_LIMITS.bodyBytes, 'the whole body arrived');
    sub.unsubscribe();
  });

  test('the credentials file names its inbox prefix, and a readable seed file is refused', async () => {
    const c = parseNatsCredentials(readFileSync(creds('acme'), 'utf8'), 'acme.nk');
    assert.equal(c.inboxPrefix, '_INBOX_acme');
    const loose = join(dir, 'loose.nk');
    writeFileSync(loose, readFileSync(creds('acme')), { mode: 0o644 });
    await assert.rejects(connectNats({ servers: server!.url, credentials: loose }), /readable by every user.*chmod 600/);
  });
});
