import { Command } from 'commander';
import { join } from 'node:path';
import { exportSchemas } from '../../schemas/index.ts';

export function schemaCommand(): Command {
  const schema = new Command('schema').description('message schemas');
  schema
    .command('export')
    .description('write one JSON Schema (draft 2020-12) per message type')
    .argument('[dir]', 'output folder', join(process.cwd(), 'schemas', 'json'))
    .action((dir: string) => {
      const files = exportSchemas(dir);
      console.log(`wrote ${files.length} JSON Schemas to ${dir}`);
    });
  return schema;
}
