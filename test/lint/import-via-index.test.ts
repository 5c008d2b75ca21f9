// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });

/** The import-via-index findings ESLint gives `code` as if it were the file at `path`. */
async function findings(code: string, path: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'caco/import-via-index').map((m) => m.message);
}

for (const [what, code, path] of [
  ['an import past another folder’s index.ts', "import { defineAgent } from '../../core/runtime/agent.ts';\nexport const a = defineAgent;", 'agents/compute/probe.ts'],
  ['a re-export past it', "export { defineAgent } from '../../core/runtime/agent.ts';", 'agents/compute/probe.ts'],
  ['export * past it', "export * from '../schemas/registry.ts';", 'projections/probe.ts'],
] as const) {
  test(`the import rule refuses ${what}, naming the index to use`, async () => {
    const found = await findings(code, path);
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.match(found[0]!, /reaches past (core\/runtime|schemas)\/index\.ts/);
  });
}

for (const [what, code, path] of [
  ['an index.ts of another folder', "import { defineAgent } from '../../core/runtime/index.ts';\nexport const a = defineAgent;", 'agents/compute/probe.ts'],
  ['a file of its own top-level folder', "import { evolveCompute } from '../evolve.ts';\nexport const e = evolveCompute;", 'agents/compute/decide/probe.ts'],
  ['a package', "import { Schema } from 'effect';\nexport const s = Schema;", 'core/probe.ts'],
] as const) {
  test(`the import rule allows ${what}`, async () => {
    assert.deepEqual(await findings(code, path), []);
  });
}

test('tests may import internals', async () => {
  assert.deepEqual(await findings("import { defineAgent } from '../../core/runtime/agent.ts';\nexport const a = defineAgent;", 'test/core/probe.test.ts'), []);
});
