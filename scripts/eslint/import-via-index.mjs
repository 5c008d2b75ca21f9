import { basename, dirname, relative, resolve } from 'node:path';

/**
 * ARCHITECTURE.md: "a folder's index.ts is its public face and nothing outside imports past
 * it". An import that leaves its top-level folder (agents/ → core/) must name an index.ts
 * (core/runtime/index.ts, not core/runtime/agent.ts); inside one top-level folder, modules
 * may reach each other's files. Tests are exempt: they test internals.
 */
const root = process.cwd();
const topOf = (p) => relative(root, p).split('/')[0];

export const importViaIndex = {
  meta: {
    type: 'problem',
    docs: { description: 'imports from another top-level folder go through an index.ts' },
    messages: { pastIndex: "'{{spec}}' reaches past {{folder}}/index.ts: import it from the folder's index.ts (export it there if it is public)." },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolve(dirname(file), spec);
      if (topOf(target) === topOf(file) || basename(target) === 'index.ts') return;
      context.report({ node: node.source, messageId: 'pastIndex', data: { spec, folder: relative(root, dirname(target)) } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default { rules: { 'import-via-index': importViaIndex } };
