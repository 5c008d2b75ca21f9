/** The PostgreSQL settings: URL checks, password redaction, schema names, and the errors a user sees. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, InvalidArgumentError } from '../../core/errors/errors.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { loadConfig } from '../../core/config/config.ts';
import { openStack } from '../../core/stack/stack.ts';
import { PostgresEventStore } from '../../core/store/postgres-store.ts';
import { checkDatabaseUrl, ledgerSchemaFor, redactUrl } from '../../core/store/postgres-url.ts';

test('checkDatabaseUrl: postgres:// and postgresql:// pass; anything else names the setting and why', () => {
  assert.equal(checkDatabaseUrl('postgres://root@127.0.0.1:5432/test'), 'postgres://root@127.0.0.1:5432/test');
  assert.equal(checkDatabaseUrl('postgresql://a:b@h/db?sslmode=require'), 'postgresql://a:b@h/db?sslmode=require');
  assert.throws(() => checkDatabaseUrl(undefined), (e: unknown) => e instanceof ConfigError && /--database-url: .*needs a database URL.*CACO_DATABASE_URL/.test(e.message));
  assert.throws(() => checkDatabaseUrl('  '), /needs a database URL/);
  assert.throws(() => checkDatabaseUrl('http://h/db', 'CACO_DATABASE_URL'), /CACO_DATABASE_URL: .*postgres:\/\//);
  assert.throws(() => checkDatabaseUrl('not a url'), /is not a URL/);
});

test('checkDatabaseUrl: a URL with no user, where pg has no PGUSER or USER to fall back on, says so', () => {
  assert.throws(
    () => checkDatabaseUrl('postgres://127.0.0.1:5432/test', '--database-url', {}),
    (e: unknown) => e instanceof ConfigError && /^--database-url: "postgres:\/\/127\.0\.0\.1:5432\/test" names no user, and neither PGUSER nor USER is set; put the user in the URL, e\.g\. postgres:\/\/root@127\.0\.0\.1:5432\/test$/.test(e.message),
  );
  assert.equal(checkDatabaseUrl('postgres://127.0.0.1:5432/test', '--database-url', { PGUSER: 'app' }), 'postgres://127.0.0.1:5432/test');
  assert.equal(checkDatabaseUrl('postgres://127.0.0.1:5432/test', '--database-url', { USER: 'app' }), 'postgres://127.0.0.1:5432/test');
  assert.equal(checkDatabaseUrl('postgres://root@127.0.0.1:5432/test', '--database-url', {}), 'postgres://root@127.0.0.1:5432/test');
  // pg-connection-string also reads the user from the query string.
  assert.equal(checkDatabaseUrl('postgres://127.0.0.1:5432/test?user=caco', '--database-url', {}), 'postgres://127.0.0.1:5432/test?user=caco');
});

test('redactUrl hides the password, also in a URL that does not parse', () => {
  assert.equal(redactUrl('postgres://app:s3cret@db:5432/x'), 'postgres://app:***@db:5432/x');
  assert.equal(redactUrl('postgres://app@db/x'), 'postgres://app@db/x');
  assert.ok(!redactUrl('postgres://app:s3cret@').includes('s3cret'));
});

test('ledgerSchemaFor: one schema per site, a name PostgreSQL takes unquoted', () => {
  assert.equal(ledgerSchemaFor('london'), 'caco_london');
  assert.equal(ledgerSchemaFor('london-42-AbC'), 'caco_london_42_abc');
  assert.ok(ledgerSchemaFor('x'.repeat(100)).length <= 63);
});

test('an unreachable server is a ConfigError naming --database-url, the address and the cause, without the password', async () => {
  await assert.rejects(
    PostgresEventStore.open({ connectionString: 'postgres://u:s3cret@127.0.0.1:1/test', schema: 'x', keyring: new MemoryKeyring() }),
    (e: unknown) => e instanceof ConfigError && /^--database-url: cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/test: .*ECONNREFUSED/.test(e.message) && !e.message.includes('s3cret'),
  );
  await assert.rejects(PostgresEventStore.open({ connectionString: 'postgres://u@127.0.0.1:1/test', schema: 'Bad-Name', keyring: new MemoryKeyring() }), InvalidArgumentError);
});

test('openStack with store postgres and no URL says which setting is missing', async () => {
  const config = loadConfig({ env: { CACO_STORE: 'postgres' } });
  await assert.rejects(openStack(config, { ephemeralKeys: true }), (e: unknown) => e instanceof ConfigError && /--database-url/.test(e.message));
});
