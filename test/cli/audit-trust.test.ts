// test-file-timeout: 240
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { FileKeyring, keyFingerprint, rawPublicKey } from '../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';
import { AnchorWriter, anchorFileFor, FileAnchorLog } from '../../core/anchor/index.ts';
import { SiteIdentity, SqliteKeyRegistryStore } from '../../core/identity/index.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';
import { describeReport, describeSigners } from '../../cli/commands/audit.ts';

const root = join(import.meta.dirname, '../..');
const T0 = Date.parse('2023-07-03T00:00:00Z');

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL' });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout.trim() };
}

function event(i: number, source: string): NewEvent {
  return { id: randomUUID(), type: 'compute.job.noted', version: 1, time: new Date(T0 + i * 60_000).toISOString(), source, correlationId: `c-${i}`, causationId: null, data: { i } };
}

/** A run folder as `caco simulate` leaves one: ledger, anchor, keys and the admin-signed registry of the site's parties. */
async function runFolder(dir: string): Promise<{ ledger: string; keyring: FileKeyring }> {
  const keyring = new FileKeyring(join(dir, 'keys'));
  const ledger = join(dir, 'ledger.db');
  const store = new SqliteEventStore({ path: ledger, keyring });
  const reg = new SqliteKeyRegistryStore(join(dir, 'keys', 'registry.db'));
  try {
    const identity = new SiteIdentity({ store: reg, keyring, clock: new SimulatedClock(T0) });
    for (const p of ['grid', 'compute']) await identity.ensureLocal(p);
    const writer = await AnchorWriter.open({ store, log: new FileAnchorLog(anchorFileFor(ledger)), keyring, site: 't', clock: new SimulatedClock(T0) });
    for (let i = 0; i < 8; i++) await store.append(`job-${i % 3}`, [event(i, i % 2 ? 'grid' : 'compute')], 'any');
    await writer.close();
  } finally {
    await reg.close();
    await store.close();
  }
  return { ledger, keyring };
}

test('an unknown source with no key in keys.json is not said to verify: its events do not', () => {
  const lines = describeSigners({
    sources: [
      { source: 'compute', events: 10, key: 'fp:aaaa', known: 'site' },
      { source: 'mallory', events: 1, key: null, known: 'unknown' },
    ],
    unknown: ['mallory'],
    keyMismatch: [],
    registry: { where: 'in registry.db' },
  });
  assert.equal(lines[1], 'signer NOT KNOWN: "mallory" is named as the source of 1 event, and is neither one of the site\'s own parties nor in the key registry; keys.json has no key for it either, so that event does not verify');
  assert.doesNotMatch(lines.join('\n'), /verify only because keys\.json lists its key/);
});

