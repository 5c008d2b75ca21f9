// test-file-timeout: 60
/**
 * What the relay keeps of each event a live subscription delivers (core/store/stored-form.ts)
 * must not keep the event alive: V8's young-generation collector treats a WeakMap's values as
 * live, and a value that refers back to its key kept every delivered envelope through two
 * collections, which made V8 allocate envelopes in the old generation from then on (a
 * JetStream replay after a burst of live traffic ran ~35 % slower, most of it in the
 * collector). Measured in a child process with --expose-gc: the old generation after two
 * young collections grows no more with the stored forms kept than without.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/stored-form-promotion.fixture.ts', import.meta.url));

test('keeping 20,000 events\' stored forms promotes none of them to the old generation', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', FIXTURE], { encoding: 'utf8', timeout: 45_000 });
  assert.equal(r.status, 0, `fixture failed: ${r.error?.message ?? ''}${r.stderr}`);
  const { control, kept } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { control: number; kept: number };
  // 20,000 envelopes promoted would be ~7 MB (seen: 8.3 MB against a 1 MB control).
  assert.ok(kept - control < 2_000_000, `old generation grew ${(kept / 1e6).toFixed(2)} MB with stored forms kept, ${(control / 1e6).toFixed(2)} MB without`);
});
