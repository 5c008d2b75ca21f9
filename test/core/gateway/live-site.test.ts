// test-file-timeout: 180
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify } from 'node:crypto';
import { Svcm } from '@nats-io/services';
import { NatsServerProcess, natsServerInstalled } from '../../../deploy/local/nats-server.ts';
import { connectNats } from '../../../core/bus/nats-bus.ts';
import { loadConfig } from '../../../core/config/config.ts';
import { loadedKey, signWithKey } from './support.ts';
import { SiteReadModel, siteQueries } from '../../../cli/site-read-model.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { publicKeyFromRaw } from '../../../core/ledger/keyring.ts';

const enc = (x: unknown) => Buffer.from(JSON.stringify(x));
const dec = (d: Uint8Array) => JSON.parse(Buffer.from(d).toString('utf8')) as Record<string, unknown> & { ok: boolean; error?: { code: string } };

test('the forecast query gives the latest forecast with P10/P50/P90 bands per half-hour', () => {
  const model = new SiteReadModel();
  const band = (p50: number) => ({ p10: p50 - 10, p50, p90: p50 + 10 });
  model.apply({ id: 'e1', type: 'grid.forecast.published', data: { forecastId: 'f-1', issuedAt: '2026-12-03T03:00:00Z', startsAt: '2026-12-03T03:30:00Z', carbonGPerKwh: { modelId: 'lstm', modelVersion: '1', points: [band(120), band(130)] }, priceGbpPerMwh: { modelId: 'lstm-p', points: [band(80), band(85)] } } } as unknown as Envelope);
  const answer = siteQueries(model, () => Date.parse('2026-12-03T03:10:00Z'))['forecast']!.answer({}) as { forecast: { halfHours: unknown[]; forecastId: string } };
  assert.equal(answer.forecast.forecastId, 'f-1');
  assert.deepEqual(answer.forecast.halfHours, [
    { start: '2026-12-03T03:30:00.000Z', carbonGPerKwh: band(120), priceGbpPerMwh: band(80) },
    { start: '2026-12-03T04:00:00.000Z', carbonGPerKwh: band(130), priceGbpPerMwh: band(85) },
  ]);
});

