/** `npm run schemas`: write one JSON Schema per message type to schemas/json/, and the AsyncAPI document beside it. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_MESSAGES } from './index.ts';
import { renderSchemaFile, schemaFileName } from './json-schema.ts';
import { renderAsyncApi } from './asyncapi.ts';

/** The AsyncAPI 3.0 document of a site's subjects (schemas/asyncapi.ts). */
export function exportAsyncApi(path: string): void {
  writeFileSync(path, renderAsyncApi());
}

export function exportSchemas(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written = new Set<string>();
  for (const def of ALL_MESSAGES) {
    const name = schemaFileName(def);
    writeFileSync(join(outDir, name), renderSchemaFile(def));
    written.add(name);
  }
  // Remove schemas of messages that no longer exist, so the folder is exactly the registry.
  for (const f of readdirSync(outDir)) if (f.endsWith('.json') && !written.has(f)) rmSync(join(outDir, f));
  return [...written].sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'json');
  const files = exportSchemas(out);
  console.log(`wrote ${files.length} JSON Schemas to ${out}`);
  if (!process.argv[2]) {
    const asyncapi = join(dirname(fileURLToPath(import.meta.url)), 'asyncapi.yaml');
    exportAsyncApi(asyncapi);
    console.log(`wrote the AsyncAPI 3.0 document to ${asyncapi}`);
  }
}
