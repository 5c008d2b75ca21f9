// test-file-timeout: 180
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../deploy/local/nats-server.ts';

/**
 * `caco run` on the embedded stack hosts the coordination agent on HTTP only, and says so;
 * the BPP answers there (an unsigned search gets 401 with WWW-Authenticate).
 */
const ROOT = join(import.meta.dirname, '../..');

test('caco run on the embedded bus: the market on HTTP only, said at start-up, and served', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-beckn-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    let log = '';
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/caco.ts'), 'run', '--bus', 'memory', '--store', 'sqlite', '--recorded', '--http-port', '0', '--beckn-port', String(port), '--data-dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const end = Date.now() + 120_000;
    while (!/submit jobs:/.test(log)) {
      if (child.exitCode !== null || Date.now() > end) assert.fail(`caco run did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(log, new RegExp(`beckn: coordination agent bpp\\.london\\.caco\\.local \\(key k1\\) sells flexibility on deg:compute-flexibility: HTTP POST http://127\\.0\\.0\\.1:${port}/beckn/<action>`));
    assert.match(log, /beckn: the embedded bus has no NATS binding, so the market is on HTTP only/);
    assert.doesNotMatch(log, /NATS requests on/);
    // Nothing outside this process reaches the in-process bus: no NATS subject, no caco submit.
    assert.match(log, /submit jobs: no route \(the HTTP endpoint is off: give --http-port\); caco submit needs --bus nats; Ctrl-C to stop/);
    assert.doesNotMatch(log, /cmd\.compute\.submit/);
    const res = await fetch(`http://127.0.0.1:${port}/beckn/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Signature realm="bpp\.london\.caco\.local"/);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((r) => {
        const t = setTimeout(() => {
          child!.kill('SIGKILL');
          r(undefined);
        }, 15_000);
        child!.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
