// test-file-timeout: 420
/**
 * Each simulation on PostgreSQL gets a schema of its own. Its name was `caco_<site>-<seed and
 * start>-<time>` cut at 63 characters, which with a long site name and seed cut off the time:
 * runs minutes apart shared a schema and the second wrote into the first's ledger. Now a name
 * that is too long keeps a hash of the whole name, and a run refuses a schema that already
 * holds events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runSimulation } from '../../sim/simulation.ts';
import { siteConfig } from '../../agents/compute/jobs/index.ts';
import { loadConfig } from '../../core/config/config.ts';
import { UsageError } from '../../core/errors/errors.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../core/store/postgres-store.ts';
import { ledgerSchemaFor } from '../../core/store/postgres-url.ts';
import { newEvent } from '../contract/store-contract.ts';
import { postgresSkip, postgresUrl } from '../support/postgres.ts';

const SITE = 'a-long-site-name-of-32-character';
const SEED = 'a-seed-long-enough-to-fill-the-run-tag';
const FROM = Date.parse('2023-07-10T00:00:00Z');
/** A schema name PostgreSQL takes unquoted, as the store checks it. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The run's NATS site name as sim/simulation.ts makes it: site, seed and start, then the time. */
const runSite = (nowMs: number) => `${SITE}-${`${SEED}-${FROM}`.replace(/[^A-Za-z0-9]/g, '').slice(0, 24)}-${nowMs.toString(36)}`;

test('ledgerSchemaFor: a name too long keeps its unique end (a hash of the whole name); short names are as before', () => {
  assert.equal(SITE.length, 32);
  const t = Date.parse('2026-01-01T12:00:00Z');
  const names = [t, t + 1, t + 60_000, t + 3_600_000].map((ms) => ledgerSchemaFor(runSite(ms)));
  for (const n of names) assert.match(n, SCHEMA_NAME);
  assert.equal(new Set(names).size, names.length, `runs at different times share a schema: ${names.join(' ')}`);
  assert.equal(ledgerSchemaFor(runSite(t)), names[0], 'the same name, the same schema');
  assert.equal(ledgerSchemaFor('london'), 'caco_london');
  assert.equal(ledgerSchemaFor('london-42-AbC'), 'caco_london_42_abc');
  const exactly = 'x'.repeat(58);
  assert.equal(ledgerSchemaFor(exactly), `caco_${exactly}`, 'a name that fits is not changed');
  assert.notEqual(ledgerSchemaFor(`${exactly}a`), ledgerSchemaFor(`${exactly}b`));
  assert.notEqual(ledgerSchemaFor('x'.repeat(100)), ledgerSchemaFor('x'.repeat(101)));
});

test('a simulation refuses a PostgreSQL schema that already holds events, naming it (UsageError), and leaves its events alone', { timeout: 400_000 }, async (t) => {
  const skip = await postgresSkip();
  if (skip) {
    t.skip(skip);
    return;
  }
  const now = Date.parse('2026-01-01T12:00:00Z');
  // Two runs in the same millisecond map to one schema: the clock is held there.
  t.mock.method(Date, 'now', () => now);
  const schema = ledgerSchemaFor(runSite(now));
  const dir = mkdtempSync(join(tmpdir(), 'caco-sim-pg-schema-'));
  const c = new pg.Client({ connectionString: postgresUrl() });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const other = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring: new MemoryKeyring('other-run') });
    try {
      await other.append('job-1', [newEvent({ mine: true })], 'no-stream');
    } finally {
      await other.close();
    }
    const config = loadConfig({ env: { CACO_BUS: 'memory', CACO_STORE: 'postgres', CACO_SITE: SITE, LOG_LEVEL: 'error', CACO_DATABASE_URL: postgresUrl() } });
    let run: Awaited<ReturnType<typeof runSimulation>> | undefined;
    try {
      await assert.rejects(
        (async () => {
          run = await runSimulation({ config: { ...config, dataDir: dir }, seed: SEED, fromMs: FROM, days: 1, site: siteConfig(), jobsPerDay: 2, market: false, baselines: false, outDir: join(dir, 'run') });
        })(),
        (e: unknown) => e instanceof UsageError && e.message.startsWith(`--database-url: PostgreSQL schema ${schema} already holds events (up to position 1)`),
      );
    } finally {
      await run?.close();
    }
    const r = await c.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${schema}.events`);
    assert.equal(Number(r.rows[0]!.n), 1, 'the other run’s ledger is untouched');
  } finally {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await c.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
