// test-file-timeout: 420
/**
 * `caco bpp` on the 3-node cluster (ledger at 3 replicas) is killed (SIGKILL) in the middle of
 * a negotiation: a BAP's search was accepted and its on_search callback is on its way (the BAP
 * holds the request open). After a restart the callback is sent again from the ledger, with
 * the same message id, and answered; the ledger holds the decision once, the callback once
 * and its outcome once, and verifies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildContext, newSigningIdentity, parseSigningKeyFile, searchRequest, signRequest } from '../../beckn/index.ts';
import { startBecknHttpServer, type BecknHttpServer } from '../../agents/coordination/index.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { NatsCluster } from '../../deploy/local/nats-cluster.ts';
import { freePort, natsServerInstalled } from '../../deploy/local/nats-server.ts';

const CLI = resolve(import.meta.dirname, '../../cli/caco.ts');
const skip = natsServerInstalled() || process.env['CI'] === 'true' ? false : 'nats-server is not installed (apt-get install nats-server)';

interface Bpp {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

function startBpp(args: string[]): Bpp {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'bpp', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => out };
}

async function until(what: string, ok: () => boolean, ms: number, bpp?: Bpp): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${bpp ? `\n--- caco bpp output ---\n${bpp.output()}` : ''}`);
    if (bpp && bpp.child.exitCode !== null) throw new Error(`caco bpp exited (${bpp.child.exitCode}) while waiting for ${what}:\n${bpp.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('caco killed mid-negotiation on the cluster', { skip, timeout: 400_000 }, () => {
  let cluster: NatsCluster | undefined;
  let server: BecknHttpServer | undefined;
  const bpps: Bpp[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'caco-negotiation-'));
  before(async () => {
    cluster = await NatsCluster.start();
  });
  after(async () => {
    for (const b of bpps) if (b.child.exitCode === null) b.child.kill('SIGKILL');
    await server?.close();
    await cluster?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the on_search decided before the kill is sent after the restart, once in the ledger, with the same message id', async () => {
    const c = cluster!;
    const bpp = newSigningIdentity('dc-crash.example.com', 'k1');
    const bap = newSigningIdentity('bap-crash.example.org', 'k1');
    const bapKey = parseSigningKeyFile(bap.signingKeyFile);
    writeFileSync(join(dir, 'bpp.signing-key.json'), JSON.stringify(bpp.signingKeyFile), { mode: 0o600 });
    // The first on_search is held open and never answered: the BPP dies while sending it.
    const received: string[] = [];
    let hold = true;
    server = await startBecknHttpServer({
      actions: ['on_search'],
      pathPrefix: '/bap',
      handler: async (req) => {
        received.push((JSON.parse(req.body.toString('utf8')) as { context: { message_id: string } }).context.message_id);
        if (hold) await new Promise(() => undefined);
        return { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } };
      },
    });
    writeFileSync(join(dir, 'baps.json'), JSON.stringify({ format: 'caco-beckn-keys/1', keys: [{ ...bap.directoryEntry, url: `${server.origin}/bap` }] }));
    const port = await freePort();
    const site = 'negotiation';
    const args = ['--signing-key', join(dir, 'bpp.signing-key.json'), '--key-directory', join(dir, 'baps.json'), '--port', String(port), '--recorded', '--metrics-port', '0', '--data-dir', join(dir, 'var'), '--site', site, '--bus', 'nats', '--store', 'jetstream', '--replicas', '3', '--nats-url', c.urls];

    let b = startBpp(args);
    bpps.push(b);
    await until('caco bpp to serve', () => b.output().includes('Ctrl-C to stop'), 120_000, b);
    const messageId = crypto.randomUUID();
    const body = JSON.stringify(searchRequest(buildContext({ action: 'search', bap: { id: 'bap-crash.example.org', uri: `${server.origin}/bap` }, transactionId: crypto.randomUUID(), messageId, nowMs: Date.now() }), { minKw: 100 }));
    const sig = signRequest(body, bapKey, Date.now() / 1000, 30);
    const res = await fetch(`http://127.0.0.1:${port}/beckn/search`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: sig.authorization }, body });
    assert.equal(res.status, 200, await res.text());
    await until('the on_search callback to reach the BAP', () => received.length === 1, 60_000, b);

    // Killed while the callback is in flight: its outcome was never recorded.
    b.child.kill('SIGKILL');
    await b.exited;
    hold = false;
    const killedAt = Date.now();

    b = startBpp(args);
    bpps.push(b);
    await until('the callback to be sent again after the restart', () => received.length >= 2, 120_000, b);
    const recoveryMs = Date.now() - killedAt;
    assert.deepEqual([...new Set(received)], [messageId], 'every delivery carries the message id of the search it answers');
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.output());

    // The ledger: read it on the cluster and verify it with the site's own tool.
    const store = await JetStreamEventStore.connect({ servers: c.urls, site, keyring: new MemoryKeyring('reader'), mustExist: true });
    const events: Envelope[] = [];
    try {
      for await (const e of store.readAll()) events.push(e);
    } finally {
      await store.close();
    }
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event stored twice');
    const scheduled = events.filter((e) => e.type === 'beckn.callback.scheduled' && (e.data as { messageId?: string }).messageId === messageId);
    assert.equal(scheduled.length, 1, 'the callback was decided once');
    const outcomes = events.filter((e) => e.type.startsWith('outbox.effect.') && (e.data as { effectId?: string }).effectId === scheduled[0]!.id);
    assert.deepEqual(outcomes.map((e) => e.type), ['outbox.effect.sent'], 'its outcome is recorded once');
    const verify = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'audit', 'verify', '--store', 'jetstream', '--site', site, '--nats-url', c.urls, '--data-dir', join(dir, 'var')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    process.stdout.write(`# caco bpp killed mid-callback: the callback was delivered again ${recoveryMs} ms after the kill (restart included)\n`);
  });
});
