// test-file-timeout: 180
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireRunLock } from '../../cli/run-lock.ts';

/**
 * Two `caco run` on one data dir both started and forked the anchor file for good. The site
 * folder is locked for the life of the site: a second start is refused by name (exit 2), and
 * a lock left by a process killed with -9 does not block a restart.
 */
const ROOT = join(import.meta.dirname, '../..');

/** A PID that is not alive: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('the run lock: refused while held (in this process too), taken over from a dead PID, removed on release', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-lock-'));
  try {
    const lock = acquireRunLock(dir);
    assert.equal(readFileSync(lock.path, 'utf8').trim(), String(process.pid));
    assert.throws(() => acquireRunLock(dir), (e: Error) => e.message.includes(`in use by another caco run (PID ${process.pid}`));
    lock.release();
    assert.equal(existsSync(lock.path), false);

    const dead = deadPid();
    writeFileSync(join(dir, 'run.lock'), `${dead}\n`);
    const again = acquireRunLock(dir);
    assert.equal(readFileSync(again.path, 'utf8').trim(), String(process.pid), 'a dead holder is taken over');
    again.release();

    // A live holder (our parent stands in for another caco run) is refused, naming its PID and the folder.
    writeFileSync(join(dir, 'run.lock'), `${process.ppid}\n`);
    assert.throws(() => acquireRunLock(dir), (e: Error) => e.message.includes(`${dir} is in use by another caco run (PID ${process.ppid}`));
    assert.equal(readFileSync(join(dir, 'run.lock'), 'utf8').trim(), String(process.ppid), "the holder's lock is left alone");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function start(dir: string): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  let log = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/caco.ts'), 'run', '--bus', 'memory', '--store', 'sqlite', '--recorded', '--http-port', '0', '--no-beckn', '--data-dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, log: () => log, exited };
}

async function started(run: ReturnType<typeof start>): Promise<void> {
  const end = Date.now() + 90_000;
  while (!/submit jobs:/.test(run.log())) {
    if (run.child.exitCode !== null || Date.now() > end) assert.fail(`caco run did not start:\n${run.log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function kill(run: ReturnType<typeof start> | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!run || run.child.exitCode !== null || run.child.signalCode !== null) return;
  run.child.kill(signal);
  const t = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
  await run.exited;
  clearTimeout(t);
}

test('caco run: a second run on the same data dir is refused with exit 2, naming the PID; after kill -9 a restart starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-lock-live-'));
  let first: ReturnType<typeof start> | undefined;
  let second: ReturnType<typeof start> | undefined;
  let third: ReturnType<typeof start> | undefined;
  try {
    first = start(dir);
    await started(first);
    second = start(dir);
    const timer = setTimeout(() => second!.child.kill('SIGKILL'), 60_000);
    const code = await second.exited;
    clearTimeout(timer);
    assert.equal(code, 2, second.log());
    const lines = second.log().trimEnd().split('\n');
    assert.equal(lines.length, 1, second.log());
    assert.match(lines[0]!, new RegExp(`^caco: ${join(dir, 'london').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another caco run \\(PID ${first.child.pid}`));

    await kill(first, 'SIGKILL');
    assert.ok(existsSync(join(dir, 'london', 'run.lock')), 'kill -9 leaves the lock behind');
    third = start(dir);
    await started(third);
  } finally {
    await kill(first, 'SIGKILL');
    await kill(second, 'SIGKILL');
    await kill(third, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
});
