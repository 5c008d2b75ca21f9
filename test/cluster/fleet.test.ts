// test-file-timeout: 600
/**
 * Two sites on one 3-node cluster at once, each with its own agents and its own 3-replica
 * ledger stream: each site's ledger equals its embedded reference run, the streams are placed
 * on all three nodes, and `caco fleet` reports each site and the sum.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ledgerStreamName } from '../../core/store/jetstream-commit.ts';
import { fleetView, type FleetView } from '../../projections/fleet/index.ts';
import { NatsCluster } from '../../deploy/local/nats-cluster.ts';
import { natsServerInstalled } from '../../deploy/local/nats-server.ts';
import { simulate } from './simulate-on.ts';

const skip = natsServerInstalled() || process.env['CI'] === 'true' ? false : 'nats-server is not installed (apt-get install nats-server)';

describe('two sites on one cluster', { skip, timeout: 540_000 }, () => {
  let cluster: NatsCluster | undefined;
  before(async () => {
    cluster = await NatsCluster.start();
  });
  after(async () => {
    await cluster?.dispose();
  });

  test('each site keeps its own ledger, equal to its embedded run; caco fleet adds them up', async () => {
    const c = cluster!;
    const [refA, refB] = [await simulate('fleet-ref-a', { store: 'sqlite' }, '7'), await simulate('fleet-ref-b', { store: 'sqlite' }, '8')];
    // Both sites run at the same time on the same cluster.
    const [a, b] = await Promise.all([
      simulate('fleet-a', { store: 'jetstream', natsUrl: c.urls, replicas: 3 }, '7'),
      simulate('fleet-b', { store: 'jetstream', natsUrl: c.urls, replicas: 3 }, '8'),
    ]);
    assert.ok(a.ok && b.ok);
    assert.equal(a.head, refA.head);
    assert.equal(b.head, refB.head);
    assert.equal(a.events, refA.events);
    assert.equal(b.events, refB.events);
    assert.notEqual(a.head, b.head);

    const nc = await connect({ servers: c.urls.split(','), timeout: 2000, maxReconnectAttempts: 0 });
    try {
      const jsm = await jetstreamManager(nc);
      for (const site of [a.natsSite, b.natsSite]) {
        const info = await jsm.streams.info(ledgerStreamName(site));
        assert.equal(info.config.num_replicas, 3);
        const peers = new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)]);
        assert.equal(peers.size, 3, `${site}'s ledger is on every node (${[...peers].join(', ')})`);
        assert.equal(info.state.messages > 0, true);
      }
    } finally {
      await nc.close();
    }

    // The runs' keys went with their folders: added up as stored, and said so (the check of
    // what verifies is test/cli/audit-trust.test.ts's, on SQLite).
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'cli/caco.ts', 'fleet', '--sites', `${a.natsSite},${b.natsSite}`, '--nats-url', c.urls, '--json', '--no-verify'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /not verified \(--no-verify\)/);
    const view = JSON.parse(cli.stdout) as FleetView;
    assert.equal(view.sites.length, 2);
    assert.deepEqual(view.sites.map((s) => s.headHash).sort(), [a.head, b.head].sort());
    assert.equal(view.total.events, a.events + b.events);
    const sum = (f: (s: FleetView['sites'][number]) => number) => view.sites.reduce((x, s) => x + f(s), 0);
    assert.ok(Math.abs(view.total.costGbp - sum((s) => s.costGbp)) < 1e-6);
    assert.ok(Math.abs(view.total.carbonKg - sum((s) => s.carbonKg)) < 1e-6);
    assert.ok(view.total.costGbp > 0 && view.total.carbonKg > 0);

    const human = spawnSync(process.execPath, ['--import', 'tsx', 'cli/caco.ts', 'fleet', '--sites', `${a.natsSite},nosuchsite`, '--nats-url', c.urls], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(human.status, 2, 'a site without a ledger is an error');
    assert.match(human.stderr, /nosuchsite/);
  });

  test('the fleet view sums what the sites booked and weighs averages by import', () => {
    const row = (site: string, importMwh: number, costGbp: number, carbonKg: number, d: number, k: number) => ({ site, events: 10, headHash: site, importMwh, costGbp, carbonKg, flexOrders: 1, flexDeliveredMwh: d, flexContractedMwh: k, flexNetGbp: 5 });
    const v = fleetView([row('b', 30, 1500, 6000, 1, 2), row('a', 10, 1000, 1000, 0, 0)]);
    assert.deepEqual(v.sites.map((s) => s.site), ['a', 'b']);
    assert.equal(v.total.importMwh, 40);
    assert.equal(v.total.avgPriceGbpPerMwh, 2500 / 40);
    assert.equal(v.total.avgGPerKwh, 7000 / 40);
    assert.equal(v.total.flexDeliveryRatio, 0.5);
    assert.throws(() => fleetView([row('a', 1, 1, 1, 0, 0), row('a', 1, 1, 1, 0, 0)]), /listed twice/);
  });
});
