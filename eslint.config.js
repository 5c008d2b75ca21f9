import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import cacoRules from './scripts/eslint/import-via-index.mjs';

// Import rules (ARCHITECTURE.md, "Folders"): what each top-level folder may import of ours.
// A folder always imports itself; nothing but test/ imports test/. `also` names single modules
// let in beyond the table, each with its reason.
const FOLDERS = {
  core: { may: ['schemas'] },
  schemas: { may: [] },
  beckn: { may: ['core', 'schemas'] },
  // Each agent folder also never imports another agent folder (below).
  agents: { may: ['core', 'schemas', 'models', 'beckn'] },
  // CacoError: a model that fails to load says so as a user-facing error, like every other.
  models: { may: ['schemas'], also: ['core/errors/index.ts'] },
  projections: { may: ['core', 'schemas'] },
  data: { may: ['core', 'schemas'] },
  site: { may: ['core', 'schemas', 'beckn', 'agents', 'models', 'projections', 'data'] },
  sim: { may: ['core', 'schemas', 'beckn', 'agents', 'models', 'projections', 'data', 'site'] },
  bench: { may: ['core', 'schemas', 'beckn', 'agents', 'models', 'projections', 'data', 'site', 'sim', 'deploy'] },
  cli: { may: ['core', 'schemas', 'beckn', 'agents', 'models', 'projections', 'data', 'site', 'sim', 'dashboard', 'deploy'] },
  // The dashboard folds the same read model as the simulation's report.
  dashboard: { may: ['core', 'schemas', 'projections'], also: ['sim/report/index.ts'] },
  deploy: { may: [] },
  examples: { may: [] },
};
const AGENTS = ['compute', 'coordination', 'grid', 'grid-operator'];
// The coordination agent settles each order from the meter reads with the settlement fold, so
// the statement it sends a buyer is the statement the site's ledger gives.
const AGENT_ALSO = { coordination: ['projections/settlement/index.ts'] };
const MAX_DEPTH = 6;

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const up = (n) => `^(?:\\.\\./){${n}}`;

/** The no-restricted-imports patterns for a file `depth` folders below the root, in `folder`. */
function patterns(folder, depth, agent) {
  const { may, also = [] } = FOLDERS[folder];
  const open = [...new Set([folder, ...may])].map((f) => `${esc(f)}/`);
  const extra = [...also, ...(agent ? (AGENT_ALSO[agent] ?? []) : [])].map((m) => `${esc(m)}$`);
  const out = [
    { regex: `${up(depth)}test/`, message: 'bench, sim and production code never import test/: move what is shared out of test/ (e.g. deploy/local/).' },
    {
      regex: `${up(depth)}(?!(?:${[...open, ...extra, 'test/'].join('|')}))[^./]`,
      message: `${folder}/ may import only ${may.length ? may.map((f) => `${f}/`).join(', ') : 'nothing of ours'}${also.length ? ` (and ${also.join(', ')})` : ''} (ARCHITECTURE.md, Folders).`,
    },
  ];
  if (agent) {
    const allowed = [`${esc(agent)}/`, ...(AGENT_ALSO[agent] ?? []).map((m) => `${esc(m.replace(/^agents\//, ''))}$`)];
    const msg = `agents/${agent}/ never imports another agent: agents meet only through events and subjects (ARCHITECTURE.md).`;
    out.push({ regex: `${up(depth)}agents/(?!${esc(agent)}/)`, message: msg });
    out.push({ regex: `${up(depth - 1)}(?!${allowed.join('|')})[^./]`, message: msg });
  }
  return out;
}

const importRules = [];
for (const folder of Object.keys(FOLDERS)) {
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const glob = `${'*/'.repeat(depth - 1)}*.{ts,mts,mjs,js}`;
    if (folder === 'agents' && depth >= 2) {
      for (const agent of AGENTS) {
        importRules.push({ files: [`agents/${agent}/${'*/'.repeat(depth - 2)}*.{ts,mts,mjs,js}`], rules: { 'no-restricted-imports': ['error', { patterns: patterns(folder, depth, agent) }] } });
      }
      continue;
    }
    importRules.push({ files: [`${folder}/${glob}`], rules: { 'no-restricted-imports': ['error', { patterns: patterns(folder, depth) }] } });
  }
}

const USE_INSTEAD = 'Instead, narrow with isOneOf([Defs]) and a switch on `type` (core/envelope/envelope.ts), type payloads with DataOf/MessageOf or the unions of schemas/messages.ts, build events with eventOf(Def, data), and decode JSON from outside with decodeWith(schema, value) (schemas/registry.ts)';

/** Selectors (typescript-eslint AST) for the casts that hide a payload's type (test/lint proves each fires). */
const PAYLOAD_CASTS = [
  {
    selector: "TSAsExpression[expression.type='TSAsExpression'][expression.typeAnnotation.type='TSUnknownKeyword']",
    message: `No \`as unknown as\`: it turns off type checking. ${USE_INSTEAD}.`,
  },
  {
    selector: "TSAsExpression[expression.type='MemberExpression'][expression.computed=false][expression.property.name='data'], TSAsExpression[expression.type='ChainExpression'][expression.expression.computed=false][expression.expression.property.name='data']",
    message: `No cast of \`.data\`: a payload's type comes from its schema. ${USE_INSTEAD}.`,
  },
  {
    selector: "TSAsExpression[expression.type='MemberExpression'][expression.computed=true][expression.property.type='Literal'][expression.property.raw=/^['\"]/], TSAsExpression[expression.type='ChainExpression'][expression.expression.computed=true][expression.expression.property.type='Literal'][expression.expression.property.raw=/^['\"]/]",
    message: `No cast of \`x['field']\`: a field's type comes from a schema or a type guard. ${USE_INSTEAD}.`,
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'var/**', 'out/**', 'schemas/json/**', 'models/training/**', 'dashboard/public/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...importRules,
  {
    // Payloads are typed from their schemas (issue 10): readers narrow with isOneOf(...) and a
    // switch on `type`, writers build with eventOf(Def, data), and JSON from outside is decoded
    // with decodeWith(schema, value). A cast would let a renamed field compile.
    files: ['**/*.ts'],
    ignores: ['schemas/**', 'test/**'],
    rules: {
      'no-restricted-syntax': ['error', ...PAYLOAD_CASTS],
    },
  },
  {
    // ARCHITECTURE.md: a folder's index.ts is its public face and nothing outside imports past it.
    files: ['**/*.ts'],
    ignores: ['test/**'],
    plugins: { caco: cacoRules },
    rules: { 'caco/import-via-index': 'error' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
  },
);
