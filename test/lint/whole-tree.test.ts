// test-file-timeout: 240
/**
 * The whole tree type-checks and lints clean (`npm run typecheck`, `npm run lint`), in CI too:
 * the other lint tests check rules on snippets, so an error in a file went unseen until someone
 * ran ESLint by hand. Each runs as a child process with its own time limit, killed on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

function run(bin: string, args: string[], limitMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'node_modules', bin), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test('tsc --noEmit: no type error anywhere', { timeout: 150_000 }, async () => {
  const r = await run('typescript/bin/tsc', ['--noEmit', '-p', '.'], 140_000);
  assert.equal(r.code, 0, r.out.slice(-4000));
});

test('eslint .: no finding anywhere', { timeout: 150_000 }, async () => {
  const r = await run('eslint/bin/eslint.js', ['.', '--max-warnings', '0'], 140_000);
  assert.equal(r.code, 0, r.out.slice(-4000));
});
