// test-file-timeout: 60
/**
 * The image holds every source file the CLI may load: `.dockerignore` left out `**\/local`,
 * which took deploy/local (the scratch nats-server code `caco agent check` imports) with the
 * credentials folders, and `caco agent check` failed in the image with "Cannot find module"
 * (a helper's review).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

/** Docker's rules, as far as this file uses them: paths from the context's root, `*` within a name, `**` across folders, a match also taking what is under it. */
function ignoredBy(patterns: ReadonlyArray<string>): (path: string) => boolean {
  const res = patterns.map((p) => {
    const body = p
      .replace(/^\//, '')
      .split(/(\*\*\/|\*)/)
      .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (path) => res.some((r) => r.test(path));
}

test('.dockerignore leaves every source file the image runs in it, and the credentials folders out', () => {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
  const ignored = ignoredBy(patterns);
  const sources = execFileSync('git', ['ls-files', '*.ts', '*.mjs', '*.json'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean).filter((f) => !f.startsWith('test/') && !f.startsWith('bench/results/') && !f.startsWith('.ci/'));
  assert.ok(sources.includes('deploy/local/index.ts') && sources.includes('cli/caco.ts'), 'not vacuous');
  assert.deepEqual(sources.filter(ignored), [], 'source files the image would lack');
  for (const secret of ['deploy/k8s/local/site-london.nk', 'deploy/nats/local/accounts.conf', 'var/london/keys/private/admin.key', 'node_modules/x/index.js']) assert.ok(ignored(secret), `${secret} is kept out`);
});
