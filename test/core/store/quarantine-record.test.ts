// test-file-timeout: 60
/**
 * The quarantine is read back from the store, which is not trusted: a row that is not a record
 * threw a bare SyntaxError out of `quarantined()` (and so out of `caco audit`) on SQLite and
 * PostgreSQL, and a record's fields were taken whatever their types. Now every store checks what
 * it reads (readQuarantineRecord): junk is listed as such, at its position.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readQuarantineRecord } from '../../../core/store/quarantine-record.ts';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { postgresSkip } from '../../support/postgres.ts';
import { withStore } from './postgres-hostile-rows.ts';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NatsQuarantineStore } from '../../../core/store/nats-quarantine.ts';
import { natsSkip, natsUrl, uniqueToken } from '../../support/nats.ts';

const skipPg = await postgresSkip();
const skipNats = await natsSkip();

const record = { position: 7, reason: 'hash mismatch', stream: 'job-1', revision: 2, eventId: 'e-1', type: 'compute.job.planned', source: 'compute', bytes: 300, sha256: 'ab', detectedAt: '2026-12-06T00:00:00.000Z' };

describe('quarantine records read back from a store', { timeout: 60_000 }, () => {
  test('a record is rebuilt from its fields, each of its type; anything else is listed as not a record, at its position', () => {
    assert.deepEqual(readQuarantineRecord(JSON.stringify(record), 7, 'q'), record);
    // Wrong types are dropped, unknown fields too.
    assert.deepEqual(readQuarantineRecord(JSON.stringify({ ...record, revision: '2', stream: 5, extra: 'x' }), 7, 'q'), { position: 7, reason: 'hash mismatch', eventId: 'e-1', type: 'compute.job.planned', source: 'compute', bytes: 300, sha256: 'ab', detectedAt: '2026-12-06T00:00:00.000Z' });
    for (const [text, what] of [['not json', /not JSON/], ['[1]', /not a JSON object/], ['{"position":"7","reason":"x"}', /no position/], ['{"position":7}', /no position/]] as const) {
      const r = readQuarantineRecord(text, 9, 'the quarantine of test');
      assert.equal(r.position, 9);
      assert.match(r.reason, /^the quarantine of test holds at 9 something that is not a quarantine record/);
      assert.match(r.reason, what);
    }
  });

  test('SQLite: a row that is not a record is listed, not thrown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-q-'));
    const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring: new MemoryKeyring('q') });
    try {
      await store.quarantine(record);
      store.unsafeExec(`INSERT INTO quarantine (position, record) VALUES (12, 'not json')`);
      store.unsafeExec(`INSERT INTO quarantine (position, record) VALUES (13, x'00ff')`);
      const listed = await store.quarantined();
      assert.deepEqual(listed.map((r) => r.position), [7, 12, 13]);
      assert.deepEqual(listed[0], record);
      assert.match(listed[1]!.reason, /holds at 12 something that is not a quarantine record \(not JSON/);
      assert.match(listed[2]!.reason, /holds at 13 something that is not a quarantine record/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: a row that is not a record is listed, not thrown', { skip: skipPg }, async () => {
    await withStore('qr', async (store, _keyring, schema) => {
      await store.quarantine(record);
      await store.unsafeExec(`INSERT INTO ${schema}.quarantine (position, record) VALUES (12, 'not json')`);
      const listed = await store.quarantined();
      assert.deepEqual(listed.map((r) => r.position), [7, 12]);
      assert.deepEqual(listed[0], record);
      assert.match(listed[1]!.reason, /holds at 12 something that is not a quarantine record \(not JSON/);
    });
  });

  test('JetStream: a message that is not a record is listed at the ledger position its key names; a deleted key is no record', { skip: skipNats }, async () => {
    const nc = await connect({ servers: natsUrl() });
    const q = new NatsQuarantineStore(nc, await jetstreamManager(nc), jetstream(nc), `q_${uniqueToken()}`);
    try {
      await q.quarantine({ ...record, position: 5123 });
      const js = jetstream(nc);
      const prefix = (q as unknown as { prefix: string }).prefix;
      await js.publish(`${prefix}9000`, 'not json');
      // What `nats kv del` leaves: an empty message on the key.
      await js.publish(`${prefix}9001`, '');
      const listed = await q.quarantined();
      // Before: the junk was passed over, and with the first fix listed at the KV stream's sequence (3), a number no ledger event has.
      assert.deepEqual(listed.map((r) => r.position), [5123, 9000]);
      assert.match(listed[1]!.reason, /key "9000"\) holds at 9000 something that is not a quarantine record/);
    } finally {
      await q.destroy().catch(() => undefined);
      await nc.close();
    }
  });
});

