/** `npm run schemas`: write one JSON Schema per message type to schemas/json/, and the AsyncAPI document beside it. */
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  // Remove schemas of messages that no longer exist, so the folder is exactly the registry; but
  // only files this export wrote (named and marked as one of its schemas): the folder may be
  // anyone's, and every other .json in it (package.json, a site's keys.json) was deleted.
  for (const f of readdirSync(outDir)) if (!written.has(f) && isExportedSchema(join(outDir, f))) rmSync(join(outDir, f));
  return [...written].sort();
}

const SCHEMA_FILE = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+\.v\d+\.json$/;
const SCHEMA_ID = /"\$id": "https:\/\/caco\.energy\/schemas\//;

/** A schema file an earlier export wrote: its name's form, a regular small file, and our `$id`. */
function isExportedSchema(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!SCHEMA_FILE.test(name)) return false;
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.size > 1024 * 1024) return false;
    const text = readFileSync(path, 'utf8');
    return SCHEMA_ID.test(text.slice(0, 400)) && text.includes('"x-caco-kind"');
  } catch {
    return false;
  }
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
