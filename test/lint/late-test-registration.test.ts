// test-file-timeout: 30
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The test runner (scripts/test.mjs) passes --test-force-exit: a file ends once the tests it
 * has registered so far are done. A `describe` or `test` registered after a top-level `await`
 * (say `{ skip: await natsSkip() }` below a quick suite) is then never run, and never counted:
 * test/security/ledger-continuity.test.ts lost its NATS case that way without a word. Await
 * first (`const skip = await natsSkip();` above every registration), then register.
 */
const root = join(import.meta.dirname, '../..');

function testFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) testFiles(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Top-level lines (column 0) that await after the file's first top-level registration. */
export function lateAwaits(source: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let registered = false;
  source.split('\n').forEach((text, i) => {
    const registers = /^(describe|test|suite|it)(\.(skip|only|todo))?\(/.test(text);
    // The registration's own line may await in its options, before the callback's body starts.
    const head = registers ? text.split(/=>\s*\{|function\s*\(/)[0]! : text;
    const awaits = registers ? /\bawait\b/.test(head) : /^(const|let|var|await|for|if)\b.*\bawait\b/.test(text);
    if (registered && awaits) out.push({ line: i + 1, text: text.slice(0, 120) });
    if (registers) registered = true;
  });
  return out;
}

test('the rule finds an await in a registration, or on its own line, after the first registration', () => {
  assert.deepEqual(lateAwaits("describe('a', () => {});\ndescribe('b', { skip: await natsSkip() }, () => {});").map((x) => x.line), [2]);
  assert.deepEqual(lateAwaits("test('a', () => {});\nconst skip = await natsSkip();").map((x) => x.line), [2]);
  assert.deepEqual(lateAwaits("const skip = await natsSkip();\ndescribe('a', { skip }, () => {});\ntest('b', async () => {\n  await x();\n});"), []);
  assert.deepEqual(lateAwaits("test('a', async () => { await x(); });"), [], 'an await inside the callback is not a top-level one');
});

test('no test file awaits at top level after registering a test', () => {
  const found = testFiles(join(root, 'test')).flatMap((f) => lateAwaits(readFileSync(f, 'utf8')).map((x) => `${relative(root, f)}:${x.line}: ${x.text}`));
  assert.deepEqual(found, []);
});
