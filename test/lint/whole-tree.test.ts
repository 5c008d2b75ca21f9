// test-file-timeout: 240
/**
 * The whole tree type-checks and lints clean (`npm run typecheck`, `npm run lint`), in CI too:
 * the other lint tests check rules on snippets, so an error in a file went unseen until someone
 * ran ESLint by hand. Each runs as a child process, killed at its own time limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

/** A tool from node_modules run to the end (killed at `limitMs`): its exit status and output. */
function run(bin: string, args: string[], limitMs: number): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', bin), ...args], { cwd: root, encoding: 'utf8', timeout: limitMs });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

test('tsc --noEmit: no type error anywhere', { timeout: 150_000 }, () => {
  const r = run('typescript/bin/tsc', ['--noEmit', '-p', '.'], 140_000);
  assert.equal(r.status, 0, r.out.slice(-4000));
});

test('eslint .: no finding anywhere', { timeout: 150_000 }, () => {
  const r = run('eslint/bin/eslint.js', ['.', '--max-warnings', '0'], 140_000);
  assert.equal(r.status, 0, r.out.slice(-4000));
});
