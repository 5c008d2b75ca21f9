// test-file-timeout: 180
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../deploy/local/nats-server.ts';
import { listenRefused } from '../../cli/commands/run.ts';

/**
 * How `caco run` reports a start that fails: one line, exit 2, blaming what is at fault. A
 * port is blamed only for its own server's listen error (any EACCES used to be put on
 * --beckn-port); a ledger that cannot be opened is named with the reason and what to do.
 */
const ROOT = join(import.meta.dirname, '../..');

/** Run `caco run` until it exits (it should fail at start); killed after 90 s. */
async function runToExit(args: string[], o: { asNobody?: boolean; logLevel?: string } = {}): Promise<{ code: number | null; out: string }> {
  const argv = [process.execPath, '--import', 'tsx', join(ROOT, 'cli/caco.ts'), 'run', '--bus', 'memory', '--store', 'sqlite', '--recorded', '--http-port', '0', ...args];
  const [cmd, ...rest] = o.asNobody ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv] : argv;
  const child = spawn(cmd!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: o.logLevel ?? 'silent' } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    return { code, out };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const canDropRoot = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

test('a taken --beckn-port is blamed on --beckn-port, in one line, exit 2, with no reader failing on the closed ledger before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-port-'));
  const port = await freePort();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
  try {
    // With the log on: the BPP fails to listen after the runtime has started, and its ledger
    // readers used to go on polling the closed database ('relay failed ... database connection
    // is not open') before the error was printed.
    const { code, out } = await runToExit(['--beckn-port', String(port), '--data-dir', dir], { logLevel: 'warn' });
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^caco: --beckn-port ${port}: listen EADDRINUSE.*; choose another port or --beckn-port 0\\n$`));
  } finally {
    await new Promise((r) => holder.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * nobody must also be able to read the project to run `caco` from it: a clone in a private
 * folder (mktemp -d makes its folder 0700, as the fresh-clone check does) is not, and the child
 * then fails to load tsx, which is no answer about the data dir.
 */
const nobodyReadsProject = canDropRoot && spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-r', join(ROOT, 'node_modules/tsx/package.json')]).status === 0;
const asNobody = { skip: !canDropRoot ? 'needs root and setpriv to run as nobody' : !nobodyReadsProject ? `the user nobody cannot read ${ROOT} (a folder above it is private)` : false };

/** A data dir `<dir>/london` that the user nobody may write (files in it made by root are not). */
function nobodysSite(prefix: string): { dir: string; site: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const site = join(dir, 'london');
  mkdirSync(site);
  if (canDropRoot) chownSync(site, nobodyUid(), nobodyGid());
  return { dir, site };
}

function nobodyUid(): number {
  return Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
}

function nobodyGid(): number {
  return Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
}

test('a site folder that cannot be written: one line naming the folder, exit 2, not blamed on a port', asNobody, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-ro-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'london'));
  const port = await freePort();
  try {
    const { code, out } = await runToExit(['--beckn-port', String(port), '--data-dir', dir], { asNobody: true });
    assert.equal(code, 2, out);
    // The BPP's first-run keys are made before the site starts: whichever writes first names its folder.
    assert.match(out, new RegExp(`^caco: ${join(dir, 'london')}(/beckn)?: (caco run )?cannot (write there|make the BPP.s first-run keys there) \\(EACCES\\).*writable --data-dir.*\\n$`));
    const bare = await runToExit(['--no-beckn', '--data-dir', dir], { asNobody: true });
    assert.equal(bare.code, 2, bare.out);
    assert.match(bare.out, new RegExp(`^caco: ${join(dir, 'london')}: caco run cannot write there \\((EACCES|SQLITE_CANTOPEN)\\).*writable --data-dir\\n$`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listenRefused: only a server's own listen error on that port blames the port", async () => {
  // What the reviewer saw blamed on --beckn-port: a file the site could not open. The old check
  // matched /EADDRINUSE|EACCES/ in any message, so this was reported as a port problem.
  const fileError = Object.assign(new Error("EACCES: permission denied, open '/data/london/anchor.jsonl'"), { code: 'EACCES', syscall: 'open', errno: -13, path: '/data/london/anchor.jsonl' });
  assert.equal(listenRefused(fileError, 8711), undefined);
  assert.equal(listenRefused(new Error('listen EADDRINUSE in a message only'), 8711), undefined);
  const port = await freePort();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
  const second = createServer();
  try {
    const err = await new Promise<Error>((r) => {
      second.once('error', r);
      second.listen(port, '127.0.0.1');
    });
    assert.match(listenRefused(err, port) ?? '', /^listen EADDRINUSE/);
    assert.equal(listenRefused(err, port + 1), undefined, 'another port is not blamed');
  } finally {
    await new Promise((r) => holder.close(r));
  }
});

test('a ledger.db that is not a SQLite database: one line naming it and what to do, exit 2, the file untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-run-junk-'));
  const ledger = join(dir, 'london', 'ledger.db');
  mkdirSync(join(dir, 'london'));
  const junk = Buffer.from('this is not a database\n'.repeat(400));
  writeFileSync(ledger, junk);
  try {
    const { code, out } = await runToExit(['--no-beckn', '--data-dir', dir]);
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^caco: the SQLite ledger ${ledger.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is not a SQLite database .*nothing was changed: move it aside.*\\n$`));
    assert.deepEqual(readFileSync(ledger), junk);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a read-only ledger.db: one line naming it and what to do, exit 2, the file untouched', asNobody, async () => {
  const { dir, site } = nobodysSite('caco-run-ledger-ro-');
  const ledger = join(site, 'ledger.db');
  writeFileSync(ledger, '');
  chmodSync(ledger, 0o644);
  try {
    const { code, out } = await runToExit(['--no-beckn', '--data-dir', dir], { asNobody: true });
    assert.equal(code, 2, out);
    assert.match(out, new RegExp(`^caco: the SQLite ledger ${ledger.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot be written \\(a read-only file or folder.*\\n$`));
    assert.equal(readFileSync(ledger).length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
