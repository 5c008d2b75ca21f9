// test-file-timeout: 180
/**
 * A job id repeated in a workload CSV: CACO submits each job under the command id
 * `submit-<id>`, so a repeat was dropped by the site while the baselines counted it and the
 * comparison table compared different workloads. The repeat is a problem of the file, named
 * by its line and the first line with that id, and `caco simulate --jobs` refuses the file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { siteConfig } from '../../../agents/compute/jobs/index.ts';
import { readWorkloadCsv } from '../../../sim/workload/index.ts';
import { runFolderName } from '../../../cli/commands/simulate.ts';
import { loadInputs } from '../../../sim/inputs.ts';
import { UsageError } from '../../../core/errors/index.ts';

const root = join(import.meta.dirname, '../../..');
const site = siteConfig();

const csv = [
  'id,class,power_kw,gpu_count,per_gpu_kw,runtime_min,earliest_start_utc,deadline_utc,sla_class,preemptible',
  'job-a,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false',
  'job-b,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false',
  '',
  'job-a,batch-inference,300,,,30,2023-07-03T11:00:00.000Z,2023-07-03T15:00:00.000Z,silver,true',
  'job-b,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false',
  '"job-a",training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false',
].join('\n');

describe('workload CSV: rows the site would refuse', () => {
  test('a job due more than 90 days after its release is a problem of its line (the site refuses it at submit), not a job the baselines count', () => {
    const rows = [
      csv.split('\n')[0]!,
      'near,training,500,,,60,2023-07-03T10:00:00.000Z,2023-10-01T10:00:00.000Z,gold,false',
      'far,training,500,,,60,2023-07-03T10:00:00.000Z,9999-12-31T00:00:00.000Z,gold,false',
    ].join('\n');
    const r = readWorkloadCsv(rows, site);
    assert.deepEqual(r.jobs.map((j) => j.id), ['near']);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.line, 3);
    assert.equal(r.problems[0]!.field, 'deadline_utc');
    assert.match(r.problems[0]!.reason, /more than 90 days after its release \(2023-07-03T10:00:00.000Z\)/);
  });

  test('a job that cannot finish from the first half-hour at or after its release is a problem of its line (the site refuses it at submit)', () => {
    const rows = [
      csv.split('\n')[0]!,
      // Released 10:10, due 11:10, 60 minutes: the window holds it, the half-hours do not.
      'tight,training,500,,,60,2023-07-03T10:10:00.000Z,2023-07-03T11:10:00.000Z,gold,false',
      'slack,training,500,,,60,2023-07-03T10:10:00.000Z,2023-07-03T11:30:00.000Z,gold,false',
    ].join('\n');
    const r = readWorkloadCsv(rows, site);
    assert.deepEqual(r.jobs.map((j) => j.id), ['slack']);
    assert.deepEqual(r.problems, [{ line: 2, field: 'deadline_utc', reason: 'jobs start on the half-hour: the earliest here is 2023-07-03T10:30:00.000Z, and 60 min from it end at 2023-07-03T11:30:00.000Z, after the deadline 2023-07-03T11:10:00.000Z' }]);
  });
});

/** The inputs of a one-day run from 2023-07-03 on a job file of `rows` under the usual header (loadInputs' throw passes through). */
function loadOneDay(rows: ReadonlyArray<string>): ReturnType<typeof loadInputs> {
  const dir = mkdtempSync(join(tmpdir(), 'caco-csv-run-'));
  try {
    const file = join(dir, 'jobs.csv');
    writeFileSync(file, [csv.split('\n')[0]!, ...rows].join('\n') + '\n');
    return loadInputs({ fromMs: Date.parse('2023-07-03T00:00:00Z'), days: 1, seed: '1', site, jobsCsv: file });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('workload CSV: jobs the run cannot see to their end', () => {
  test('a job due after the run ends (2 days past the last simulated day) is refused, naming its line, deadline_utc and the end; one due by then is loaded', () => {
    // A helper's review: a 120 h job due 17 days out was left paused when a 1-day run stopped,
    // and the report set CACO's unfinished work beside the baselines' finished one (20x cheaper).
    const fits = 'fits,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-06T00:00:00.000Z,gold,false';
    assert.throws(
      () => loadOneDay([fits, 'long1,training,2000,,,7200,2023-07-03T02:00:00Z,2023-07-20T00:00:00Z,silver,true']),
      (e: unknown) => e instanceof UsageError && /line 3, deadline_utc: job "long1" is due 2023-07-20T00:00:00.000Z, after the run ends \(2023-07-06T00:00:00.000Z, 2 days after the last simulated day\)/.test(e.message),
    );
    assert.deepEqual(loadOneDay([fits]).jobs.map((j) => j.id), ['fits']);
  });
});

describe('workload CSV: jobs released outside the simulated days', () => {
  test('are left out with a note naming how many, the first one and its line; none outside, no note', () => {
    // A helper's review: such rows were dropped without a word, the job count in the header the only trace.
    const inside = 'a1,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-04T00:00:00.000Z,gold,false';
    const before = 'a2,training,500,,,60,2023-07-02T22:00:00.000Z,2023-07-03T20:00:00.000Z,gold,false';
    const after = 'a3,training,500,,,60,2023-07-04T10:00:00.000Z,2023-07-05T00:00:00.000Z,gold,false';
    const r = loadOneDay([inside, before, after]);
    assert.deepEqual(r.jobs.map((j) => j.id), ['a1']);
    const note = (r.gaps ?? []).find((n) => n.startsWith('--jobs'));
    assert.match(note ?? '', /2 of its 3 jobs are released outside the simulated days \(2023-07-03 to 2023-07-04\) and are left out of every row \(the first: line 3, "a2", released 2023-07-02T22:00:00.000Z\)/);
    assert.equal((loadOneDay([inside]).gaps ?? []).filter((n) => n.startsWith('--jobs')).length, 0);
  });
});

describe('workload CSV: repeated job ids', () => {
  test('each repeat is a problem naming its line and the first line with the id, and is not loaded', () => {
    const r = readWorkloadCsv(csv, site);
    assert.deepEqual(r.jobs.map((j) => j.id), ['job-a', 'job-b']);
    assert.equal(r.jobs[0]!.class, 'training', 'the first row with the id is the one kept');
    assert.deepEqual(r.problems, [
      { line: 5, field: 'id', reason: '"job-a" already on line 2' },
      { line: 6, field: 'id', reason: '"job-b" already on line 3' },
      { line: 7, field: 'id', reason: '"job-a" already on line 2' },
    ]);
  });

  test('caco simulate --jobs refuses the file in one line naming the line and the first line (exit 2), and writes nothing', { timeout: 150_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-csv-dup-'));
    const out = join(dir, 'out');
    try {
      const file = join(dir, 'jobs.csv');
      writeFileSync(file, csv.split('\n').slice(0, 5).join('\n') + '\n');
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), 'simulate', '--jobs', file, '--days', '1', '--out', out, '--no-progress'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));
      assert.equal(r.status, 2, r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^caco: --jobs .*jobs\.csv: line 5, id: "job-a" already on line 2$/);
      assert.deepEqual(existsSync(out) ? readdirSync(out) : [], [], 'nothing written for a run that did not start');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('workload CSV: ids and times the site would not take', () => {
  test('an id that is not a job id (a dot, a space, 129 characters) and a time off the calendar or not ISO are problems of their line', () => {
    const head = csv.split('\n')[0]!;
    const row = (id: string, start = '2023-07-03T10:00:00.000Z', deadline = '2023-07-03T14:00:00.000Z') => `${id},training,500,,,60,${start},${deadline},gold,false`;
    const r = readWorkloadCsv([head, row('srv.0.00'), row('job 1'), row('x'.repeat(129)), row('feb', '2023-02-30T00:00:00Z', '2023-03-05T00:00:00Z'), row('legacy', 'Mon Jul 03 2023 10:00:00 Z'), row('ok-1:a_b')].join('\n'), site);
    assert.deepEqual(r.jobs.map((j) => j.id), ['ok-1:a_b']);
    assert.deepEqual(r.problems.map((p) => `${p.line} ${p.field}`), ['2 id', '3 id', '4 id', '5 earliest_start_utc', '6 earliest_start_utc']);
    assert.match(r.problems[0]!.reason, /"srv\.0\.00" is not a job id: 1 to 128 letters, digits/);
    assert.match(r.problems[3]!.reason, /"2023-02-30T00:00:00Z" is not an ISO 8601 UTC time .* on the calendar/);
  });

  test('runs whose names differ only in characters a folder cannot hold get folders of their own', () => {
    assert.equal(runFolderName('london-2023-07-03-7d-seed42'), 'london-2023-07-03-7d-seed42');
    const a = runFolderName('london-2023-07-03-1d-seedx y');
    const b = runFolderName('london-2023-07-03-1d-seedx_y');
    assert.equal(b, 'london-2023-07-03-1d-seedx_y');
    assert.match(a, /^london-2023-07-03-1d-seedx_y-[0-9a-f]{8}$/);
    assert.notEqual(a, b);
    assert.notEqual(runFolderName('seedé'), runFolderName('seedè'));
  });
});
