// test-file-timeout: 90
/**
 * Found by a helper's review: `caco agent check` stopped by SIGTERM (a timeout, a cancelled CI
 * job) left its scratch nats-server, the agent it ran and the folder with the agent's private
 * key behind. They now go with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/caco.ts', import.meta.url));
const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect({ host: '127.0.0.1', port });
  s.once('connect', () => (s.destroy(), resolve(true)));
  s.once('error', () => resolve(false));
});

test('SIGTERM ends the check with its scratch server, its agent and its folder', async () => {
  const marker = String(7000 + Math.floor(Math.random() * 999));
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'agent', 'check', 'rvsig', '--timeout', '60', '--', 'sleep', marker], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    const end = Date.now() + 60_000;
    while (!/watching for/.test(out) && Date.now() < end && p.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const m = /on nats:\/\/127\.0\.0\.1:(\d+); agent "rvsig" with key file (\S+)\/rvsig\.key/.exec(out);
    assert.ok(m, out);
    const [, port, dir] = m;
    assert.equal(await accepts(Number(port)), true);
    const exited = new Promise<NodeJS.Signals | null>((r) => p.once('exit', (_c, sig) => r(sig)));
    p.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM', 'it still ends as the signal says');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await accepts(Number(port)), false, 'the scratch nats-server is gone');
    assert.equal(existsSync(dir!), false, 'the folder with the private key is gone');
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    assert.equal(ps.split('\n').some((l) => l.trim() === `sleep ${marker}`), false, 'the agent is gone');
  } finally {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});
