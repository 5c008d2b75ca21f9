// test-file-timeout: 60
/**
 * The dashboard explains a job from the ledger. It read the raw store: an event edited in the
 * database was served as genuine (a plan's cost rewritten to £1.00), and one unreadable row
 * made the explanation a 500. It reads through verify-on-read now, as `caco explain` does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDashboard } from '../../dashboard/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FixtureWriter, tick } from '../sim/report/fixture.ts';

interface Step {
  readonly eventId: string;
  readonly type: string;
  readonly text: string;
}

describe('the dashboard explains a job only from events that verify', { timeout: 60_000 }, () => {
  test('an edited plan is not served as genuine; an unreadable row is not a 500', async () => {
    const s = embeddedStack('dash-explain');
    const w = new FixtureWriter(s.store, 'dx');
    for (let k = 0; k < 8; k++) await tick(w, k);
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 1000, verifyEveryMs: 600_000, log: silentLogger() });
    try {
      const explain = async () => {
        const r = await fetch(`${dash.url}/api/jobs/trn-1/explain`);
        return { status: r.status, body: (await r.json()) as { found: boolean; summary: string; steps: Step[]; quarantined?: Array<{ position: number; reason: string }> } };
      };
      const before = await explain();
      assert.equal(before.status, 200);
      const planned = before.body.steps.find((st) => st.type === 'compute.job.planned');
      assert.ok(planned, JSON.stringify(before.body).slice(0, 300));

      const db = new Database(join(s.dir, 'ledger.db'));
      try {
        const row = db.prepare<[string], { position: number; data: string }>('SELECT position, data FROM events WHERE id = ?').get(planned.eventId)!;
        const edited = row.data.replace(/"costGbp":[0-9.]+/, '"costGbp":1');
        assert.notEqual(edited, row.data, 'the plan carries a cost to edit');
        db.prepare('UPDATE events SET data = ? WHERE position = ?').run(edited, row.position);
        db.prepare("UPDATE events SET data = '{not json' WHERE stream = 'job-trn-1' AND revision = (SELECT MAX(revision) FROM events WHERE stream = 'job-trn-1')").run();
      } finally {
        db.close();
      }

      const after = await explain();
      // Said, not silent (a helper's review: an edited completion read as "not finished", with nothing to say records were left out).
      assert.equal(after.status, 409, JSON.stringify(after.body).slice(0, 300));
      assert.equal(after.body.quarantined?.length, 2, JSON.stringify(after.body.quarantined));
      assert.match(after.body.summary, /^2 of this job's ledger records failed verification and are left out \(positions \d+, \d+; the first: /);
      assert.equal(after.body.steps.some((st) => st.eventId === planned.eventId), false, 'the edited plan is not among the steps');
      assert.equal(JSON.stringify(after.body).includes('£1.00'), false, 'nor is its edited cost anywhere in the explanation');
    } finally {
      await dash.close();
      await s.close();
    }
  });

  test('an unknown path, a bad percent-encoding and an overlong job id are refusals in the site\'s shape, not Fastify\'s echo of the path', async () => {
    const s = embeddedStack('dash-paths');
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 1000, verifyEveryMs: 600_000, log: silentLogger() });
    try {
      const get = async (path: string) => {
        const r = await fetch(`${dash.url}${path}`);
        return { status: r.status, body: (await r.json()) as unknown };
      };
      assert.deepEqual(await get('/nothere'), { status: 404, body: { ok: false, error: { reason: 'no such endpoint: GET "/nothere"; the site serves the dashboard (/), /api/view, /api/stream and /api/jobs/:id/explain' } } });
      assert.deepEqual(await get('/api/jobs/%ff/explain'), { status: 400, body: { ok: false, error: { reason: 'path refused: it is not a valid URL (bad percent-encoding)' } } });
      assert.deepEqual(await get(`/api/jobs/${'a'.repeat(600)}/explain`), { status: 414, body: { ok: false, error: { reason: 'path refused: a part of it is longer than the site reads' } } });
      // Any id a job can have is read (up to 128 characters: Fastify's default of 100 answered 414); one no job can have is named.
      assert.deepEqual(await get(`/api/jobs/${'L'.repeat(128)}/explain`), { status: 404, body: { jobId: 'L'.repeat(128), found: false, summary: `no job "${'L'.repeat(128)}" on the ledger`, steps: [] } });
      assert.deepEqual(await get(`/api/jobs/${'a'.repeat(129)}/explain`), { status: 400, body: { ok: false, error: { reason: `jobId: "${'a'.repeat(63)}…" is not a job id (1 to 128 letters, digits, "_", ":" or "-")` } } });
      assert.equal((await get('/api/jobs/a%0Ab/explain')).status, 400);
    } finally {
      await dash.close();
      await s.close();
    }
  });
});
