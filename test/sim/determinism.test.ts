import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '../../sim/simulation.ts';
import { cacoTotals } from '../../sim/results.ts';
import { siteConfig } from '../../agents/compute/jobs/index.ts';
import { loadConfig } from '../../core/config/config.ts';
import { natsAvailable } from '../support/nats.ts';

const FROM = Date.parse('2023-07-10T00:00:00Z');

async function simulateOnce(seed: string, stack: { bus: 'memory' | 'nats'; store: 'sqlite' | 'jetstream' }) {
  const dir = mkdtempSync(join(tmpdir(), 'caco-sim-'));
  const config = loadConfig({ env: { CACO_BUS: stack.bus, CACO_STORE: stack.store, LOG_LEVEL: 'error', ...(process.env['NATS_URL'] ? { NATS_URL: process.env['NATS_URL'] } : {}) } });
  const site = siteConfig();
  const run = await runSimulation({ config: { ...config, dataDir: dir }, seed, fromMs: FROM, days: 1, site, jobsPerDay: 30, outDir: join(dir, 'run'), baselines: false });
  try {
    const totals = await cacoTotals(run.stack.store, run.inputs.jobs, site);
    return { head: run.audit.headHash, ok: run.audit.ok, events: run.audit.events, totals };
  } finally {
    const store = run.stack.store as { destroy?: () => Promise<void> };
    if (stack.store === 'jetstream') await store.destroy?.();
    await run.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a seeded simulation is deterministic: the same seed gives the same ledger head hash, another seed does not', async () => {
  const a = await simulateOnce('7', { bus: 'memory', store: 'sqlite' });
  const b = await simulateOnce('7', { bus: 'memory', store: 'sqlite' });
  const c = await simulateOnce('8', { bus: 'memory', store: 'sqlite' });
  assert.ok(a.ok && b.ok && c.ok, 'every ledger verifies');
  assert.ok(a.events > 100, `a real run (${a.events} events)`);
  assert.equal(a.head, b.head);
  assert.deepEqual(a.totals, b.totals);
  assert.notEqual(a.head, c.head);
});

test('on NATS with the JetStream ledger the same seed gives the same totals and the same ledger head hash as the embedded run', async (t) => {
  const nats = await natsAvailable();
  if (!nats.ok) {
    if (process.env['CI'] === 'true') assert.fail(`${nats.reason}, and CI=true: the NATS tests must run`);
    t.skip(`${nats.reason}; start nats-server -js to run this test`);
    return;
  }
  const embedded = await simulateOnce('7', { bus: 'memory', store: 'sqlite' });
  const onNats = await simulateOnce('7', { bus: 'nats', store: 'jetstream' });
  assert.ok(onNats.ok);
  assert.deepEqual(onNats.totals, embedded.totals);
  assert.equal(onNats.events, embedded.events);
  assert.equal(onNats.head, embedded.head);
});
