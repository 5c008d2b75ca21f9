// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });

/** The no-restricted-syntax messages ESLint gives `code` as if it were the file at `path`. */
async function castFindings(code: string, path = 'core/runtime/example.ts'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

const prelude = `
declare const e: { type: string; data: unknown };
declare const input: { event: { data: unknown } };
declare const r: { data: unknown } | undefined;
declare const d: Record<string, unknown>;
declare const o: Record<string, unknown> | undefined;
declare const list: number[];
interface Planned { jobId: string }
`;

for (const [name, code, says] of [
  ['a cast of e.data', 'export const p = e.data as Planned;', /No cast of `\.data`/],
  ['a cast of a nested .data', 'export const p = input.event.data as Planned;', /No cast of `\.data`/],
  ['a cast of an optional .data', 'export const p = r?.data as Planned | undefined;', /No cast of `\.data`/],
  ["a cast of d['field']", "export const id = d['jobId'] as string;", /No cast of `x\['field'\]`/],
  ["a cast of o?.['field']", "export const id = o?.['jobId'] as string | undefined;", /No cast of `x\['field'\]`/],
  ['as unknown as', 'export const p = d as unknown as Planned;', /No `as unknown as`/],
] as const) {
  test(`the payload-cast rule catches ${name}, and says what to use instead`, async () => {
    const found = await castFindings(prelude + code);
    assert.equal(found.length, 1, `expected one finding, got ${JSON.stringify(found)}`);
    assert.match(found[0]!, says);
    assert.match(found[0]!, /isOneOf/);
    assert.match(found[0]!, /eventOf/);
    assert.match(found[0]!, /decodeWith/);
  });
}

test('it leaves alone what is not a payload cast: array indexing, parsing JSON, narrowing with a type guard', async () => {
  const code = `${prelude}
export const first = list[0] as number;
export const parsed = JSON.parse('{}') as Planned;
export const id = typeof d['jobId'] === 'string' ? d['jobId'] : null;
export const data = e.data;
`;
  assert.deepEqual(await castFindings(code), []);
});

test('it applies everywhere but schemas/ and test/ (and, until their branches merge, the agents and projections being typed)', async () => {
  const code = `${prelude}export const p = e.data as Planned;`;
  for (const path of ['core/x.ts', 'cli/x.ts', 'sim/x.ts', 'bench/x.ts', 'dashboard/x.ts', 'agents/grid/x.ts', 'models/x.ts', 'examples/x/x.ts']) {
    assert.equal((await castFindings(code, path)).length, 1, path);
  }
  for (const path of ['schemas/x.ts', 'test/x/x.ts']) assert.deepEqual(await castFindings(code, path), [], path);
});
