// test-file-timeout: 300
/**
 * Flag values the CLI did not check: `simulate --out` naming a file, a 300-character `--seed`,
 * `submit --timeout abc` (sent anyway, then "timed out after NaN ms") and its other numbers, a
 * config file whose keys are Object.prototype's, and `--creds ''` named as a flag that does not
 * exist. Each is one line naming the flag and the reason, exit 2, before anything is done.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors/index.ts';

const root = join(import.meta.dirname, '../..');

function caco(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, lines: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')), stdout: r.stdout };
}

function assertOneLine(args: string[], pattern: RegExp, env: Record<string, string> = {}) {
  const r = caco(args, env);
  assert.equal(r.code, 2, `${args.join(' ')}: ${r.lines.join('\n')}`);
  assert.equal(r.lines.length, 1, `${args.join(' ')}: one line, got:\n${r.lines.join('\n')}`);
  assert.match(r.lines[0]!, pattern, args.join(' '));
}

test('caco simulate: --out that is a file, or under one, and an over-long --seed are one line naming the flag (exit 2)', { timeout: 280_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-flags-sim-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    assertOneLine(['simulate', '--out', file, '--days', '1', '--no-progress'], /^caco: --out: .*a-file is not a folder$/);
    assertOneLine(['simulate', '--out', join(file, 'sub'), '--days', '1', '--no-progress'], /^caco: --out: .*a-file is not a folder$/);
    const out = join(dir, 'out');
    assertOneLine(['simulate', '--seed', 'x'.repeat(300), '--out', out, '--days', '1', '--no-progress'], /^caco: --seed: 300 characters; use 1 to 64$/);
    assertOneLine(['simulate', '--seed', '', '--out', out, '--days', '1', '--no-progress'], /^caco: --seed: 0 characters; use 1 to 64$/);
    assertOneLine(['simulate', '--seed', 'a\nb', '--out', out, '--days', '1', '--no-progress'], /^caco: --seed: .*control character/);
    assert.equal(existsSync(out) ? readdirSync(out).length : 0, 0, 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('caco submit: --timeout and the job numbers are checked before anything is sent', { timeout: 200_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-flags-submit-'));
  // No key and no server: a flag checked first is the only error that can come out.
  const job = ['submit', '--job-id', 'j1', '--class', 'training', '--deadline', '2030-01-01T00:00:00Z', '--data-dir', dir, '--nats-url', 'nats://127.0.0.1:1'];
  try {
    for (const t of ['abc', '0', '-5', '1.5', '99999999999', '']) {
      assertOneLine([...job, '--gpus', '8', '--runtime-min', '60', '--timeout', t], new RegExp(`^caco: --timeout: "${t}" must be a whole number of milliseconds from 1 to 300000$`));
    }
    assertOneLine([...job, '--gpus', 'abc', '--runtime-min', '60'], /^caco: --gpus: "abc" must be a whole number from 1 to /);
    assertOneLine([...job, '--gpus', '2.5', '--runtime-min', '60'], /^caco: --gpus: "2\.5" must be a whole number/);
    assertOneLine([...job, '--power-kw', '-3', '--runtime-min', '60'], /^caco: --power-kw: "-3" must be a number above 0$/);
    assertOneLine([...job, '--power-kw', 'lots', '--runtime-min', '60'], /^caco: --power-kw: "lots" must be a number above 0$/);
    assertOneLine([...job, '--gpus', '8', '--runtime-min', 'Infinity'], /^caco: --runtime-min: "Infinity" must be a number above 0$/);
    // A good timeout gets as far as the key.
    assertOneLine([...job, '--gpus', '8', '--runtime-min', '60', '--timeout', '2000'], /^caco: --key is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a config file with Object.prototype's names as keys is an unknown setting; --creds '' names --creds", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-flags-config-'));
  try {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const file = join(dir, `${key}.json`);
      writeFileSync(file, `{"${key}":"x"}`);
      assert.throws(() => loadConfig({ env: {}, file }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${file}: ${key}: unknown setting; known settings are bus, `), key);
    }
    assertOneLine(['audit', 'verify', '--config', join(dir, 'constructor.json'), '--data-dir', dir], /^caco: .*constructor\.json: constructor: unknown setting/);
    assertOneLine(['audit', 'verify', '--data-dir', dir], /^caco: .*constructor\.json: constructor: unknown setting/, { CACO_CONFIG: join(dir, 'constructor.json') });

    assert.throws(() => loadConfig({ env: {}, overrides: { natsCreds: '' } }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--creds: '));
    assertOneLine(['audit', 'verify', '--creds', '', '--data-dir', dir], /^caco: --creds: must be the path of a credentials file/);
    assertOneLine(['audit', 'verify', '--data-dir', dir], /^caco: NATS_CREDS: must be the path of a credentials file/, { NATS_CREDS: ' ' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("caco bpp: an empty port or share is refused naming the flag, not read as 0", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-flags-bpp-'));
  try {
    // The number checks come after the two files are found to exist, before either is read.
    const key = join(dir, 'key.json');
    const directory = join(dir, 'keys.json');
    writeFileSync(key, '{}');
    writeFileSync(directory, '{}');
    const base = ['bpp', '--signing-key', key, '--key-directory', directory];
    assertOneLine([...base, '--jobs-port', ''], /^caco: --jobs-port: "" must be a whole number from 0 to 65535$/);
    assertOneLine([...base, '--sell-share', ''], /^caco: --sell-share: "" must be a number from 0.01 to 1$/);
    assertOneLine([...base, '--margin', 'lots'], /^caco: --margin: "lots" must be a number from -1000 to 10000$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