test('a live site on NATS: the gateway and its agents are discoverable; an outside agent announces, appends, sees its fact relayed, and queries', async (t) => {
  if (!natsServerInstalled()) {
    if (process.env['CI'] === 'true') throw new Error('nats-server is required in CI');
    t.skip('no nats-server');
    return;
  }
  const server = await NatsServerProcess.start();
  const dir = mkdtempSync(join(tmpdir(), 'caco-gw-live-'));
  const { startLiveSite } = await import('../../../cli/site-runtime.ts');
  const config = { ...loadConfig({ env: { CACO_BUS: 'nats', CACO_STORE: 'sqlite', LOG_LEVEL: 'silent', NATS_URL: server.url } }), dataDir: dir, site: 'gwlive' };
  const live = await startLiveSite(config, { recorded: true });
  const nc = await connectNats({ servers: server.url, name: 'outside' });
  try {
    assert.equal(live.gateway.served, 'nats');
    // Discovery: $SRV.INFO through the services framework's own client.
    const infos: Array<{ name: string; metadata?: Record<string, string>; endpoints: Array<{ subject: string }> }> = [];
    for await (const i of await new Svcm(nc as ConstructorParameters<typeof Svcm>[0]).client({ strategy: 'timer', maxWait: 1500 }).info()) infos.push(i as (typeof infos)[number]);
    const byName = new Map(infos.map((i) => [i.name, i]));
    const gw = byName.get('caco-gateway');
    assert.ok(gw, `services: ${[...byName.keys()].join(', ')}`);
    assert.equal(gw.metadata?.['site'], 'gwlive');
    assert.deepEqual(gw.endpoints.map((e) => e.subject).sort(), ['caco.gwlive.gw.announce', 'caco.gwlive.gw.append', 'caco.gwlive.gw.read', 'caco.gwlive.q.forecast', 'caco.gwlive.q.keys', 'caco.gwlive.q.offers', 'caco.gwlive.q.plan']);
    const compute = byName.get('caco-agent-compute');
    assert.ok(compute);
    assert.equal(compute.metadata?.['publishes'], 'compute.>');
    assert.match(compute.metadata?.['commands'] ?? '', /caco\.gwlive\.cmd\.compute\.submit=compute\.job\.submit/);
    assert.ok(byName.get('caco-agent-grid'));
    // PING answers too (the raw subject, as any language would ask it).
    const pings: unknown[] = [];
    const inbox = nc.subscribe('_INBOX.ping-test', { callback: (_e, m) => void pings.push(dec(m.data)) });
    nc.publish('$SRV.PING', new Uint8Array(0), { reply: '_INBOX.ping-test' });
    await new Promise((r) => setTimeout(r, 500));
    inbox.unsubscribe();
    assert.ok(pings.length >= 3, `${pings.length} ping replies`);

    // An outside agent with a registered key.
    const acme = loadedKey('acme');
    await live.identity.admin.add(acme);
    const ann = dec((await nc.request('caco.gwlive.gw.announce', enc(signWithKey({ name: 'acme', version: '0.1.0', publishes: ['ext.acme.meter.read'], consumes: ['grid.forecast.published'], schemas: { 'ext.acme.meter.read': { type: 'object', required: ['kw'], properties: { kw: { type: 'number' } } } } }, acme)), { timeout: 5000 })).data);
    assert.equal(ann.ok, true, JSON.stringify(ann));
    const relayed = new Promise<Envelope>((resolve) => {
      const sub = nc.subscribe('caco.gwlive.evt.ext.>', { callback: (_e, m) => (sub.unsubscribe(), resolve(dec(m.data) as unknown as Envelope)) });
    });
    const app = dec((await nc.request('caco.gwlive.gw.append', enc(signWithKey({ id: '0190f0e0-0000-7000-8000-000000000001', type: 'ext.acme.meter.read', version: 1, data: { kw: 3 } }, acme)), { timeout: 5000 })).data);
    assert.equal(app.ok, true, JSON.stringify(app));
    const e = await relayed;
    assert.equal(e.source, 'acme');
    assert.equal(e.correlationId, '0190f0e0-0000-7000-8000-000000000001');
    assert.equal(e.position, app['position']);
    // Its signature checks out with the key q.keys gives for its source, as any language would
    // check it: ed25519 over the 32 bytes of its hash. The site signs a party's facts with a key
    // it holds in the party's name, not the key the party registered.
    const keys = dec((await nc.request('caco.gwlive.q.keys', enc({}), { timeout: 5000 })).data) as unknown as { ok: boolean; format: string; keys: Record<string, string> };
    assert.equal(keys.ok, true, JSON.stringify(keys));
    assert.equal(keys.format, 'caco-keys/1');
    assert.ok(keys.keys['acme'] && keys.keys['compute'], Object.keys(keys.keys).join(', '));
    assert.notEqual(keys.keys['acme'], acme.publicKey, "the site's key for acme's facts, not acme's own");
    const sigOk = (source: string) => verify(null, Buffer.from(e.hash, 'hex'), publicKeyFromRaw(Buffer.from(keys.keys[source]!, 'base64')), Buffer.from(e.sig, 'base64'));
    assert.equal(sigOk('acme'), true);
    assert.equal(sigOk('compute'), false, 'another source\'s key does not verify it');

    // Queries.
    const f = dec((await nc.request('caco.gwlive.q.forecast', enc({}), { timeout: 5000 })).data);
    assert.equal(f.ok, true);
    assert.ok('forecast' in f);
    const o = dec((await nc.request('caco.gwlive.q.offers', enc({}), { timeout: 5000 })).data);
    assert.deepEqual(o, { ok: true, offers: [] });
    const now = Date.now();
    const submit = signWithKey({ id: 'sub-1', type: 'compute.job.submit', version: 1, time: new Date(now).toISOString(), correlationId: 'sub-1', causationId: null, data: { jobId: 'acme-1', class: 'training', powerKw: 200, runtimeMin: 60, earliestStart: new Date(now).toISOString(), deadline: new Date(now + 8 * 3_600_000).toISOString(), slaClass: 'silver', preemptible: true } }, acme);
    const sr = dec((await nc.request('caco.gwlive.cmd.compute.submit', enc(submit), { timeout: 30_000 })).data);
    assert.equal(sr.ok, true, JSON.stringify(sr));
    let plan: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      plan = dec((await nc.request('caco.gwlive.q.plan', enc({ jobId: 'acme-1' }), { timeout: 5000 })).data);
      if ((plan['plan'] as { plannedStart?: string } | null)?.plannedStart) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(plan['ok'], true);
    assert.ok((plan['plan'] as { plannedStart: string }).plannedStart, JSON.stringify(plan));
  } finally {
    await nc.close();
    await live.stop();
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on the JetStream ledger: an outside fact is stored once, a re-send is a duplicate at the same position, and it reads back verified', async (t) => {
  if (!natsServerInstalled()) {
    if (process.env['CI'] === 'true') throw new Error('nats-server is required in CI');
    t.skip('no nats-server');
    return;
  }
  const server = await NatsServerProcess.start();
  const dir = mkdtempSync(join(tmpdir(), 'caco-gw-js-'));
  const { startLiveSite } = await import('../../../cli/site-runtime.ts');
  const config = { ...loadConfig({ env: { CACO_BUS: 'nats', CACO_STORE: 'jetstream', LOG_LEVEL: 'silent', NATS_URL: server.url } }), dataDir: dir, site: 'gwjs' };
  const live = await startLiveSite(config, { recorded: true, init: true });
  const nc = await connectNats({ servers: server.url, name: 'outside' });
  try {
    const acme = loadedKey('acme');
    await live.identity.admin.add(acme);
    const ann = dec((await nc.request('caco.gwjs.gw.announce', enc(signWithKey({ name: 'acme', version: '0.1.0', publishes: ['ext.acme.meter.read'], consumes: [], schemas: { 'ext.acme.meter.read': { type: 'object' } } }, acme)), { timeout: 5000 })).data);
    assert.equal(ann.ok, true, JSON.stringify(ann));
    const fact = signWithKey({ id: 'js-1', type: 'ext.acme.meter.read', version: 1, data: { kw: 1 } }, acme);
    const first = dec((await nc.request('caco.gwjs.gw.append', enc(fact), { timeout: 5000 })).data);
    const again = dec((await nc.request('caco.gwjs.gw.append', enc(fact), { timeout: 5000 })).data);
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.equal(again['duplicate'], true);
    assert.equal(again['position'], first['position']);
    const read = dec((await nc.request('caco.gwjs.gw.read', enc({ fromPosition: 0, types: ['ext.>'] }), { timeout: 5000 })).data);
    assert.deepEqual((read['events'] as Envelope[]).map((e) => [e.correlationId, e.source, e.position]), [['js-1', 'acme', first['position']]]);
  } finally {
    await nc.close();
    await live.stop();
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
