// test-file-timeout: 180
/**
 * Another site's ledger.db put in place of this one's: the site started and GET /health said
 * ok while the grid agent gave up on every append (the foreign head does not verify under this
 * site's keys) and the anchor check at start had found that the ledger does not match. Health
 * now fails on both, naming them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config/index.ts';
import { startLiveSite, type LiveSite } from '../../cli/site-runtime.ts';

const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const job = (id: string, over: Record<string, unknown>) => ({ jobId: id, class: 'training', powerKw: 500, runtimeMin: 60, slaClass: 'silver', preemptible: false, ...over });

async function runFor(dataDir: string, use: (live: LiveSite) => Promise<void>): Promise<void> {
  const config = { ...loadConfig({ env: { CACO_BUS: 'memory', CACO_STORE: 'sqlite', LOG_LEVEL: 'silent' } }), dataDir, site: 'london' };
  const live = await startLiveSite(config, { recorded: true });
  try {
    await use(live);
  } finally {
    await live.stop();
  }
}

async function eventually<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const x = await f();
    if (x !== undefined) return x;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("a ledger from another site: /health fails naming the anchor mismatch and the agent that gave up", async () => {
  const a = mkdtempSync(join(tmpdir(), 'caco-health-a-'));
  const b = mkdtempSync(join(tmpdir(), 'caco-health-b-'));
  try {
    const submit = async (live: LiveSite, id: string) => {
      const r = await live.runtime.send('compute', 'submit', job(id, { earliestStart: iso(Date.now()), deadline: iso(Date.now() + 6 * H) }));
      assert.ok(r.ok, JSON.stringify(r));
      await live.runtime.settle();
    };
    await runFor(a, async (live) => {
      await submit(live, 'a-1');
      assert.equal((await live.runtime.health()).ok, true, (await live.runtime.health()).reasons.join('; '));
    });
    await runFor(b, (live) => submit(live, 'b-1'));
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm']) {
      rmSync(join(a, 'london', f), { force: true });
      if (existsSync(join(b, 'london', f))) copyFileSync(join(b, 'london', f), join(a, 'london', f));
    }
    await runFor(a, async (live) => {
      const h = await live.runtime.health();
      assert.equal(h.ok, false);
      assert.ok(h.reasons.some((r) => /^anchor: the ledger does not match its anchor/.test(r)), h.reasons.join('; '));
      // A new stream is appended as usual; the foreign job's stream has a head that does not
      // verify, so the compute agent's append to it is refused until it gives up.
      await submit(live, 'a-2');
      // The grid agent's own stream came with the foreign ledger too, and it may have given up
      // on it already (how soon depends on when settle() catches its retries): the compute agent
      // has not, for a new job's stream.
      assert.ok(!(await live.runtime.health()).reasons.some((r) => r.startsWith('agent:compute ')), (await live.runtime.health()).reasons.join('; '));
      const refused = await live.runtime.send('compute', 'submit', job('b-1', { earliestStart: iso(Date.now()), deadline: iso(Date.now() + 6 * H) }));
      assert.equal(refused.ok, false, JSON.stringify(refused));
      const gaveUp = await eventually(async () => (await live.runtime.health()).reasons.find((r) => /^agent:compute gave up after \d+ attempts: .*does not verify/.test(r)), 15_000, 'the compute agent to give up');
      assert.ok(gaveUp);
    });
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
