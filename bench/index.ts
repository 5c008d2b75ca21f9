/**
 * `npm run bench -- <name> [options]` runs bench/<name>.ts. Each benchmark prints a table and
 * writes bench/results/<name>.json. With no name, lists the benchmarks.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchUsageError } from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['index.ts', 'report.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name> [options]\n\nbenchmarks: ${available.join(', ')}`);
  process.exit(name ? 0 : 2);
}
if (!available.includes(name)) {
  console.error(`unknown benchmark "${name}"; choose one of: ${available.join(', ')}`);
  process.exit(2);
}
const mod = (await import(join(here, `${name}.ts`))) as { main(argv: string[]): Promise<void> };
try {
  await mod.main(rest);
} catch (e) {
  if (!(e instanceof BenchUsageError)) throw e;
  console.error(`bench ${name}: ${e.message}`);
  process.exit(2);
}
