// test-file-timeout: 600
/**
 * The same seeded simulated day on the PostgreSQL ledger and on the SQLite ledger: same head
 * hash, same totals, same number of events; and `caco audit verify` on the PostgreSQL one.
 */
import { test } from 'node:test';
import pg from 'pg';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../../sim/simulation.ts';
import { cacoTotals } from '../../sim/results.ts';
import { siteConfig } from '../../agents/compute/jobs/index.ts';
import { loadConfig } from '../../core/config/config.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { PostgresEventStore } from '../../core/store/postgres-store.ts';
import { ledgerSchemaFor } from '../../core/store/postgres-url.ts';
import { postgresSkip, postgresUrl } from '../support/postgres.ts';

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: postgresUrl() });
  try {
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const FROM = Date.parse('2023-07-10T00:00:00Z');
const CLI = fileURLToPath(new URL('../../cli/caco.ts', import.meta.url));

async function simulateDay(seed: string, store: 'sqlite' | 'postgres', dir: string) {
  const config = loadConfig({ env: { CACO_BUS: 'memory', CACO_STORE: store, LOG_LEVEL: 'error', CACO_DATABASE_URL: postgresUrl() } });
  const site = siteConfig();
  const t0 = performance.now();
  const run = await runSimulation({ config: { ...config, dataDir: dir }, seed, fromMs: FROM, days: 1, site, jobsPerDay: 30, outDir: join(dir, 'run'), baselines: false });
  try {
    const totals = await cacoTotals(run.stack.store, run.inputs.jobs, site);
    return { head: run.audit.headHash, ok: run.audit.ok, events: run.audit.events, totals, site: run.stack.site, kind: run.stack.store.kind, ms: performance.now() - t0 };
  } finally {
    await run.close();
  }
}

test('a seeded day on PostgreSQL gives the same head hash, events and totals as on SQLite, and caco audit verify passes on it', { timeout: 540_000 }, async (t) => {
  const skip = await postgresSkip();
  if (skip) {
    t.skip(skip);
    return;
  }
  const sqliteDir = mkdtempSync(join(tmpdir(), 'caco-pg-eq-sqlite-'));
  const pgDir = mkdtempSync(join(tmpdir(), 'caco-pg-eq-pg-'));
  let schema: string | undefined;
  try {
    const embedded = await simulateDay('7', 'sqlite', sqliteDir);
    const onPg = await simulateDay('7', 'postgres', pgDir);
    schema = ledgerSchemaFor(onPg.site);
    process.stderr.write(`simulated day: sqlite ${embedded.events} events in ${(embedded.ms / 1000).toFixed(1)} s, postgres ${onPg.events} events in ${(onPg.ms / 1000).toFixed(1)} s\n`);
    assert.equal(onPg.kind, 'postgres');
    assert.ok(embedded.ok && onPg.ok, 'both ledgers verify');
    assert.ok(embedded.events > 100, `a real run (${embedded.events} events)`);
    assert.equal(onPg.events, embedded.events);
    assert.deepEqual(onPg.totals, embedded.totals);
    assert.equal(onPg.head, embedded.head);

    // The CLI's audit on the PostgreSQL ledger: its schema by --site, its keys and anchor by --ledger.
    const verify = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'audit', 'verify', '--store', 'postgres', '--database-url', postgresUrl(), '--site', onPg.site, '--ledger', join(pgDir, 'run', 'ledger.db'), '--data-dir', join(pgDir, 'var')],
      { encoding: 'utf8', timeout: 180_000 },
    );
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, new RegExp(`ledger OK: ${onPg.events.toLocaleString('en-GB')} events .* head ${onPg.head}`));

    // And the audit sees a row changed behind the store's back.
    const { MemoryKeyring } = await import('../../core/ledger/keyring.ts');
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring: new MemoryKeyring(), mustExist: true });
    try {
      await store.unsafeExec(`UPDATE ${schema}.events SET data = $1 WHERE position = 5`, '{"tampered":true}');
      const tampered = spawnSync(
        process.execPath,
        ['--import', 'tsx', CLI, 'audit', 'verify', '--store', 'postgres', '--database-url', postgresUrl(), '--site', onPg.site, '--ledger', join(pgDir, 'run', 'ledger.db'), '--data-dir', join(pgDir, 'var')],
        { encoding: 'utf8', timeout: 180_000 },
      );
      assert.equal(tampered.status, 1, tampered.stdout + tampered.stderr);
      assert.match(tampered.stdout, /BROKEN/);
      assert.ok(!(await verifyLedger(store, new MemoryKeyring())).ok);
    } finally {
      await store.close();
    }
  } finally {
    if (schema) await dropSchema(schema);
    rmSync(sqliteDir, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  }
});
