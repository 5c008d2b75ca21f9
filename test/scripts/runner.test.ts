// test-file-timeout: 90
/**
 * The test runner (scripts/test.mjs) always ends: a file that outlives its limit is killed with
 * everything it spawned and counted as failed; a file that leaks a handle still ends when its
 * tests are done; the closing lines count what ran.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fixtures = 'test/scripts/fixtures';

function runRunner(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/test.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, ms: Date.now() - started }));
  });
}

/** Alive and not a zombie: /proc/<pid>/stat's state field is not Z. */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  const state = readFileSync(stat, 'utf8').replace(/^.*\)\s+/, '')[0];
  return state !== 'Z' && state !== 'X';
}

describe('test runner', { timeout: 80_000 }, () => {
  test('counts passes and skips and prints the closing lines', async () => {
    const r = await runRunner([`${fixtures}/passes.fixture.ts`, `${fixtures}/leaks-handle.fixture.ts`]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^3 passed, 0 failed, 1 skipped$/m);
    assert.match(r.out, /^ℹ pass 3$/m);
    assert.match(r.out, /^ℹ files 2$/m);
  });

  test('a failing test\'s reason is repeated at the end of the run, after the other files, without node\'s own stack frames', async () => {
    // One file at a time, so the failing file's own report is above and the other file between.
    const r = await runRunner(['--jobs', '1', `${fixtures}/fails.fixture.ts`, `${fixtures}/passes.fixture.ts`]);
    assert.equal(r.code, 1, r.out);
    assert.ok(r.out.indexOf('◀ test/scripts/fixtures/passes.fixture.ts') < r.out.indexOf('why tests failed'), r.out);
    const end = r.out.slice(r.out.indexOf('why tests failed'));
    assert.match(end, /^why tests failed[^\n]*\n {2}test\/scripts\/fixtures\/fails\.fixture\.ts\n( {4}.*\n)* {4}\s*AssertionError \[ERR_ASSERTION\]: the reason this fixture fails: arithmetic\n/);
    assert.doesNotMatch(end, /\(node:internal/);
    assert.match(r.out, /^3 passed, 1 failed, 1 skipped$/m);
  });

  // The runner's soft limit is the file limit minus 5 s, and it bounds the passing fixture too
  // (tsx loads it inside that time): 9-10 s limits leave it 4-5 s, enough on a loaded machine
  // (with 3 s it had 1 s, and failed at a load average of 13).
  for (const [fixture, how] of [
    ['frozen', /frozen\.fixture\.ts: killed after its limit of 9 s/],
    ['hangs', /hangs\.fixture\.ts[^\n]*\n\s*'test timed out after \d+ms'/],
  ] as const) {
    test(`a file that never ends (${fixture}) is ended with its child processes, reported and counted as failed; the rest still runs`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'caco-runner-'));
      const pidFile = join(dir, 'child.pid');
      try {
        const r = await runRunner(['--file-timeout', fixture === 'frozen' ? '9' : '10', `${fixtures}/${fixture}.fixture.ts`, `${fixtures}/passes.fixture.ts`], { CACO_RUNNER_FIXTURE_PIDFILE: pidFile });
        assert.equal(r.code, 1, r.out);
        assert.ok(r.ms < 40_000, `the runner took ${r.ms} ms`);
        assert.match(r.out, how);
        assert.match(r.out, /^2 passed, 1 failed, 1 skipped$/m);
        const pid = Number(readFileSync(pidFile, 'utf8'));
        assert.ok(pid > 0);
        assert.equal(alive(pid), false, `the file's child process ${pid} is still running`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a test that awaits for ever is ended by node:test at the soft limit, named, and counted as failed', async () => {
    const r = await runRunner(['--file-timeout', '9', `${fixtures}/waits.fixture.ts`]);
    assert.equal(r.code, 1, r.out);
    assert.ok(r.ms < 30_000, `the runner took ${r.ms} ms`);
    assert.match(r.out, /test timed out after 4000ms/);
    assert.match(r.out, /^0 passed, 1 failed, 0 skipped$/m);
  });

  test('a bad flag is refused with the reason', async () => {
    const r = await runRunner(['--file-timeout', 'soon', `${fixtures}/passes.fixture.ts`]);
    assert.equal(r.code, 2);
    assert.match(r.out, /--file-timeout must be a positive number, got "soon"/);
  });
});
