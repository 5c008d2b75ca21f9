import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { embeddedStack } from '../support/embedded.ts';
import { writeFixtureLedger } from '../sim/report/fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = [join(ROOT, 'node_modules/.bin/tsx'), join(ROOT, 'cli/caco.ts'), 'dashboard'];

function run(args: string[]) {
  return spawnSync(CLI[0]!, [...CLI.slice(1), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

/** Start the dashboard and wait for the line with its URL. */
function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(CLI[0]!, [...CLI.slice(1), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no URL within 60 s: ${out}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('caco dashboard (command line)', () => {
  test('no ledger: one line naming the file, exit 2', () => {
    const r = run(['--ledger', '/nonexistent/caco/ledger.db', '--port', '0']);
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('caco:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /no ledger at \/nonexistent\/caco\/ledger\.db/);
  });

  test('serves on 127.0.0.1; a second one on the same port says the port is in use and exits 2; SIGTERM stops it', async () => {
    const s = embeddedStack('cli');
    await writeFixtureLedger(s.store, 12);
    const ledger = join(s.dir, 'ledger.db');
    // The ledger's public keys beside it, where the command looks: without them no event
    // verifies, and the projections show only what verifies.
    mkdirSync(join(s.dir, 'keys'));
    writeFileSync(join(s.dir, 'keys', 'keys.json'), JSON.stringify({ keys: s.keyring.publicKeys() }));
    const first = await serve(['--ledger', ledger, '--port', '0']);
    try {
      const view = (await (await fetch(`${first.url}/api/view`)).json()) as { audit: { events: number } };
      assert.equal(view.audit.events, await s.store.headPosition());
      const port = new URL(first.url).port;
      const r = run(['--ledger', ledger, '--port', port]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^caco: port ${port} on 127\\.0\\.0\\.1 is in use; choose another with --port`, 'm'));
      const bad = run(['--ledger', ledger, '--port', 'eighty']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--port: "eighty" must be a whole number/);
      const badStreams = run(['--ledger', ledger, '--port', '0', '--max-streams', '0']);
      assert.equal(badStreams.status, 2);
      assert.match(badStreams.stderr, /--max-streams: "0" must be a whole number from 1 to 10000/);
    } finally {
      const exited = new Promise<number | null>((res) => first.child.on('exit', (c) => res(c)));
      first.child.kill('SIGTERM');
      assert.equal(await exited, 0);
      await s.close();
    }
  });

  test('--max-streams bounds the live connections it serves: past it a 503 with Retry-After', async () => {
    const s = embeddedStack('cli-streams');
    await writeFixtureLedger(s.store, 6);
    const ledger = join(s.dir, 'ledger.db');
    mkdirSync(join(s.dir, 'keys'));
    writeFileSync(join(s.dir, 'keys', 'keys.json'), JSON.stringify({ keys: s.keyring.publicKeys() }));
    const dash = await serve(['--ledger', ledger, '--port', '0', '--max-streams', '1']);
    const ac = new AbortController();
    try {
      const one = await fetch(`${dash.url}/api/stream`, { signal: ac.signal });
      assert.equal(one.status, 200);
      const two = await fetch(`${dash.url}/api/stream`);
      assert.equal(two.status, 503);
      assert.ok(two.headers.get('retry-after'));
    } finally {
      ac.abort();
      const exited = new Promise<number | null>((res) => dash.child.on('exit', (c) => res(c)));
      dash.child.kill('SIGTERM');
      assert.equal(await exited, 0);
      await s.close();
    }
  });
});
