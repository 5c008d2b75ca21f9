#!/usr/bin/env node
// Runs every test file under test/ (or the files/folders given), one node:test process per
// file, each in its own process group with a wall-clock limit. A file that outlives its limit
// (a test stuck on a reconnecting client, a child process left running) is killed with its
// whole group, reported by name and counted as failed; the run always ends.
//
//   node scripts/test.mjs [--jobs N] [--file-timeout SECONDS] [--<node flag> ...] [paths...]
//
// A file may raise its own limit with a line `// test-file-timeout: SECONDS` in its first
// 40 lines. CACO_TEST_FILE_TIMEOUT (seconds) and CACO_TEST_JOBS set the defaults.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const DEFAULT_FILE_TIMEOUT_S = Number(process.env['CACO_TEST_FILE_TIMEOUT'] ?? 240);
const KILL_GRACE_MS = 5_000;

function collect(path, out, explicit) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name.startsWith('.') || name === '__output__') continue;
      collect(join(path, name), out, false);
    }
  } else if (explicit || /\.test\.ts$/.test(path)) out.push(path);
  return out;
}

function parseArgs(argv) {
  const opts = { jobs: Number(process.env['CACO_TEST_JOBS'] ?? 1), fileTimeoutS: DEFAULT_FILE_TIMEOUT_S, nodeFlags: [], roots: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (name) => {
      const eq = a.indexOf('=');
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        console.error(`test runner: ${name} must be a positive number, got ${JSON.stringify(v)}`);
        process.exit(2);
      }
      return n;
    };
    if (a === '--jobs' || a.startsWith('--jobs=')) opts.jobs = Math.floor(value('--jobs'));
    else if (a === '--file-timeout' || a.startsWith('--file-timeout=')) opts.fileTimeoutS = value('--file-timeout');
    else if (a.startsWith('--')) opts.nodeFlags.push(a);
    else opts.roots.push(a);
  }
  return opts;
}

/** The file's own limit from a `// test-file-timeout: N` line, else the default. */
function fileLimitS(file, fallback) {
  const head = readFileSync(file, 'utf8').split('\n', 40).join('\n');
  const m = /^\s*\/\/\s*test-file-timeout:\s*(\d+)\s*$/m.exec(head);
  return m ? Number(m[1]) : fallback;
}

const SUMMARY = /^[ℹ#]\s*(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\s+([\d.]+)\s*$/;

function runFile(file, opts, live) {
  const limitS = fileLimitS(file, opts.fileTimeoutS);
  // node:test applies --test-timeout to the file as a whole as well as to every test without
  // its own: a little under the hard limit, so a slow file is reported by node:test with the
  // test it was in, and only a file that ignores that is killed.
  const softMs = Math.max(1000, limitS * 1000 - 5000);
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-force-exit', `--test-timeout=${softMs}`, ...opts.nodeFlags, file];
  const started = Date.now();
  return new Promise((resolve) => {
    // detached: the file and everything it spawns (nats-server, workers, chromium) form one
    // process group that can be killed together.
    const env = { ...process.env, FORCE_COLOR: process.env['FORCE_COLOR'] ?? '0' };
    // The runner may itself run inside a test (test/scripts): each file is a top-level run.
    delete env['NODE_TEST_CONTEXT'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    running.add(child);
    const counts = {};
    let out = '';
    let err = '';
    let timedOut = false;
    let printed = 0;
    child.stdout.on('data', (b) => {
      out += b;
      if (!live) return;
      // One file at a time: show its lines as they come (summary lines are totalled at the end).
      const end = out.lastIndexOf('\n') + 1;
      const lines = out.slice(printed, end).split('\n').filter((l) => l && !SUMMARY.test(l.trim()));
      if (lines.length) process.stdout.write(lines.join('\n') + '\n');
      printed = end;
    });
    child.stderr.on('data', (b) => {
      if (live) process.stderr.write(b);
      else err += b;
    });
    const killGroup = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    }, limitS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // Whatever the file left behind in its group goes too.
      killGroup('SIGKILL');
      for (const line of out.split('\n')) {
        const m = SUMMARY.exec(line.trim());
        if (m) counts[m[1]] = Number(m[2]);
      }
      resolve({ file, code, signal, timedOut, limitS, counts, out, err, ms: Date.now() - started, rest: live ? out.slice(printed) : out });
    });
  });
}

const REPORT_MAX_LINES = 80;
const REPORT_MAX_LINE = 400;
const NODE_FRAME = /^\s+at .*\((node:|[^)]*node_modules)/;

