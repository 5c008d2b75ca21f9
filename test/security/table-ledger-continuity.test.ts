// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadConfig, type CacoConfig } from '../../core/config/config.ts';
import { openStack } from '../../core/stack/stack.ts';
import { LedgerContinuityError } from '../../core/store/ledger-continuity.ts';
import { judgeTableLedger } from '../../core/store/table-ledger-continuity.ts';
import { checkpointPosition } from '../../core/store/checkpoint-value.ts';
import { InvalidArgumentError } from '../../core/errors/errors.ts';
import { ledgerSchemaFor } from '../../core/store/postgres-url.ts';
import { postgresSkip, postgresUrl, uniqueSchema } from '../support/postgres.ts';

/**
 * A ledger kept in a table (SQLite, PostgreSQL) whose events were deleted, cut short or
 * restored from an older backup, while its checkpoints were not: a site must not start on it,
 * or the table hands out positions its readers have passed and they skip those events.
 */

// Before any suite is declared: node:test runs what is declared before the module's first await.
const pgSkip = await postgresSkip();

const event = (n: number) => ({ id: `tl-${n}-${Math.random().toString(36).slice(2)}`, type: 'compute.job.started', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'compute', correlationId: `c${n}`, causationId: null, data: { jobId: `j${n}`, at: '2023-07-03T00:00:00.000Z' } });

describe('judgeTableLedger (property)', () => {
  test('refuses exactly when a checkpoint lies past the head; --init only on an empty ledger, resetting every checkpoint', () => {
    const cps = fc.uniqueArray(fc.record({ key: fc.stringMatching(/^[a-z]{1,8}$/), position: fc.integer({ min: 1, max: 50 }) }), { selector: (c) => c.key, maxLength: 6 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), cps, fc.boolean(), (head, checkpoints, init) => {
        const v = judgeTableLedger({ where: 'the ledger x', head, checkpoints }, { init });
        if (init) {
          assert.equal(v.ok, head === 0);
          if (v.ok) assert.deepEqual(v.action === 'init' ? [...v.reset].sort() : null, checkpoints.map((c) => c.key).sort());
        } else {
          const past = checkpoints.filter((c) => c.position > head);
          assert.equal(v.ok, past.length === 0);
          if (!v.ok) for (const c of past.slice(0, 3)) assert.ok(v.reason.includes(`${c.key} at position ${c.position}`), v.reason);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Three events and a relay checkpoint at the head, through the stack a site opens; then `cut` takes events away behind its back. */
async function scenario(config: CacoConfig, cut: (keepUpTo: number) => Promise<void>): Promise<void> {
  const first = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
  let head: number;
  try {
    for (let i = 1; i <= 3; i++) await first.store.append(`job-${i}`, [event(i)], 'no-stream');
    head = await first.store.headPosition();
    await first.checkpoints.put('relay', head);
    await first.checkpoints.put('compute', head - 1);
  } finally {
    await first.close();
  }
  // A normal restart goes on.
  const again = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
  await again.close();

  // Restored from an older backup: the last two events gone, the checkpoints not.
  await cut(head - 2);
  await assert.rejects(
    openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } }),
    (e: unknown) => e instanceof LedgerContinuityError && e.message.includes(`ends at position ${head - 2}`) && e.message.includes(`relay at position ${head}`) && e.message.includes(`compute at position ${head - 1}`) && /--init/.test(e.message),
  );
  // --init will not touch a ledger that holds events.
  await assert.rejects(openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: true } }), (e: unknown) => e instanceof LedgerContinuityError && /only for an empty ledger/.test(e.message));
  // Emptied: refused too, and --init starts it afresh with its checkpoints back at 0.
  await cut(0);
  await assert.rejects(openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } }), (e: unknown) => e instanceof LedgerContinuityError && /is empty/.test(e.message));
  const fresh = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: true } });
  try {
    assert.equal(await fresh.checkpoints.get('relay'), 0);
    assert.equal(await fresh.checkpoints.get('compute'), 0);
  } finally {
    await fresh.close();
  }
  const after = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
  await after.close();
}

