// test-file-timeout: 30
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

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

const REGISTERS = new Set(['describe', 'test', 'suite', 'it']);

/**
 * Awaits at the top level of a test file (outside any function body) that run after a test
 * was registered: in a statement after the first one that registers, or in the same statement
 * after a registering call ends (a loop that registers, then awaits). An await inside a call's
 * arguments runs before that call registers, so `describe('a', { skip: await s() }, …)` as the
 * first registration is fine.
 */
export function lateAwaits(source: string): Array<{ line: number; text: string }> {
  const file = ts.createSourceFile('t.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Array<{ line: number; text: string }> = [];
  const report = (a: ts.Node): void => {
    const { line } = file.getLineAndCharacterOfPosition(a.getStart());
    out.push({ line: line + 1, text: a.getText().split('\n')[0]!.slice(0, 120) });
  };
  /** One statement, with whether a test was registered before it; whether one is after it. */
  const check = (stmt: ts.Statement, registered: boolean): boolean => {
    // The branches of an if run one or the other: each starts from what came before.
    if (ts.isIfStatement(stmt)) {
      const afterThen = check(stmt.thenStatement, registered);
      const afterElse = stmt.elseStatement ? check(stmt.elseStatement, registered) : registered;
      return afterThen || afterElse;
    }
    if (ts.isBlock(stmt)) return stmt.statements.reduce((r, s) => check(s, r), registered);
    const awaits: ts.Node[] = [];
    let firstEnd = Infinity;
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) || ts.isClassLike(n)) return; // bodies run later, not at load
      if (ts.isAwaitExpression(n) || (ts.isForOfStatement(n) && n.awaitModifier)) awaits.push(n);
      if (ts.isCallExpression(n)) {
        const callee = ts.isPropertyAccessExpression(n.expression) ? n.expression.expression : n.expression;
        if (ts.isIdentifier(callee) && REGISTERS.has(callee.text)) firstEnd = Math.min(firstEnd, n.getEnd());
      }
      ts.forEachChild(n, visit);
    };
    visit(stmt);
    for (const a of awaits) if (registered || a.getStart() > firstEnd) report(a);
    return registered || firstEnd < Infinity;
  };
  file.statements.reduce((r, s) => check(s, r), false);
  return out;
}

test('the rule finds a top-level await after a registration, however it is written, and nothing else', () => {
  const late = (src: string) => lateAwaits(src).map((x) => x.line);
  assert.deepEqual(late("describe('a', () => {});\ndescribe('b', { skip: await natsSkip() }, () => {});"), [2]);
  assert.deepEqual(late("test('a', () => {});\nconst skip = await natsSkip();"), [2]);
  assert.deepEqual(late("test('a', () => {});\nconst skip =\n  await natsSkip();"), [3], 'an await on the line after its declaration');
  assert.deepEqual(late("test('a', () => {});\nlet skip;\nskip = await natsSkip();"), [3]);
  assert.deepEqual(late("test('a', () => {});\ntry { await x(); } catch {}"), [2]);
  assert.deepEqual(late("test('a', () => {});\nexport const y = await x();"), [2]);
  assert.deepEqual(late("for (const n of [1, 2]) {\n  test(`t${n}`, () => {});\n  await x();\n}"), [3], 'a loop that registers, then awaits');
  assert.deepEqual(late("const skip = await natsSkip();\ndescribe('a', { skip }, () => {});\ntest('b', async () => {\n  await x();\n});"), []);
  assert.deepEqual(late("describe('a', { skip: await natsSkip() }, () => {});"), [], 'the first registration awaiting its own options');
  assert.deepEqual(late("test('a', async () => { await x(); });\ntest('b', async () => await x());"), [], 'awaits inside callbacks are not top-level');
  assert.deepEqual(late("test('a', () => {});\nconst msg = 'do not await here';"), [], 'the word in a string');
  assert.deepEqual(late("if (skip) {\n  describe('a', { skip }, () => {});\n} else {\n  const m = await import('x');\n  test('b', () => {});\n}"), [], 'the branches of an if are one or the other');
  assert.deepEqual(late("if (skip) {\n  describe('a', { skip }, () => {});\n}\nawait x();"), [4]);
});

test('no test file awaits at top level after registering a test', () => {
  const found = testFiles(join(root, 'test')).flatMap((f) => lateAwaits(readFileSync(f, 'utf8')).map((x) => `${relative(root, f)}:${x.line}: ${x.text}`));
  assert.deepEqual(found, []);
});
