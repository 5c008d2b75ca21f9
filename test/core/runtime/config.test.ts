import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, DEFAULT_CONFIG } from '../../../core/config/config.ts';
import { ConfigError } from '../../../core/errors/errors.ts';

test('defaults are the embedded stack', () => {
  assert.deepEqual(loadConfig({ env: {} }), DEFAULT_CONFIG);
  assert.equal(DEFAULT_CONFIG.bus, 'memory');
  assert.equal(DEFAULT_CONFIG.store, 'sqlite');
  // The forecaster whose decisions did better out of sample (README, "Which forecaster ships").
  assert.equal(DEFAULT_CONFIG.forecaster, 'ensemble');
  assert.equal(loadConfig({ env: { CACO_FORECASTER: 'lstm' } }).forecaster, 'lstm');
});

test('environment overrides the file, the command line overrides both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-cfg-'));
  const file = join(dir, 'caco.json');
  writeFileSync(file, JSON.stringify({ bus: 'nats', site: 'leeds' }));
  const c = loadConfig({ env: { CACO_CONFIG: file, CACO_SITE: 'bristol' }, overrides: { store: 'jetstream' } });
  assert.equal(c.bus, 'nats');
  assert.equal(c.site, 'bristol');
  assert.equal(c.store, 'jetstream');
});

test('a bad value names the setting and the allowed values', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ CACO_BUS: 'kafka' }, /^CACO_BUS: "kafka" is not allowed; use one of: memory, nats$/],
    [{ CACO_STORE: 'mongodb' }, /^CACO_STORE: .*use one of: sqlite, jetstream, postgres, kurrentdb$/],
    [{ CACO_DATABASE_URL: 'mysql://root@db/test' }, /^CACO_DATABASE_URL: .*must start with postgres:\/\/ or postgresql:\/\//],
    [{ CACO_DATABASE_URL: 'postgres://u:s3cret@' }, /^CACO_DATABASE_URL: (?!.*s3cret)/],
    [{ CACO_KURRENTDB_URL: 'http://127.0.0.1:2113' }, /^CACO_KURRENTDB_URL: "http:\/\/127\.0\.0\.1:2113" is not a KurrentDB connection string; use e\.g\. kurrentdb:\/\/127\.0\.0\.1:2113\?tls=false$/],
    [{ NATS_URL: 'http://x y' }, /^NATS_URL: .*nats:\/\/127\.0\.0\.1:4222/],
    [{ CACO_SITE: 'London!' }, /^CACO_SITE: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: .*debug/],
    // Empty is a mistake (a template's variable unset), not the default: CACO_SITE= ran as "london".
    [{ CACO_SITE: '' }, /^CACO_SITE: is set but empty; give a value, or unset it for the default \("london"\)$/],
    [{ CACO_DATA_DIR: '' }, /^CACO_DATA_DIR: is set but empty/],
    [{ CACO_STORE: '' }, /^CACO_STORE: is set but empty/],
  ];
  for (const [env, msg] of cases) {
    assert.throws(() => loadConfig({ env }), (e: unknown) => e instanceof ConfigError && msg.test(e.message), JSON.stringify(env));
  }
  const dir = mkdtempSync(join(tmpdir(), 'caco-cfg-'));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ buss: 'nats' }));
  assert.throws(() => loadConfig({ env: { CACO_CONFIG: file } }), /buss: unknown setting/);
  assert.throws(() => loadConfig({ env: { CACO_CONFIG: join(dir, 'missing.json') } }), /does not exist/);
});

test('store postgres takes its database URL from CACO_DATABASE_URL or --database-url', () => {
  const c = loadConfig({ env: { CACO_STORE: 'postgres', CACO_DATABASE_URL: 'postgres://root@127.0.0.1:5432/test' } });
  assert.equal(c.store, 'postgres');
  assert.equal(c.databaseUrl, 'postgres://root@127.0.0.1:5432/test');
  const o = loadConfig({ env: {}, overrides: { store: 'postgres', databaseUrl: 'postgresql://app:pw@db.example:6432/ledger?sslmode=require' } });
  assert.equal(o.databaseUrl, 'postgresql://app:pw@db.example:6432/ledger?sslmode=require');
  assert.throws(() => loadConfig({ env: {}, overrides: { databaseUrl: 'nope' } }), /^ConfigError: --database-url: |--database-url: "nope" is not a URL/);
});

test('--store kurrentdb takes its connection string from CACO_KURRENTDB_URL or --kurrentdb-url', () => {
  const c = loadConfig({ env: { CACO_STORE: 'kurrentdb', CACO_KURRENTDB_URL: ' kurrentdb://127.0.0.1:2113?tls=false ' } });
  assert.equal(c.store, 'kurrentdb');
  assert.equal(c.kurrentdbUrl, 'kurrentdb://127.0.0.1:2113?tls=false');
  const o = loadConfig({ env: {}, overrides: { store: 'kurrentdb', kurrentdbUrl: 'esdb+discover://a:2113,b:2113' } });
  assert.equal(o.kurrentdbUrl, 'esdb+discover://a:2113,b:2113');
  assert.throws(() => loadConfig({ env: {}, overrides: { kurrentdbUrl: 'nope' } }), (e: unknown) => e instanceof ConfigError && /^--kurrentdb-url: "nope" is not a KurrentDB connection string/.test(e.message));
});

test('a config file may give a number setting as a JSON number; a file from --config is named as --config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-cfg-'));
  const file = join(dir, 'caco.json');
  // The README gives replicas as a number; the file refused it ("replicas: must be a string").
  writeFileSync(file, JSON.stringify({ replicas: 3, site: 'leeds' }));
  assert.equal(loadConfig({ env: {}, file }).replicas, 3);
  writeFileSync(file, JSON.stringify({ replicas: 6 }));
  assert.throws(() => loadConfig({ env: {}, file }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${file}: replicas: "6" is not a replica count`));
  writeFileSync(file, JSON.stringify({ site: 7 }));
  assert.throws(() => loadConfig({ env: {}, file }), (e: unknown) => e instanceof ConfigError && e.message === `${file}: site: must be a string`);
  writeFileSync(file, JSON.stringify({ replicas: true }));
  assert.throws(() => loadConfig({ env: {}, file }), (e: unknown) => e instanceof ConfigError && e.message === `${file}: replicas: must be a number or a string`);

  // A malformed file: named by where it came from.
  writeFileSync(file, '{ "bus": ');
  assert.throws(() => loadConfig({ env: {}, file }), (e: unknown) => e instanceof ConfigError && /^--config: config file ".*caco\.json" is not valid JSON/.test(e.message));
  assert.throws(() => loadConfig({ env: { CACO_CONFIG: file } }), (e: unknown) => e instanceof ConfigError && /^CACO_CONFIG: config file ".*caco\.json" is not valid JSON/.test(e.message));
  assert.throws(() => loadConfig({ env: {}, file: join(dir, 'missing.json') }), (e: unknown) => e instanceof ConfigError && /^--config: config file ".*missing\.json" does not exist/.test(e.message));
});
