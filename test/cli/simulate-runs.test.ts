// test-file-timeout: 300
/**
 * Found by a helper's review, run there: a run's folder was named by its site, dates and seed
 * only, so `simulate --battery 0` replaced the default run's ledger, keys and anchor without a
 * word; and two runs of one name removed each other's work folder, one ending in a stack trace.
 * Now a flag that changes the results adds `-p<hash>` to the name, and one run of a name runs at
 * a time (a lock beside it, removed when the run ends).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { variantSuffix } from '../../cli/commands/simulate.ts';
import { acquireRunLock } from '../../cli/run-lock.ts';
import { runCaco } from '../support/cli.ts';

const caco = (args: string[], env: Record<string, string>) => runCaco(args, env, 200_000);

describe('simulate: runs that differ are kept apart, and one run of a name at a time', { timeout: 280_000 }, () => {
  test('the suffix: none for the default run; one per set of result-changing flags', () => {
    assert.equal(variantSuffix({ market: true }), '');
    const battery = variantSuffix({ market: true, battery: '0' });
    assert.match(battery, /^-p[0-9a-f]{8}$/);
    assert.notEqual(battery, variantSuffix({ market: true, battery: '1000' }));
    assert.notEqual(battery, variantSuffix({ market: false }));
    assert.equal(battery, variantSuffix({ market: true, battery: '0' }));
    // A flag given at its default value is the default run, however it is written.
    assert.equal(variantSuffix({ market: true, jobsPerDay: '200', battery: '5000', itKw: '10000' }), '');
    assert.equal(variantSuffix({ market: true, battery: '05000' }), '');
    assert.equal(variantSuffix({ market: true, jobsPerDay: '201' }), variantSuffix({ market: true, jobsPerDay: '0201' }));
    // A file by its contents: an edited file is another run; the same contents elsewhere the same one.
    const dir = mkdtempSync(join(tmpdir(), 'caco-variant-'));
    try {
      const a = join(dir, 'a.csv');
      const b = join(dir, 'b.csv');
      writeFileSync(a, 'x\n1\n');
      writeFileSync(b, 'x\n1\n');
      const first = variantSuffix({ market: true, prices: a });
      assert.equal(variantSuffix({ market: true, prices: b }), first);
      writeFileSync(a, 'x\n2\n');
      assert.notEqual(variantSuffix({ market: true, prices: a }), first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a run while another of the same name holds its lock is refused in one line; a run with --battery 0 keeps the default run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-sim-runs-'));
    const env = { CACO_DATA_DIR: join(dir, 'data') };
    const out = join(dir, 'out');
    const common = ['simulate', '--days', '1', '--jobs-per-day', '20', '--no-baselines', '--no-market', '--no-progress', '--out', out];
    try {
      const held = acquireRunLock(out, { name: `london-2023-07-03-1d-seed42${variantSuffix({ market: false, jobsPerDay: '20' })}.lock`, removeOnRelease: true });
      try {
        const busy = await caco(common, env);
        assert.equal(busy.code, 2, busy.stdout + busy.stderr);
        assert.match(busy.stderr, /is in use by another caco run/);
        assert.doesNotMatch(busy.stderr, /\n\s+at /, 'no stack trace');
      } finally {
        held.release();
      }
      const first = await caco(common, env);
      assert.equal(first.code, 0, first.stderr);
      const second = await caco([...common, '--battery', '0'], env);
      assert.equal(second.code, 0, second.stderr);
      const runs = readdirSync(out).sort();
      assert.equal(runs.length, 2, `both runs are kept, and no lock is left: ${runs.join(', ')}`);
      assert.ok(runs.every((r) => r.startsWith('london-2023-07-03-1d-seed42-p')), runs.join(', '));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
