/**
 * A site's JetStream ledger deleted behind its back: on restart the site must not run on a
 * fresh, empty stream with checkpoints that point past it (the first commits would never be
 * relayed). It refuses with the reason (exit 2 from the CLI); `--init` starts anew explicitly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../core/bus/nats-bus.ts';
import { loadConfig, type CacoConfig } from '../../core/config/config.ts';
import { openStack } from '../../core/stack/stack.ts';
import { judgeLedgerContinuity, LedgerContinuityError, type LedgerState } from '../../core/store/ledger-continuity.ts';
import { ledgerStreamName } from '../../core/store/jetstream-commit.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { newEvent } from '../contract/store-contract.ts';

const root = join(import.meta.dirname, '../..');
// Awaited before any test is registered: the test runner's --test-force-exit ends the file once
// the tests registered so far are done, and a describe registered after an await that outlasts
// them (the pure suite below takes milliseconds) never ran, and was not counted either.
const skipNats = await natsSkip();
const cp = (key: string, commit: number, index = 0) => ({ key, position: commit * 1024 + index });

describe('judgeLedgerContinuity (pure)', { timeout: 10_000 }, () => {
  const S = 'CACO_X';
  test('first run, a restart, and a lost ledger', () => {
    assert.deepEqual(judgeLedgerContinuity({ stream: S, lastSeq: undefined, checkpoints: [] }, { init: false }), { ok: true, action: 'create' });
    assert.deepEqual(judgeLedgerContinuity({ stream: S, lastSeq: 0, checkpoints: [] }, { init: false }), { ok: true, action: 'continue' });
    assert.deepEqual(judgeLedgerContinuity({ stream: S, lastSeq: 7, checkpoints: [cp('relay', 7, 3), cp('compute', 2)] }, { init: false }), { ok: true, action: 'continue' });
    const missing = judgeLedgerContinuity({ stream: S, lastSeq: undefined, checkpoints: [cp('relay', 7)] }, { init: false });
    assert.equal(missing.ok, false);
    assert.match((missing as { reason: string }).reason, /CACO_X does not exist.*relay at commit 7.*--init/);
    // What the old code left behind: a re-created, empty stream and stale checkpoints.
    assert.match((judgeLedgerContinuity({ stream: S, lastSeq: 0, checkpoints: [cp('relay', 1, 5)] }, { init: false }) as { reason: string }).reason, /is empty/);
    // Re-created and written to again, but not as far as the checkpoints.
    assert.match((judgeLedgerContinuity({ stream: S, lastSeq: 3, checkpoints: [cp('relay', 9)] }, { init: false }) as { reason: string }).reason, /ends at commit 3/);
  });

  test('--init starts a missing or empty ledger and resets the checkpoints, and refuses to touch a non-empty one', () => {
    assert.deepEqual(judgeLedgerContinuity({ stream: S, lastSeq: undefined, checkpoints: [cp('relay', 7), cp('compute', 5)] }, { init: true }), { ok: true, action: 'init', reset: ['relay', 'compute'] });
    assert.deepEqual(judgeLedgerContinuity({ stream: S, lastSeq: 0, checkpoints: [] }, { init: true }), { ok: true, action: 'init', reset: [] });
    const r = judgeLedgerContinuity({ stream: S, lastSeq: 4, checkpoints: [] }, { init: true });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /--init .* holds 4 commit/);
  });

  test('property: without --init, the site starts exactly when no checkpoint lies past the head', () => {
    fc.assert(
      fc.property(fc.option(fc.nat(1000), { nil: undefined }), fc.array(fc.integer({ min: 1, max: 1100 * 1024 }), { maxLength: 6 }), (lastSeq, positions) => {
        const state: LedgerState = { stream: S, lastSeq, checkpoints: positions.map((p, i) => ({ key: `c${i}`, position: p })) };
        const head = lastSeq ?? 0;
        const stale = positions.some((p) => head === 0 || Math.floor(p / 1024) > head);
        assert.equal(judgeLedgerContinuity(state, { init: false }).ok, !stale);
      }),
    );
  });
});

function caco(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('a site on the shared NATS server whose ledger was deleted', { skip: skipNats, timeout: 120_000 }, () => {
  const site = uniqueToken('cont');
  const stream = ledgerStreamName(site);
  let dir: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let config: CacoConfig;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caco-continuity-'));
    nc = await connectNats({ servers: natsUrl(), name: 'continuity-test' });
    jsm = await jetstreamManager(nc);
    config = loadConfig({ env: {}, overrides: { site, bus: 'memory', store: 'jetstream', natsUrl: natsUrl(), dataDir: dir } });
  });

  after(async () => {
    for (const s of [stream, `KV_caco_${site}_checkpoints`]) await jsm?.streams.delete(s).catch(() => undefined);
    await nc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('first run creates the ledger; a restart continues; after deletion it refuses (exit 2) until --init', async () => {
    const first = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
    try {
      const r = await first.store.append('job-1', [newEvent(), newEvent()], 'no-stream');
      await first.checkpoints.put('relay', r.position);
      // An agent's tag: a 48-bit number under a name with ':', which the bucket stores encoded.
      await first.checkpoints.put('agent:compute', r.position);
      await first.checkpoints.put('agent:compute.tag', 2 ** 48 - 1);
      await first.checkpoints.put('agent:compute.next.tag', 2 ** 48 - 2);
    } finally {
      await first.close();
    }
    // The tags are not read as checkpoints past the head.
    const again = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } });
    await again.close();

    await jsm.streams.delete(stream);
    await assert.rejects(openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: false } }), LedgerContinuityError);
    await assert.rejects(jsm.streams.info(stream), /stream not found/, 'the refusal created nothing');

    const env = { NATS_URL: natsUrl(), CACO_DATA_DIR: dir };
    const run = await caco(['run', '--site', site, '--bus', 'memory', '--store', 'jetstream', '--http-port', '0', '--recorded'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`caco: site ${site}: the ledger stream ${stream} does not exist, but .*relay at commit \\d+.*--init`));
    await assert.rejects(jsm.streams.info(stream), /stream not found/);

    const init = await openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: true } });
    try {
      assert.equal(await init.checkpoints.get('relay'), 0);
      await init.store.append('job-1', [newEvent()], 'no-stream');
    } finally {
      await init.close();
    }
    // A second --init on the ledger now holding a commit is refused, and changes nothing.
    await assert.rejects(openStack(config, { ephemeralKeys: true, ledgerContinuity: { init: true } }), /--init starts a new ledger, but .* holds 1 commit/);
    assert.equal((await jsm.streams.info(stream)).state.messages, 1);
  });
});