describe('a site will not start on a table ledger its checkpoints have read past', { timeout: 90_000 }, () => {
  test('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-table-continuity-'));
    try {
      const config = loadConfig({ env: {}, overrides: { site: 'tl', bus: 'memory', store: 'sqlite', dataDir: dir } });
      await scenario(config, async (keep) => {
        const db = new Database(join(dir, 'tl', 'ledger.db'));
        try {
          db.prepare('DELETE FROM events WHERE position > ?').run(keep);
        } finally {
          db.close();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL', { skip: pgSkip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-table-continuity-pg-'));
    const site = uniqueSchema('tl').replace(/_/g, '-');
    const client = new pg.Client({ connectionString: postgresUrl() });
    await client.connect();
    try {
      const config = loadConfig({ env: {}, overrides: { site, bus: 'memory', store: 'postgres', databaseUrl: postgresUrl(), dataDir: dir } });
      await scenario(config, async (keep) => {
        await client.query(`DELETE FROM ${ledgerSchemaFor(site)}.events WHERE position > $1`, [keep]);
      });
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${ledgerSchemaFor(site)} CASCADE`).catch(() => undefined);
      await client.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A checkpoint is read back from the store, which is not trusted: SQLite keeps text in an
 * INTEGER column, and a position that is not a number compares false with everything, so a
 * site resuming from it spun at full CPU forever with no word. Each bad value is refused by
 * name, at start-up, before anything resumes from it.
 */
describe('a checkpoint that is not a position is refused by name', { timeout: 90_000 }, () => {
  test('checkpointPosition (property): integers >= 0 pass as themselves; anything else names the checkpoint', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.integer({ max: -1 }), fc.double(), fc.string(), fc.constant(null), fc.boolean()), (raw) => {
        const good = (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) || (typeof raw === 'string' && /^\d{1,15}$/.test(raw));
        if (good) assert.equal(checkpointPosition('relay', raw, 'x'), Number(raw));
        else assert.throws(() => checkpointPosition('relay', raw, 'x'), (e: unknown) => e instanceof InvalidArgumentError && /checkpoint "relay": x holds .* not a position/.test(e.message));
      }),
      { numRuns: 300 },
    );
    assert.equal(checkpointPosition('relay', '42', 'x'), 42, 'a bigint column read as text');
  });

  for (const bad of ["'abc'", '1.5', '-3', "x'07'"]) {
    test(`SQLite, relay = ${bad}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'caco-cp-value-'));
      try {
        const config = loadConfig({ env: {}, overrides: { site: 'cv', bus: 'memory', store: 'sqlite', dataDir: dir } });
        const first = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
        try {
          await first.store.append('job-1', [event(1)], 'no-stream');
          await first.checkpoints.put('relay', 1);
        } finally {
          await first.close();
        }
        const db = new Database(join(dir, 'cv', 'ledger.db'));
        try {
          db.prepare(`UPDATE checkpoints SET position = ${bad} WHERE name = 'relay'`).run();
        } finally {
          db.close();
        }
        await assert.rejects(
          openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } }),
          (e: unknown) => e instanceof InvalidArgumentError && /checkpoint "relay": .*ledger\.db, table checkpoints, holds .* not a position/.test(e.message),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('PostgreSQL, relay = -3', { skip: pgSkip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-cp-value-pg-'));
    const site = uniqueSchema('cv').replace(/_/g, '-');
    const client = new pg.Client({ connectionString: postgresUrl() });
    await client.connect();
    try {
      const config = loadConfig({ env: {}, overrides: { site, bus: 'memory', store: 'postgres', databaseUrl: postgresUrl(), dataDir: dir } });
      const first = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
      try {
        await first.store.append('job-1', [event(1)], 'no-stream');
        await first.checkpoints.put('relay', 1);
      } finally {
        await first.close();
      }
      await client.query(`UPDATE ${ledgerSchemaFor(site)}.checkpoints SET position = -3 WHERE name = 'relay'`);
      await assert.rejects(
        openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } }),
        (e: unknown) => e instanceof InvalidArgumentError && /checkpoint "relay": .*checkpoints holds "-3", not a position/.test(e.message),
      );
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${ledgerSchemaFor(site)} CASCADE`).catch(() => undefined);
      await client.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
