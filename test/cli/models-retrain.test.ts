import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  return { code: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n'), stdout: r.stdout.trim() };
}

const digest = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));

/** The ensemble files are one calibration (both signals and the card name one cut-off): a retrain that fails changes none of them. */
describe('caco models retrain', { timeout: 180_000 }, () => {
  test('a --prices file that does not exist: one line naming it (exit 2), and the calibration already there is left whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-retrain-'));
    try {
      const out = join(dir, 'ensemble');
      cpSync(join(root, 'models/ensemble'), out, { recursive: true });
      const before = digest(out);
      const r = caco(['models', 'retrain', '--until', '2023-08-01', '--out', out, '--prices', join(dir, 'missing.csv')]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^caco: --prices: .*missing\.csv does not exist/);
      assert.deepEqual(digest(out), before, 'no fit file was replaced by a retrain that failed');

      // Prices that end long before the cut-off: the carbon fit succeeds, the price fit is refused.
      const short = join(dir, 'prices.csv');
      writeFileSync(short, readFileSync(join(root, 'data/prices/elexon_system_prices_2023-01-01_to_2023-09-30.csv'), 'utf8').split('\n').slice(0, 200).join('\n') + '\n');
      const p = caco(['models', 'retrain', '--until', '2023-08-01', '--out', out, '--prices', short]);
      assert.equal(p.code, 2, p.stderr);
      assert.match(p.stderr, /^caco: --until 2023-08-01: only \d+ price half-hours/);
      assert.deepEqual(digest(out), before, 'the carbon fit was replaced though the price fit failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
