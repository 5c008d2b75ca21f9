import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildContext, offersFromCatalog, parseSigningKeyFile, searchRequest, signRequest, StaticKeyDirectory, verifyRequest, newSigningIdentity } from '../../beckn/index.ts';
import type { Catalog } from '../../schemas/beckn/index.ts';
import { startBecknHttpServer } from '../../agents/coordination/index.ts';

/**
 * `caco bpp` as an outside BAP meets it: only files, HTTP and the Beckn signing scheme. The
 * BAP here shares no code path with the BPP's agents except the signing functions.
 */

const CLI = resolve(import.meta.dirname, '../../cli/caco.ts');

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => done(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

test('caco bpp without key files: one line, exit code 2', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'bpp', '--port', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^caco: --signing-key <file> is required/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'bpp', '--signing-key', '/nonexistent.json', '--key-directory', '/nonexistent.json'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^caco: --signing-key: file \/nonexistent.json does not exist\n$/);
});

test('caco bpp refuses a signing key others can read, and keygen never writes over a key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-bpp-mode-'));
  try {
    const keygen = () => spawnSync(process.execPath, ['--import', 'tsx', CLI, 'bpp', 'keygen', 'dc.example.com', '--out', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(keygen().status, 0);
    const keyPath = join(dir, 'dc.example.com.signing-key.json');
    const made = readFileSync(keyPath, 'utf8');
    const again = keygen();
    assert.equal(again.status, 2);
    assert.match(again.stderr, /exists; remove it or choose another --out/);
    assert.equal(readFileSync(keyPath, 'utf8'), made, 'the first key is kept');
    chmodSync(keyPath, 0o644);
    writeFileSync(join(dir, 'baps.json'), JSON.stringify({ format: 'caco-beckn-keys/1', keys: [] }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'bpp', '--signing-key', keyPath, '--key-directory', join(dir, 'baps.json'), '--port', '1', '--data-dir', join(dir, 'var')], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /signing key file .*: can be read or written by others \(mode 644\); chmod 600 it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('caco bpp: an outside BAP searches with a signed request and gets a signed on_search; an unsigned one gets 401', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-bpp-'));
  const bpp = newSigningIdentity('dc-test.example.com', 'k1');
  const bap = newSigningIdentity('bap-test.example.org', 'k1');
  writeFileSync(join(dir, 'bpp.signing-key.json'), JSON.stringify(bpp.signingKeyFile), { mode: 0o600 });
  const bapKey = parseSigningKeyFile(bap.signingKeyFile);
  const bppKeys = new StaticKeyDirectory([bpp.directoryEntry]);

  // The BAP's callback endpoint checks each callback's signature against the BPP's public key.
  const inbox: Array<{ action: string; verified: boolean; body: unknown }> = [];
  const server = await startBecknHttpServer({
    actions: ['on_search'],
    pathPrefix: '/bap',
    handler: async (req) => {
      const v = await verifyRequest(req.headers, req.body, bppKeys, Date.now() / 1000);
      inbox.push({ action: req.action, verified: v.ok && v.subscriberId === 'dc-test.example.com', body: JSON.parse(req.body.toString('utf8')) });
      return { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } };
    },
  });
  // The BAP's entry names where it takes callbacks: the BPP calls back only there.
  writeFileSync(join(dir, 'baps.json'), JSON.stringify({ format: 'caco-beckn-keys/1', keys: [{ ...bap.directoryEntry, url: `${server.origin}/bap` }] }));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'bpp', '--signing-key', join(dir, 'bpp.signing-key.json'), '--key-directory', join(dir, 'baps.json'), '--port', String(port), '--recorded', '--data-dir', join(dir, 'var')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  try {
    for (let i = 0; i < 900 && !out.includes('Ctrl-C to stop'); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(out, /caco bpp: dc-test\.example\.com \(key k1\) serving deg:compute-flexibility at http:\/\/127\.0\.0\.1:\d+\/beckn/, out);

    const bppUri = `http://127.0.0.1:${port}/beckn`;
    const body = searchRequest(
      buildContext({ action: 'search', bap: { id: 'bap-test.example.org', uri: `${server.origin}/bap` }, transactionId: crypto.randomUUID(), messageId: crypto.randomUUID(), nowMs: Date.now() }),
      { minKw: 100, location: { cityCode: 'std:020' } },
    );
    const text = JSON.stringify(body);
    const sig = signRequest(text, bapKey, Date.now() / 1000, 30);
    const res = await fetch(`${bppUri}/search`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: sig.authorization }, body: text });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { message: { ack: { status: 'ACK' } } });
    for (let i = 0; i < 100 && inbox.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(inbox.length, 1, 'one on_search callback');
    assert.equal(inbox[0]!.verified, true, 'signed by the BPP');
    const cb = inbox[0]!.body as { context: { message_id: string; bpp_id: string; bpp_uri: string }; message: { catalog: Catalog } };
    assert.equal(cb.context.message_id, body.context.message_id);
    assert.deepEqual([cb.context.bpp_id, cb.context.bpp_uri], ['dc-test.example.com', bppUri]);
    assert.equal(cb.message.catalog.providers[0]!.id, 'dc-london-01');
    // Whatever the plan offers right now is a well-formed flexibility item.
    for (const o of offersFromCatalog(cb.message.catalog)) assert.ok(o.availableKw >= o.minKw && o.windowEndMs > o.windowStartMs);

    // Issue 15.5: a BAP added to the key file is served without a restart (the file is re-read
    // when it changes, at most once a second); until then its requests get 401.
    const late = newSigningIdentity('late-bap.example.org', 'k1', `${server.origin}/bap`);
    const lateKey = parseSigningKeyFile(late.signingKeyFile);
    const lateSearch = async () => {
      const b = JSON.stringify(searchRequest(buildContext({ action: 'search', bap: { id: 'late-bap.example.org', uri: `${server.origin}/bap` }, transactionId: crypto.randomUUID(), messageId: crypto.randomUUID(), nowMs: Date.now() }), {}));
      const s = signRequest(b, lateKey, Date.now() / 1000, 30);
      return (await fetch(`${bppUri}/search`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: s.authorization }, body: b })).status;
    };
    assert.equal(await lateSearch(), 401, 'not in the key file yet');
    writeFileSync(join(dir, 'baps.json'), JSON.stringify({ format: 'caco-beckn-keys/1', keys: [{ ...bap.directoryEntry, url: `${server.origin}/bap` }, late.directoryEntry] }));
    let lateStatus = 0;
    for (let i = 0; i < 30 && lateStatus !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      lateStatus = await lateSearch();
    }
    assert.equal(lateStatus, 200, 'the new key is in force without a restart');

    const unsigned = await fetch(`${bppUri}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    assert.equal(unsigned.status, 401);
    assert.match(unsigned.headers.get('www-authenticate') ?? '', /^Signature realm="dc-test\.example\.com"/);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, out);
  }
});