/**
 * The spec reporter's closing "failing tests" section of one file's output: each failed test
 * with its error, without node's own stack frames, bounded so a huge diff cannot bury the rest.
 */
function failureReport(out) {
  const at = out.lastIndexOf('✖ failing tests:');
  if (at < 0) return ['(no "failing tests" section in its output: see the file\'s lines above)'];
  const lines = out
    .slice(at)
    .split('\n')
    .slice(1)
    // node's own frames go; the last one may open the error's fields (`… (node:…) {`): its brace stays.
    .map((l) => (NODE_FRAME.test(l) && l.endsWith(' {') ? l.replace(/at .*$/, '{') : l))
    .filter((l) => l.trim() && !SUMMARY.test(l.trim()) && !NODE_FRAME.test(l))
    .map((l) => (l.length > REPORT_MAX_LINE ? `${l.slice(0, REPORT_MAX_LINE)} …` : l));
  return lines.length > REPORT_MAX_LINES ? [...lines.slice(0, REPORT_MAX_LINES), `… ${lines.length - REPORT_MAX_LINES} more lines above`] : lines;
}

const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of running) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.exit(130);
  });
}

const opts = parseArgs(process.argv.slice(2));
const files = (opts.roots.length ? opts.roots : ['test']).flatMap((r) => collect(r, [], opts.roots.length > 0 && !statSync(r).isDirectory()));
if (files.length === 0) {
  console.error('no test files found under', opts.roots.join(' ') || 'test');
  process.exit(1);
}

const total = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const broken = [];
/** Each failing file's own "failing tests" report, repeated at the end (see failureReport). */
const failures = [];
const started = Date.now();
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const live = opts.jobs === 1;
    if (live) process.stdout.write(`\n▶ ${file}\n`);
    const r = await runFile(file, opts, live);
    // In parallel, each file's output is printed whole when it ends, so files do not interleave.
    if (!live) process.stdout.write(`\n▶ ${file}\n`);
    process.stdout.write(r.rest.split('\n').filter((l) => !SUMMARY.test(l.trim())).join('\n'));
    process.stdout.write(`◀ ${file} (${(r.ms / 1000).toFixed(1)} s)\n`);
    if (r.err.trim()) process.stderr.write(r.err);
    for (const k of Object.keys(total)) total[k] += r.counts[k] ?? 0;
    if ((r.counts['fail'] ?? 0) > 0 || (r.counts['cancelled'] ?? 0) > 0) failures.push({ file, lines: failureReport(r.out) });
    const summarised = r.counts['tests'] !== undefined;
    if (r.timedOut) broken.push(`${file}: killed after its limit of ${r.limitS} s (raise it with '// test-file-timeout: N' if it is legitimately slow)`);
    else if (!summarised) broken.push(`${file}: exited (${r.signal ?? `code ${r.code}`}) without a test summary`);
    else if (r.code !== 0 && !(r.counts['fail'] > 0) && !(r.counts['cancelled'] > 0)) broken.push(`${file}: exited with code ${r.code} though no test failed`);
  }
}
await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, files.length)) }, worker));

// A file that was killed or crashed counts as one failed test, so it cannot pass unnoticed.
total.fail += broken.length;
const failed = total.fail + total.cancelled;
process.stdout.write('\n');
// A CI log is often kept only by its end: the reasons go there too, not only the names.
if (failures.length) {
  process.stdout.write(`✖ why tests failed, as each file reported it (repeated here from above):\n`);
  for (const f of failures) process.stdout.write(`  ${f.file}\n${f.lines.map((l) => `    ${l}\n`).join('')}`);
}
if (broken.length) {
  process.stdout.write(`✖ ${broken.length} test file(s) did not finish cleanly:\n`);
  for (const b of broken) process.stdout.write(`  ${b}\n`);
}
process.stdout.write(
  [
    `ℹ files ${files.length}`,
    `ℹ tests ${total.tests + broken.length}`,
    `ℹ suites ${total.suites}`,
    `ℹ pass ${total.pass}`,
    `ℹ fail ${total.fail}`,
    `ℹ cancelled ${total.cancelled}`,
    `ℹ skipped ${total.skipped}`,
    `ℹ todo ${total.todo}`,
    `ℹ duration_ms ${Date.now() - started}`,
  ].join('\n') + '\n',
);
process.stdout.write(`${total.pass} passed, ${failed} failed, ${total.skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);