describe('caco audit: what keys.json cannot vouch for', { timeout: 240_000 }, () => {
  test('a party that is only in keys.json signs an event after the last checkpoint: verify names it, counts every signer, says what is not anchored, and exits 1; registered, it passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-audit-trust-'));
    try {
      const { ledger, keyring } = await runFolder(dir);
      // Someone who can write the key folder (and append) adds a key and signs with it.
      const store = new SqliteEventStore({ path: ledger, keyring });
      await store.append('job-0', [event(9, 'mallory')], 'any');
      await store.close();
      const r = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const fp = keyFingerprint(keyring.publicKey('mallory')!);
      assert.match(r.stdout, new RegExp(`^signers: compute 4 \\(${keyFingerprint(keyring.publicKey('compute')!)}\\), grid 4 \\(fp:[0-9a-f]{16}\\), mallory 1 \\(${fp}\\)$`, 'm'));
      assert.match(r.stdout, new RegExp(`^signer NOT KNOWN: "mallory" signed 1 event with ${fp}, and is neither one of the site's own parties nor in the key registry`, 'm'));
      assert.match(r.stdout, /^1 event after the last checkpoint is not anchored$/m);
      assert.match(r.stdout, /^ledger OK: 9 events/m, 'every signature verifies against keys.json: that is the hole');

      // The admin registers mallory: now a known party.
      const reg = new SqliteKeyRegistryStore(join(dir, 'keys', 'registry.db'));
      const identity = new SiteIdentity({ store: reg, keyring, clock: new SimulatedClock(T0) });
      await identity.admin.add({ keyId: 'mallory', party: 'mallory', role: 'third-party', publicKey: rawPublicKey(keyring.publicKey('mallory')!).toString('base64') });
      await reg.close();
      const r2 = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger]);
      assert.equal(r2.code, 0, r2.stdout + r2.stderr);
      assert.doesNotMatch(r2.stdout, /NOT KNOWN/);
      assert.match(r2.stdout, /^signers: .*: each the site's own or a party in the key registry /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--anchor-key pins the anchor key: the key keys.json gives passes and is printed; another one (keys.json swapped in a copy without the private keys) is one line naming both fingerprints, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-audit-anchorkey-'));
    try {
      const { ledger, keyring } = await runFolder(dir);
      const real = keyring.publicKey('site-anchor')!;
      const fp = keyFingerprint(real);
      const ok = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger, '--anchor-key', rawPublicKey(real).toString('base64')]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, new RegExp(`^anchor key: site-anchor key ${fp}, the one --anchor-key gives$`, 'm'));
      const plain = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger]);
      assert.match(plain.stdout, new RegExp(`^anchor key: site-anchor key ${fp}, from keys.json beside the ledger`, 'm'));

      // The copy an auditor gets: no private keys, and keys.json's anchor key is someone else's.
      rmSync(join(dir, 'keys', 'private'), { recursive: true });
      const file = join(dir, 'keys', 'keys.json');
      const json = JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, string> };
      const theirs = rawPublicKey(generateKeyPairSync('ed25519').publicKey).toString('base64');
      json.keys['site-anchor'] = theirs;
      writeFileSync(file, JSON.stringify(json));
      const bad = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger, '--anchor-key', fp]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.equal(bad.stdout, `anchor key BROKEN: --anchor-key is site-anchor key ${fp}, but ${file} gives ${keyFingerprint(theirs)}: the anchor's checkpoints may be signed by someone else, so they prove nothing`);
      const junk = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger, '--anchor-key', 'fp:xyz']);
      assert.equal(junk.code, 2);
      assert.match(junk.stderr, /--anchor-key: "fp:xyz" is neither a key fingerprint/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--anchor-key with no anchor, or an emptied one, is not OK: the key vouches for checkpoints, and there are none (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-audit-noanchor-'));
    try {
      const { ledger, keyring } = await runFolder(dir);
      const fp = keyFingerprint(keyring.publicKey('site-anchor')!);
      const anchorFile = join(dir, 'anchor.jsonl');
      writeFileSync(anchorFile, '');
      const empty = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger, '--anchor-key', fp]);
      assert.equal(empty.code, 1, empty.stdout + empty.stderr);
      assert.match(empty.stdout, /^anchor MISSING: --anchor-key was given, but the anchor at .*anchor\.jsonl holds no checkpoint: nothing the key signs vouches for this ledger/m);
      rmSync(anchorFile);
      const gone = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger, '--anchor-key', fp, '--json']);
      assert.equal(gone.code, 1, gone.stdout + gone.stderr);
      const j = JSON.parse(gone.stdout) as { ok: boolean; anchorMissing?: string };
      assert.equal(j.ok, false);
      assert.match(j.anchorMissing ?? '', /there is no anchor at/);
      // Without --anchor-key it stays what it was: said, and exit 0 on an intact chain.
      const plain = caco(['audit', 'verify', '--data-dir', dir, '--ledger', ledger]);
      assert.equal(plain.code, 0, plain.stdout + plain.stderr);
      assert.match(plain.stdout, /^no anchor at /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('audit replay of a ledger with a changed event says how many events verification refused and that the totals exclude them, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-audit-replay-'));
    try {
      const { ledger } = await runFolder(dir);
      const clean = caco(['audit', 'replay', '--data-dir', dir, '--ledger', ledger]);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.doesNotMatch(clean.stdout, /refused by verification/);
      const db = new Database(ledger);
      const last = db.prepare("SELECT position, id FROM events WHERE stream = 'job-1' ORDER BY revision DESC LIMIT 1").get() as { position: number; id: string };
      db.prepare("UPDATE events SET data = json_set(data, '$.x', 1) WHERE position = ?").run(last.position);
      db.close();
      const r = caco(['audit', 'replay', '--data-dir', dir, '--ledger', ledger]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^1 event refused by verification; the totals exclude them: position ${last.position} \\(event ${last.id}, stream job-1\\): hash mismatch`, 'm'));
      assert.match(r.stdout, /^replayed 7 events/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('caco fleet adds up only what verifies: a changed event is left out and named, exit 1; --no-verify adds the ledger as stored and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-fleet-verify-'));
    try {
      const { ledger } = await runFolder(join(dir, 'rvsite'));
      const fleet = (...extra: string[]) => caco(['fleet', '--store', 'sqlite', '--sites', 'rvsite', '--data-dir', dir, '--json', ...extra]);
      const events = (r: { stdout: string }) => (JSON.parse(r.stdout) as { sites: Array<{ events: number }> }).sites[0]!.events;
      const clean = fleet();
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.equal(events(clean), 8);
      assert.equal(clean.stderr.includes('refused by verification'), false, clean.stderr);
      const db = new Database(ledger);
      const last = db.prepare("SELECT position FROM events WHERE stream = 'job-1' ORDER BY revision DESC LIMIT 1").get() as { position: number };
      db.prepare("UPDATE events SET data = json_set(data, '$.x', 1) WHERE position = ?").run(last.position);
      db.close();
      // Before, the changed row went into the totals, silently, exit 0 (a helper's review).
      const r = fleet();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(events(r), 7);
      assert.match(r.stderr, new RegExp(`^caco: rvsite: 1 event refused by verification; the totals exclude them: position ${last.position} .*hash mismatch`, 'm'));
      const raw = fleet('--no-verify');
      assert.equal(raw.code, 0, raw.stdout + raw.stderr);
      assert.equal(events(raw), 8);
      assert.match(raw.stderr, /not verified \(--no-verify\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('audit replay of a genuine event at a version this release cannot read says the projections skipped it, by type@version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-audit-unread-'));
    try {
      const { ledger, keyring } = await runFolder(dir);
      const store = new SqliteEventStore({ path: ledger, keyring });
      try {
        await store.append('plan-x', [{ ...event(9, 'compute'), type: 'compute.plan.published', version: 9, data: { planId: 'p', shape: 'from a newer release' } }], 'any');
      } finally {
        await store.close();
      }
      const r = caco(['audit', 'replay', '--data-dir', dir, '--ledger', ledger]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^1 event skipped by the projections: compute\.plan\.published@9 ×1 \(first: event [0-9a-f-]+, /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('beside a broken ledger the anchor is not reported OK: its roots are of the stored hashes, which an event edited in place keeps', () => {
    const anchor = { where: 'anchor.jsonl', checkpoints: 130, matched: 130, ok: true, lastMatched: { seq: 130, position: 13_920, events: 13_920, root: 'ab66', time: '2023-07-10T00:00:00Z' } };
    const broken = [{ stream: 'job-1', revision: 2, position: 7, eventId: 'e2', reason: 'hash mismatch' }];
    const lines = describeReport({ ok: false, events: 13_920, streams: 1, firstBroken: broken[0]!, broken, brokenMore: 0, headHash: '', position: 13_920, root: 'ab66', anchor });
    assert.ok(!lines.some((l) => l.startsWith('anchor OK')), lines.join('\n'));
    assert.ok(lines.some((l) => /^anchor: the ledger's stored hashes match all 130 checkpoints .* does not vouch for the events BROKEN above/.test(l)), lines.join('\n'));
    const intact = describeReport({ ok: true, events: 13_920, streams: 1, broken: [], brokenMore: 0, headHash: 'h', position: 13_920, root: 'ab66', anchor });
    assert.ok(intact.some((l) => l.startsWith('anchor OK: the ledger matches all 130 checkpoints')), intact.join('\n'));
  });

  test('a report with more breaks than it lists counts them all and says --json lists only the first', () => {
    const broken = Array.from({ length: 1000 }, (_, i) => ({ stream: 'job-1', revision: i, position: i + 1, eventId: `e${i}`, reason: 'hash mismatch' }));
    const lines = describeReport({ ok: false, events: 200_000, streams: 1, firstBroken: broken[0]!, broken, brokenMore: 199_000, headHash: '', position: 200_000, root: '' });
    assert.ok(lines.includes('199,980 more break(s); --json lists the first 1,000'), lines.slice(18, 23).join('\n'));
  });
});
