// test-file-timeout: 60
/**
 * Connection strings printed at start-up and in errors hide their credentials: `caco run`
 * printed nats://alice:S3cretPw@… as given, and so did the NATS and KurrentDB connection errors
 * (a helper's review); under systemd or Kubernetes those lines go to shared logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactNatsServers, redactUrl } from '../../../core/config/redact.ts';
import { loadConfig } from '../../../core/config/config.ts';
import { NatsBus, NatsUnavailableError } from '../../../core/bus/nats-bus.ts';
import { freePort } from '../../../deploy/local/index.ts';

test('a NATS server list: each password and token hidden, users and hosts kept', () => {
  assert.equal(redactNatsServers('nats://alice:S3cretPw@127.0.0.1:4222'), 'nats://alice:***@127.0.0.1:4222');
  assert.equal(redactNatsServers('nats://s3cr3t-token@10.0.0.1:4222,tls://bob:pw@h2:4443'), 'nats://***@10.0.0.1:4222,tls://bob:***@h2:4443');
  assert.equal(redactNatsServers('nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
  assert.equal(redactUrl('kurrentdb://admin:S3cretPw@127.0.0.1:2113?tls=false'), 'kurrentdb://admin:***@127.0.0.1:2113?tls=false');
  // Strings URL does not read as holding a password still hide one.
  assert.equal(redactUrl('kurrentdb:/admin:S3cretPw@h'), 'kurrentdb:/admin:***@h');
  assert.equal(redactUrl('admin:S3cretPw@h:2113'), 'admin:***@h:2113');
  assert.equal(redactUrl('http://127.0.0.1:2113'), 'http://127.0.0.1:2113');
  // A password with '/' is no URL to URL (its port would be "pa"), and was printed whole; a
  // URL with no credentials keeps its ':' and '@' elsewhere (a helper's review).
  assert.equal(redactUrl('postgres://rvi:pa/ss@127.0.0.1:5432/test'), 'postgres://rvi:***@127.0.0.1:5432/test');
  assert.equal(redactNatsServers('nats://user:pa/ss@host:4222,nats://u:p/x@[::1]:4222'), 'nats://user:***@host:4222,nats://u:***@[::1]:4222');
  assert.equal(redactUrl('kurrentdb://admin:a/b@h:2113?tls=false'), 'kurrentdb://admin:***@h:2113?tls=false');
  assert.equal(redactUrl('kurrentdb://h:2113?connectionName=a:b@c'), 'kurrentdb://h:2113?connectionName=a:b@c');
  // A password in the query, which pg and libpq take as the password, was printed whole (a helper's review).
  assert.equal(redactUrl('postgres://root@127.0.0.1:5432/test?password=S3cretPw'), 'postgres://root@127.0.0.1:5432/test?password=***');
  assert.equal(redactUrl('postgres://root@h/test?sslmode=require&sslpassword=k3y&application_name=caco'), 'postgres://root@h/test?sslmode=require&sslpassword=***&application_name=caco');
  assert.equal(redactUrl('postgres://u:pw@h/test?Password=x'), 'postgres://u:***@h/test?Password=***');
  assert.equal(redactUrl('postgres://h/test?application_name=password'), 'postgres://h/test?application_name=password');
});

test('a bad NATS or KurrentDB URL is named without its password', () => {
  assert.throws(() => loadConfig({ env: { NATS_URL: 'nats://alice:S3cretPw@h/x y' } }), (e: unknown) => e instanceof Error && /NATS_URL/.test(e.message) && !e.message.includes('S3cretPw'));
  assert.throws(() => loadConfig({ env: { CACO_KURRENTDB_URL: 'http://admin:S3cretPw@h' } }), (e: unknown) => e instanceof Error && /CACO_KURRENTDB_URL/.test(e.message) && !e.message.includes('S3cretPw'));
});

test('NATS that cannot be reached is named without the password in the URL', { timeout: 30_000 }, async () => {
  const port = await freePort();
  await assert.rejects(
    NatsBus.connect({ servers: `nats://alice:S3cretPw@127.0.0.1:${port}`, name: "redact-test", timeoutMs: 1000 }),
    (e: unknown) => e instanceof NatsUnavailableError && e.message.includes(`nats://alice:***@127.0.0.1:${port}`) && !e.message.includes('S3cretPw'),
  );
});
