// test-file-timeout: 120
/**
 * `caco fleet` on JetStream verifies each site's ledger under that site's keys, read from
 * `<data-dir>/<site>/keys` also for a stream's site name that is not a configuration's
 * (`rv_a`, with "_"): it was read from the configured site's keys and every event refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { loadConfig } from '../../core/config/index.ts';
import { openStack } from '../../core/stack/index.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { runCaco } from '../support/cli.ts';

const skip = await natsSkip();

describe('caco fleet on JetStream', { skip, timeout: 110_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-fleet-js-'));
  // A stream's site name that is not a configuration's: "_" and a digit after it.
  const site = `${uniqueToken('rv')}_2`;
  before(async () => {
    const config = loadConfig({ env: { CACO_STORE: 'jetstream', CACO_BUS: 'memory', NATS_URL: natsUrl(), CACO_DATA_DIR: dir } });
    const stack = await openStack(config, { natsSite: site, keysDir: join(dir, site, 'keys') });
    try {
      for (let i = 0; i < 8; i++) {
        await stack.store.append('job-x', [{ id: randomUUID(), type: 'compute.job.noted', version: 1, time: new Date(Date.UTC(2023, 6, 3, 0, i)).toISOString(), source: 'compute', correlationId: `c${i}`, causationId: null, data: { i } }], 'any');
      }
    } finally {
      await stack.close();
    }
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    const nc = await connect({ servers: natsUrl(), timeout: 2000, maxReconnectAttempts: 0 });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const s of jsm.streams.list()) if (s.config.name.toLowerCase().includes(site.toLowerCase())) await jsm.streams.delete(s.config.name);
    } finally {
      await nc.close();
    }
  });

  test("each site's events verify under its own keys folder; without it they are refused and the line says where the keys are looked for", async () => {
    const ok = await runCaco(['fleet', '--store', 'jetstream', '--nats-url', natsUrl(), '--sites', site, '--data-dir', dir, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { sites: Array<{ events: number }> }).sites[0]!.events, 8);
    const elsewhere = mkdtempSync(join(tmpdir(), 'caco-fleet-js-nokeys-'));
    try {
      const r = await runCaco(['fleet', '--store', 'jetstream', '--nats-url', natsUrl(), '--sites', site, '--data-dir', elsewhere, '--json']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`caco: ${site}: 8 events refused by verification.*; 3 more \\(none verified: are ${site}'s keys in ${join(elsewhere, site, 'keys').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\?`));
      assert.doesNotMatch(r.stderr, /caco audit verify/, 'no caco audit verify hint for a ledger it cannot open by name');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
