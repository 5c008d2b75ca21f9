/**
 * Several writer processes on one ledger (test/contract/fixtures/ledger-writer.fixture.ts):
 * running them, and what must hold of the ledger they leave, for every store that several
 * processes can share.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import type { EventStore } from '../../core/store/event-store.ts';
import { assertChains } from './store-contract.ts';

export const WRITER = fileURLToPath(new URL('./fixtures/ledger-writer.fixture.ts', import.meta.url));

/** What one writer process reports: the ids it was told are stored, and the conflicts it retried. */
export interface WriterResult {
  readonly ids: string[];
  readonly conflicts: number;
}

/** Child processes still running, for the suite's `after` to kill if a test fails. */
export const children = new Set<ReturnType<typeof spawn>>();

/** Run a fixture in its own Node process; resolves with its one JSON line. */
export function runChild<T>(script: string, args: string[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) reject(new Error(`${script} exited ${code}: ${err.slice(-2000)}`));
      else {
        try {
          resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T);
        } catch (e) {
          reject(new Error(`${script} printed no result: ${out.slice(-500)} ${err.slice(-1000)} (${String(e)})`));
        }
      }
    });
  });
}

export function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The parent knows the writers' keys: they are derived from the same test seed. */
export function writersKeyring(sources: string[]): MemoryKeyring {
  const k = new MemoryKeyring('multi-writer');
  for (const s of sources) k.signingKey(s);
  return k;
}

/**
 * What `writers` writer processes of `rounds` rounds each must leave: every event they were
 * told is stored, and nothing else; positions 1..n; every chain intact and signed; every
 * expected-revision append landed once; each process's two-event appends unsplit.
 */
export async function assertWritersLedger(store: EventStore, results: ReadonlyArray<WriterResult>, writers: number, rounds: number): Promise<{ events: number; conflicts: number }> {
  const keyring = writersKeyring(Array.from({ length: writers }, (_, w) => `writer-${w}`));
  const all = await collect(store.readAll());
  const written = results.flatMap((r) => r.ids);
  // Each round: 2 events to shared-any, 1 to own, 1 to shared-exact.
  assert.equal(written.length, 4 * rounds * writers);
  assert.equal(all.length, written.length, 'every event the writers were told is stored is stored, and nothing else');
  assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i + 1), 'positions are 1..n: total, no gap, no duplicate');
  assert.deepEqual(new Set(all.map((e) => e.id)), new Set(written));
  assert.equal(new Set(all.map((e) => e.id)).size, all.length);
  assertChains(all, keyring);
  assert.equal((await collect(store.readStream('shared-exact'))).length, writers * rounds, 'every expected-revision append landed exactly once, after its retries');
  for (let w = 0; w < writers; w++) assert.equal((await collect(store.readStream(`own-${w}`))).length, rounds);
  // Each process's batches stay contiguous: a batch of 2 is never split by another writer.
  for (const e of all.filter((x) => x.stream === 'shared-any' && x.revision % 2 === 1)) {
    const prev = all[e.position - 2]!;
    assert.equal(prev.stream, 'shared-any');
    assert.equal(prev.revision, e.revision - 1);
  }
  const audit = await verifyLedger(store, keyring);
  assert.ok(audit.ok, JSON.stringify(audit.firstBroken));
  assert.equal(audit.events, all.length);
  return { events: all.length, conflicts: results.reduce((n, r) => n + r.conflicts, 0) };
}
