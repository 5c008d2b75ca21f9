/**
 * The credentials path of deploy/k8s, run for real: the README's `caco nats creds` command
 * makes every file the kustomization's secretGenerator reads, and a nats-server laid out as
 * the chart lays it out (config in /etc/nats-config, the accounts Secret at the mount of
 * nats-values.yaml, included by its `$include`) accepts the site's seed, mounted with the
 * Deployment's file mode, and refuses anonymous clients.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { parse, parseAllDocuments } from 'yaml';
import { usersFromFlags } from '../../cli/commands/nats.ts';
import { makeNatsCredentials } from '../../core/nats-auth/index.ts';
import { connectNats } from '../../core/bus/nats-bus.ts';
import { NatsServerProcess, natsServerInstalled } from '../../deploy/local/nats-server.ts';

const root = join(import.meta.dirname, '../..');
const k8s = join(root, 'deploy/k8s');

/** The `caco nats creds ...` line of deploy/k8s/README.md, as the flags commander would give. */
function readmeCredsFlags(): { dir: string; site: string[]; thirdParty?: string[]; auditor?: string[]; admin?: string[] } {
  const line = readFileSync(join(k8s, 'README.md'), 'utf8').split('\n').find((l) => /caco nats creds --/.test(l));
  assert.ok(line, 'deploy/k8s/README.md shows the caco nats creds command');
  const words = line.trim().split(/\s+/);
  const flags: Record<string, string[]> = {};
  let current: string | undefined;
  for (const w of words.slice(words.indexOf('creds') + 1)) {
    if (w.startsWith('--')) flags[(current = w.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()))] = [];
    else if (current) flags[current]!.push(w);
  }
  assert.deepEqual(flags['dir'], ['deploy/k8s/local'], 'the README writes the seeds where the kustomization reads them');
  return { dir: flags['dir']![0]!, site: flags['site'] ?? [], ...(flags['thirdParty'] ? { thirdParty: flags['thirdParty'] } : {}), ...(flags['auditor'] ? { auditor: flags['auditor'] } : {}), ...(flags['admin'] ? { admin: flags['admin'] } : {}) };
}

describe('deploy/k8s credentials: from caco nats creds to a connected site', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'caco-k8s-'));
  const local = join(work, 'local');
  const kustomization = parse(readFileSync(join(k8s, 'kustomization.yaml'), 'utf8')) as { secretGenerator: Array<{ name: string; files: string[] }> };
  const values = parse(readFileSync(join(k8s, 'nats-values.yaml'), 'utf8')) as {
    config: { merge: Record<string, unknown> };
    container: { patch: Array<{ path: string; value: { name: string; mountPath: string } }> };
  };
  const deployments = ['site-london.yaml', 'site-manchester.yaml'].flatMap((f) => parseAllDocuments(readFileSync(join(k8s, f), 'utf8')).map((d) => d.toJSON() as { kind: string; spec: { template: { spec: { volumes: Array<{ secret?: { secretName: string; defaultMode?: number } }> } } } }));
  let server: NatsServerProcess | undefined;

  before(() => {
    makeNatsCredentials({ dir: local, users: usersFromFlags({ ...readmeCredsFlags(), dir: local }), generatedBy: 'k8s-credentials.test' });
  });

  after(async () => {
    await server?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  test('the README command makes every file the secretGenerator reads', () => {
    for (const g of kustomization.secretGenerator) {
      for (const f of g.files) {
        const path = f.slice(f.indexOf('=') + 1);
        assert.ok(path.startsWith('local/'), path);
        assert.ok(existsSync(join(work, path)), `${g.name}: ${path} is made by the README's caco nats creds command`);
      }
    }
  });

  test('a server laid out as the chart does accepts the site seed at the Secret mode and refuses anonymous clients', async (t) => {
    // In CI the server must be there: the test runs and fails rather than skipping.
    if (!natsServerInstalled() && process.env['CI'] !== 'true') return t.skip('nats-server is not installed (apt-get install nats-server)');
    // The pod's files: the chart's config at /etc/nats-config/nats.conf, the Secret where nats-values.yaml mounts it.
    const etc = join(work, 'etc');
    const mount = values.container.patch.find((p) => p.path === '/volumeMounts/-')!.value.mountPath;
    const accountsDir = join(work, mount);
    mkdirSync(accountsDir, { recursive: true });
    copyFileSync(join(local, 'accounts.conf'), join(accountsDir, 'accounts.conf'));
    const conf = join(etc, 'nats-config/nats.conf');
    mkdirSync(dirname(conf), { recursive: true });
    const include = String(values.config.merge['$include']);
    // Unquoted, as the chart's nats.formatConfig renders a `$include` key.
    writeFileSync(conf, [`server_name: k8s-test`, `jetstream { store_dir: "${join(work, 'js')}" }`, `include ${include};`, ''].join('\n'));
    server = await NatsServerProcess.start({ config: conf });

    // The seed as the Secret volume presents it: the Deployment's defaultMode.
    const london = deployments.find((d) => d.kind === 'Deployment' && JSON.stringify(d).includes('caco-nats-site-london'))!;
    const vol = london.spec.template.spec.volumes.find((v) => v.secret?.secretName === 'caco-nats-site-london')!;
    const seed = join(work, 'secret/nats.nk');
    mkdirSync(dirname(seed), { recursive: true });
    copyFileSync(join(local, 'site-london.nk'), seed);
    chmodSync(seed, vol.secret!.defaultMode ?? 0o644);

    const nc = await connectNats({ servers: server.url, credentials: seed, timeoutMs: 5000 });
    try {
      const info = await nc.request('$JS.API.INFO', '', { timeout: 5000 });
      assert.equal((JSON.parse(info.string()) as { error?: unknown }).error, undefined, 'JetStream is enabled for the site in the CACO account');
    } finally {
      await nc.close();
    }
    await assert.rejects(
      connect({ servers: server.url, timeout: 3000, maxReconnectAttempts: 0 }).then((c) => c.close()),
      /authoriz/i,
      'anonymous clients are refused',
    );
  });
});
