// test-file-timeout: 300
/**
 * The report, replayed against a real `caco run`: junk bytes and a forged commit
 * published straight to the site's ledger subjects used to stop the site silently and for
 * good (and make a restart and `audit verify` exit 2). Now the site keeps taking jobs, its
 * health check stays green and counts the quarantined messages, a restart comes up, and
 * `caco audit verify` exits 1 naming each bad message.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { sealBatch } from '../../core/ledger/seal.ts';
import { encodeCommit, POSITIONS_PER_COMMIT } from '../../core/store/jetstream-commit.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { freePort } from '../../deploy/local/nats-server.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { FileKeyring, rawPublicKey } from '../../core/ledger/keyring.ts';
import { signWithKey } from '../../core/identity/index.ts';

const root = join(import.meta.dirname, '../..');
const skip = await natsSkip();

interface Site {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `caco run --recorded` on its own site and data dir; resolves once it takes jobs. */
async function startSite(site: string, dataDir: string, port: number): Promise<Site> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), 'run', '--recorded', '--site', site, '--data-dir', dataDir, '--nats-url', natsUrl(), '--http-port', String(port)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`caco run did not start within 120 s:\n${out}`)), 120_000);
    const poll = setInterval(() => {
      if (out.includes('submit jobs:')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 100);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`caco run exited ${code} before it started:\n${out}`));
    });
  });
  return { child, exited, output: () => out };
}

async function stopSite(s: Site): Promise<number | null> {
  s.child.kill('SIGTERM');
  const code = await Promise.race([s.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
  if (code === 'hung') {
    s.child.kill('SIGKILL');
    assert.fail(`caco run did not stop on SIGTERM:\n${s.output()}`);
  }
  return code;
}

describe('a live site (caco run) with an outsider writing to its ledger', { skip, timeout: 280_000 }, () => {
  test('junk and a forged commit on ledger subjects: jobs are still taken, health stays green and counts them, a restart comes up, audit verify exits 1 naming each', async () => {
    const site = uniqueToken('live');
    const dataDir = mkdtempSync(join(tmpdir(), 'caco-live-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const sites: Site[] = [];
    const outsider = await connect({ servers: natsUrl(), name: 'attacker' });
    try {
      sites.push(await startSite(site, dataDir, port));
      const js = jetstream(outsider);
      const junk = (await js.publish(`caco.${site}.ledger.grid-forecast`, Buffer.from('{"not": "a commit"'))).seq * POSITIONS_PER_COMMIT;
      const forged = sealBatch('grid-evil', [{ id: randomUUID(), type: 'grid.forecast.published', version: 1, time: new Date().toISOString(), source: 'grid', correlationId: randomUUID(), causationId: null, data: { forged: true } }], undefined, new MemoryKeyring('attacker'));
      const forgedPos = (await js.publish(`caco.${site}.ledger.grid-evil`, encodeCommit(forged))).seq * POSITIONS_PER_COMMIT;

      // The site still acts: a job submitted after the junk is planned and can be explained.
      const now = Date.now();
      const job = { jobId: 'after-junk', class: 'training', gpuCount: 8, runtimeMin: 60, earliestStart: new Date(now + 3_600_000).toISOString(), deadline: new Date(now + 12 * 3_600_000).toISOString(), slaClass: 'gold', preemptible: false };
      // Signed by the site's own operator key, made on its first start (as `caco submit` does).
      const operator = new FileKeyring(join(dataDir, site, 'keys')).signingKey('operator');
      const key = { keyId: 'operator', party: 'operator', role: 'operator' as const, publicKey: rawPublicKey(operator).toString('base64'), privateKey: operator };
      const id = randomUUID();
      const envelope = signWithKey({ id, type: 'compute.job.submit', version: 1, time: new Date().toISOString(), source: 'operator', correlationId: id, causationId: null, data: job }, key);
      const posted = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
      assert.equal(posted.status, 202, await posted.text());
      assert.equal((await fetch(`${base}/jobs/after-junk`)).status, 200);
      let health = (await (await fetch(`${base}/health`)).json()) as { ok: boolean; quarantine: { refused: number } };
      for (let i = 0; i < 50 && health.quarantine.refused < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        health = (await (await fetch(`${base}/health`)).json()) as typeof health;
      }
      assert.ok(health.ok, JSON.stringify(health));
      assert.equal(health.quarantine.refused, 2, JSON.stringify(health));
      assert.equal(await stopSite(sites.pop()!), 0);

      // A restart reads the same ledger, junk and all, and comes up.
      sites.push(await startSite(site, dataDir, port));
      assert.equal((await fetch(`${base}/health`)).status, 200);
      assert.equal((await fetch(`${base}/jobs/after-junk`)).status, 200);
      assert.equal(await stopSite(sites.pop()!), 0);

      const verify = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), 'audit', 'verify', '--store', 'jetstream', '--site', site, '--data-dir', dataDir, '--nats-url', natsUrl()], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      assert.equal(verify.status, 1, verify.stderr + verify.stdout);
      assert.match(verify.stdout, new RegExp(`position ${junk}\\): .*not a CACO ledger commit`));
      // "grid" has no key until the grid agent first signs; either way the forgery is refused.
      assert.match(verify.stdout, new RegExp(`position ${forgedPos}\\): (bad signature|no registered key for source "grid")`));
    } finally {
      for (const s of sites) s.child.kill('SIGKILL');
      await outsider.close();
      const store = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring: new MemoryKeyring('cleanup') });
      await store.destroy().catch(() => undefined);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
