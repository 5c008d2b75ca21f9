// test-file-timeout: 180
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { acquireRunLock } from '../../cli/run-lock.ts';

/**
 * Two `caco run` on one data dir both started and forked the anchor file for good. The site
 * folder is locked for the life of the site: a second start is refused by name (exit 2), and
 * a lock left by a process killed with -9 does not block a restart.
 */
const ROOT = join(import.meta.dirname, '../..');

/** A child process that takes the run lock of `dir`, says so, and holds it until killed. */
function holder(dir: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const code = `import('${pathToFileURL(join(ROOT, 'cli/run-lock.ts')).href}').then((m) => { m.acquireRunLock(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000); })`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the holder did not take the lock: ${out}`));
    }, 30_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('held')) {
        clearTimeout(t);
        resolve({ child, exited });
      }
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  });
}

test('the run lock: refused while held, by this process or another; let go when the holder dies however it dies; a PID in the file means nothing', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-lock-'));
  let other: Awaited<ReturnType<typeof holder>> | undefined;
  try {
    const lock = acquireRunLock(dir);
    assert.throws(() => acquireRunLock(dir), (e: Error) => e.message.includes(`${dir} is in use by another caco run (PID ${process.pid} on `));
    lock.release();

    // Another process holds it: refused, naming that process; after its kill -9 the lock is free.
    other = await holder(dir);
    assert.throws(() => acquireRunLock(dir), (e: Error) => e.message.includes(`${dir} is in use by another caco run (PID ${other!.child.pid} on `));
    other.child.kill('SIGKILL');
    await other.exited;
    acquireRunLock(dir).release();

    // A PID-file lock (what run.lock held before) naming a live process, as PID 1 in a
    // container or a PID reused after a reboot would: not a holder, so not refused.
    writeFileSync(join(dir, 'run.lock'), '1\n');
    writeFileSync(join(dir, 'run.lock.holder'), 'PID 1\n');
    const again = acquireRunLock(dir);
    again.release();
  } finally {
    if (other && other.child.exitCode === null && other.child.signalCode === null) other.child.kill('SIGKILL');
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

test('the holder note is not written through a symlink planted in its place', () => {
  // Found by a helper's review, run there: the note followed a symlink and overwrote its target.
  const dir = mkdtempSync(join(tmpdir(), 'caco-lock-link-'));
  try {
    writeFileSync(join(dir, 'victim.txt'), 'precious');
    symlinkSync(join(dir, 'victim.txt'), join(dir, 'run.lock.holder'));
    const lock = acquireRunLock(dir);
    lock.release();
    assert.equal(readFileSync(join(dir, 'victim.txt'), 'utf8'), 'precious');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run.lock planted with a trigger (or a view) is refused by name, without running it', async () => {
  // Found by a helper's review, run there: a trigger on holder that never ends kept DELETE
  // FROM holder, and caco run, at full CPU, deaf to SIGTERM.
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'caco-lock-trigger-'));
  try {
    const planted = new Database(join(dir, 'run.lock'));
    planted.exec(`CREATE TABLE holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL);
      INSERT INTO holder VALUES (1, 'x', 'y');
      CREATE TRIGGER t BEFORE DELETE ON holder BEGIN SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c); END;`);
    planted.close();
    const started = Date.now();
    assert.throws(() => acquireRunLock(dir), (e: Error) => e.name === 'UsageError' && /run\.lock holds a trigger \("t"\).*remove it/.test(e.message));
    assert.ok(Date.now() - started < 5000);
    // Refused, not cleared: the file is as planted, and removing it lets the lock be taken.
    const after = new Database(join(dir, 'run.lock'), { readonly: true });
    assert.equal(after.prepare<[], { n: number }>('SELECT count(*) AS n FROM holder').get()!.n, 1);
    after.close();
    rmSync(join(dir, 'run.lock'));
    acquireRunLock(dir).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
