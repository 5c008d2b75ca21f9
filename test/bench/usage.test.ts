import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { BenchUsageError, parsedArgs } from '../../bench/report.ts';
import { main as flexibility } from '../../bench/flexibility.ts';
import { walkForwardArgs, walkForwardMonths } from '../../bench/cases/walk-forward.ts';
import { checkSimulatedPeriod } from '../../sim/index.ts';
import { UsageError } from '../../core/errors/index.ts';
import { runtimeArgs } from '../../bench/runtime.ts';
import { simulateArgs } from '../../bench/simulate.ts';
import { snapshotsArgs } from '../../bench/snapshots.ts';
import { clusterArgs } from '../../bench/cluster.ts';
import { fullPeriodKey, main as schedule, scheduleFlags } from '../../bench/schedule.ts';

// A mistyped flag must stop a benchmark at once with one line naming it (bench/index.ts prints
// a BenchUsageError's message and exits 2), never run for minutes on defaults or end in a stack trace.
describe('benchmark usage errors', { timeout: 30_000 }, () => {
  const opts = { name: { type: 'string' as const } };

  test('parsedArgs turns parseArgs errors into a BenchUsageError naming the flag, and passes others through', () => {
    assert.throws(() => parsedArgs(() => parseArgs({ args: ['--nmae', 'x'], options: opts, strict: true })), (e: unknown) => e instanceof BenchUsageError && /--nmae/.test(e.message));
    assert.throws(() => parsedArgs(() => parseArgs({ args: ['--name'], options: opts, strict: true })), (e: unknown) => e instanceof BenchUsageError && /--name/.test(e.message));
    assert.equal(parsedArgs(() => parseArgs({ args: ['--name', 'x'], options: opts, strict: true })).values.name, 'x');
    const other = new RangeError('not a usage error');
    assert.throws(() => parsedArgs(() => { throw other; }), (e: unknown) => e === other);
  });

  test('the flexibility benchmark refuses a bad flag, week, forecaster or results name before running anything', async () => {
    const refused = async (argv: string[], pattern: RegExp) =>
      assert.rejects(flexibility(argv), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    await refused(['--week', '2023-04-03'], /--week/);
    await refused(['--weeks', '2023-13-01'], /--weeks: "2023-13-01"/);
    // Date.parse rolls 30 February over to 2 March: refused, not run as another week.
    await refused(['--weeks', '2023-02-30'], /--weeks: "2023-02-30"/);
    // Any year, but inside the data, checked before the first week runs (the project's files end on 2023-09-30).
    await refused(['--weeks', '2023-04-03,2023-10-02'], /--weeks: 2023-10-02: the data covers 2023-01-01 to 2023-10-01.*choose weeks starting between 2023-01-09 and 2023-09-22/);
    await refused(['--weeks', '2023-04-03', '--carbon', '/nonexistent/carbon.csv'], /--carbon: file \/nonexistent\/carbon.csv does not exist/);
    await refused(['--compare', 'flexibility-lstm', '--prices', 'p.csv'], /--compare .* no --prices/);
    await refused(['--weeks', 'fresh', '--forecasters', 'lstm,prophet'], /--forecasters: "prophet"/);
    await refused(['--weeks', 'fresh', '--name', '../outside'], /--name/);
    // --compare runs nothing: the flags of a run beside it are refused, not ignored.
    await refused(['--compare', 'flexibility-lstm', '--weeks', 'fresh'], /--compare .* no --weeks/);
    await refused(['--compare', 'flexibility-lstm', '--seed', '7', '--name', 'x'], /no --seed, --name/);
  });

  test('a week is checked against files that start mid-day: the first day offered is one that is accepted', () => {
    const span = { dataFromMs: Date.parse('2023-10-01T13:30:00Z'), dataToMs: Date.parse('2024-01-01T00:00:00Z') };
    // 8 days of history from 13:30 on 1 October reach 13:30 on the 9th: the 10th is the first whole day.
    assert.throws(() => checkSimulatedPeriod(Date.parse('2023-10-09T00:00:00Z'), 7, span, '--weeks'), (e: unknown) => e instanceof UsageError && /^--weeks: 2023-10-09: the data covers 2023-10-01T13:30Z to 2024-01-01; .* between 2023-10-10 and 2023-12-23$/.test(e.message));
    assert.doesNotThrow(() => checkSimulatedPeriod(Date.parse('2023-10-10T00:00:00Z'), 7, span, '--weeks'));
    assert.doesNotThrow(() => checkSimulatedPeriod(Date.parse('2023-12-23T00:00:00Z'), 7, span, '--weeks'));
    assert.throws(() => checkSimulatedPeriod(Date.parse('2023-12-24T00:00:00Z'), 7, span, '--weeks'), UsageError);
  });

  test('the full-period schedule run refuses days outside the data, and a missing file, before it plans anything', async () => {
    const refused = async (argv: string[], pattern: RegExp) =>
      assert.rejects(schedule([...argv, '--no-write', '--no-scaling']), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    // The project's files end on 2023-09-30: the run's days must be inside (the drain may carry the last values on).
    await refused(['--from', '2023-09-29', '--days', '3'], /--from 2023-09-29 --days 3: the data cover 2023-01-01 to 2023-10-01/);
    await refused(['--from', '2022-06-01', '--days', '1'], /--from 2022-06-01 --days 1: the data cover 2023-01-01/);
    await refused(['--prices', '/nonexistent/prices.csv'], /--prices: file \/nonexistent\/prices.csv does not exist/);
  });

  test('the schedule walk-forward runs on the months the data allow, and names the span when a month does not fit', () => {
    const at = (iso: string) => Date.parse(iso);
    // The project's files (2023-01-01 … 2023-10-01): February to September, as before.
    const project = { fromMs: at('2023-01-01T00:00:00Z'), toMs: at('2023-10-01T00:00:00Z') };
    assert.deepEqual(walkForwardMonths(project, 7, undefined), ['2023-02', '2023-03', '2023-04', '2023-05', '2023-06', '2023-07', '2023-08', '2023-09']);
    // 28 days before the 1st: January has none; 7 + 4 + 7 days after it, so with 21 days a month September no longer fits.
    assert.throws(() => walkForwardMonths(project, 7, ['2023-01']), (e: unknown) => e instanceof BenchUsageError && /--months: 2023-01 does not fit .*28 days of data before its 1st.*2023-01-01 to 2023-10-01/.test(e.message));
    assert.deepEqual(walkForwardMonths(project, 21, undefined).at(-1), '2023-08');
    assert.deepEqual(walkForwardMonths(project, 14, undefined).at(-1), '2023-09');
    // A later quarter with a month of history, across a year's end.
    const later = { fromMs: at('2023-09-01T00:00:00Z'), toMs: at('2024-02-01T00:00:00Z') };
    assert.deepEqual(walkForwardMonths(later, 7, undefined), ['2023-10', '2023-11', '2023-12', '2024-01']);
    assert.deepEqual(walkForwardMonths(later, 7, ['2023-12']), ['2023-12']);
    // The bare LSTMs, asked for no month: only those after their data and the planner's tuning month.
    assert.deepEqual(walkForwardMonths(project, 7, undefined, 'lstm'), ['2023-08', '2023-09']);
    assert.deepEqual(walkForwardMonths(later, 7, undefined, 'lstm'), ['2023-10', '2023-11', '2023-12', '2024-01']);
    assert.throws(() => walkForwardMonths({ fromMs: project.fromMs, toMs: Date.parse('2023-08-15T00:00:00Z') }, 7, undefined, 'lstm'), /no month fits in the data from 2023-08/);
    // Too short for any month: one line that says why.
    assert.throws(() => walkForwardMonths({ fromMs: at('2023-10-01T00:00:00Z'), toMs: at('2023-11-15T00:00:00Z') }, 7, undefined), (e: unknown) => e instanceof BenchUsageError && /^no month fits in the data/.test(e.message));
  });

  test('the schedule walk-forward refuses a bad flag, month, forecast or count, and a month the bare LSTMs saw', () => {
    const refused = (argv: string[], pattern: RegExp) =>
      assert.throws(() => walkForwardArgs(['--walk-forward', ...argv]), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    refused(['--month', '2023-05'], /--month/);
    refused(['--months', '2023-13'], /--months: "2023-13"/);
    refused(['--months', '2023-5'], /--months: "2023-5"/);
    refused(['--forecast', 'prophet'], /--forecast: "prophet"/);
    refused(['--days-per-month', '0'], /--days-per-month/);
    refused(['--jobs-per-day', 'many'], /--jobs-per-day/);
    refused(['--name', '../outside'], /--name/);
    refused(['--forecast', 'lstm', '--months', '2023-08,2023-07'], /--months: 2023-07 is not out of sample for the LSTMs/);
    // The ensemble admits its LSTM only after the LSTM's validation data: every month is out of sample.
    const a = walkForwardArgs(['--walk-forward', '--forecast', 'ensemble', '--months', '2023-02,2023-09', '--days-per-month', '2', '--no-write']);
    assert.deepEqual([a.forecast, a.months, a.daysPerMonth, a.jobsPerDay, a.seed, a.write], ['ensemble', ['2023-02', '2023-09'], 2, 200, '1', false]);
    // By default, every month the data allow (walkForwardMonths), with what the grid agent ships, a week from each 1st.
    const d = walkForwardArgs(['--walk-forward']);
    assert.deepEqual([d.months, d.forecast, d.daysPerMonth, d.carbonCsv, d.pricesCsv], [undefined, 'ensemble', 7, undefined, undefined]);
    const o = walkForwardArgs(['--walk-forward', '--carbon', 'q4-carbon.csv', '--prices', 'q4-prices.csv', '--months', '2023-11']);
    assert.deepEqual([o.carbonCsv, o.pricesCsv, o.months], ['q4-carbon.csv', 'q4-prices.csv', ['2023-11']]);
    // --repool runs nothing: a run's flags beside it are refused, not ignored; LSTM months are not checked (none run).
    refused(['--repool', '--months', '2023-05'], /--repool .* no --months/);
    refused(['--repool', '--carbon', 'q4.csv'], /--repool .* no --carbon/);
    refused(['--repool', '--seed', '7', '--days-per-month=2'], /no --days-per-month, --seed|no --seed, --days-per-month/);
    const r = walkForwardArgs(['--walk-forward', '--repool', '--forecast', 'lstm']);
    assert.deepEqual([r.repool, r.forecast, r.name], [true, 'lstm', 'schedule']);
  });

  test('the runtime benchmark refuses a bad flag, count or signing mode, and keeps its defaults', () => {
    const refused = (argv: string[], pattern: RegExp) => assert.throws(() => runtimeArgs(argv), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    refused(['--repeats', '3'], /--repeats/);
    refused(['--repeat'], /--repeat/);
    refused(['--events', '0'], /--events: "0"/);
    refused(['--events', '1e3.5'], /--events/);
    refused(['--embedded-windows', '1,x'], /--embedded-windows: "x"/);
    refused(['--signing', 'main-thread,gpu'], /--signing: "gpu"/);
    const d = runtimeArgs([]);
    assert.deepEqual([d.events, d.batch, d.window, d.embeddedWindows, d.signing, d.repeat, d.skipNats, d.skipEmbedded], [20_000, 1, 256, [1, 64], ['main-thread', 'auto'], 1, false, false]);
    const a = runtimeArgs(['--events', '5000', '--embedded-windows', '1', '--signing', 'worker', '--repeat', '3', '--skip-nats']);
    assert.deepEqual([a.events, a.embeddedWindows, a.signing, a.repeat, a.skipNats], [5000, [1], ['worker'], 3, true]);
  });

  test('the simulate, snapshots and cluster benchmarks refuse a bad flag or value and keep their defaults', () => {
    const refused = (parse: (argv: string[]) => unknown, argv: string[], pattern: RegExp) => assert.throws(() => parse(argv), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    refused(simulateArgs, ['--day', '3'], /--day/);
    refused(simulateArgs, ['--days', '1.5'], /--days: "1.5"/);
    refused(simulateArgs, ['--from', '2023-02-30'], /--from: "2023-02-30"/);
    refused(simulateArgs, ['--from', 'monday'], /--from: "monday"/);
    const s = simulateArgs([]);
    assert.deepEqual([s.days, s.seed, new Date(s.fromMs).toISOString(), s.bus, s.store], [7, '42', '2023-07-03T00:00:00.000Z', 'memory', 'sqlite']);
    refused(snapshotsArgs, ['--events', '100', '--tail', '100'], /--tail: "100"/);
    refused(snapshotsArgs, ['--repeats', '2'], /--repeats/);
    assert.deepEqual(snapshotsArgs([]), { events: 100_000, tail: 100, repeat: 3 });
    refused(clusterArgs, ['--kill', '3'], /--kill/);
    refused(clusterArgs, ['--kills=-1'], /--kills: "-1"/);
    refused(clusterArgs, ['--batch', '0'], /--batch: "0"/);
    assert.deepEqual(clusterArgs(['--no-write']), { events: 20_000, batch: 4, window: 32, kills: 5, soakMinutes: 0, write: false });
  });

  test('the schedule benchmark refuses a flag its run does not take before loading anything', () => {
    const refused = (argv: string[], pattern: RegExp) => assert.throws(() => scheduleFlags(argv), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    refused(['--day', '30'], /--day/);
    refused(['--days'], /--days/);
    refused(['--case', 'lets-wait-awhile', '--days', '3'], /--days/);
    refused(['--walk-forward', '--days', '3'], /--days/);
    scheduleFlags(['--from', '2023-08-01', '--days', '7', '--no-scaling', '--plan-options', '{}', '--no-write']);
    scheduleFlags(['--case', 'lets-wait-awhile', '--sample', '10', '--no-write']);
    scheduleFlags(['--walk-forward', '--forecast', 'ensemble', '--days-per-month', '2']);
    // The run reads what was parsed: `--days=14` is 14 days, not the default.
    const full = scheduleFlags(['--days=14', '--no-sim']);
    assert.ok('flags' in full && full.flags['days'] === '14' && full.flags['no-sim'] === true);
    assert.equal(full.values?.days, 14);
  });

  test('the schedule benchmark checks every value of its full-period run before loading anything, and keeps its defaults', () => {
    const refused = (argv: string[], pattern: RegExp) => assert.throws(() => scheduleFlags(argv), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    refused(['--days', 'x'], /--days: "x"/);
    refused(['--days', '0'], /--days: "0"/);
    refused(['--from', '2023-02-30'], /--from: "2023-02-30"/);
    refused(['--battery-kw=-5'], /--battery-kw: "-5"/);
    refused(['--jobs-per-day', '1.5'], /--jobs-per-day/);
    refused(['--utilisation', '2'], /--utilisation: "2"/);
    refused(['--threshold', 'low'], /--threshold/);
    refused(['--scaling', '100,lots'], /--scaling: "lots"/);
    refused(['--plan-on', 'P50'], /--plan-on: "P50"/);
    refused(['--plan-options', '{deterministic: true}'], /--plan-options: not JSON/);
    refused(['--plan-options', '[1]'], /--plan-options: must be a JSON object/);
    refused(['--price-column', 'imbalanced'], /--price-column/);
    refused(['--forecast', 'prophet'], /--forecast: "prophet"/);
    refused(['--perfect', 'both'], /--perfect/);
    refused(['--case', 'lets-wait', '--no-write'], /--case: "lets-wait"/);
    refused(['--case', 'lets-wait-awhile', '--lwa-rule', 'papers'], /--lwa-rule: "papers"/);
    refused(['--case', 'lets-wait-awhile', '--sample', '1.5'], /--sample: "1.5"/);
    const lwa = scheduleFlags(['--case', 'lets-wait-awhile', '--no-write']);
    assert.ok('lwa' in lwa);
    assert.deepEqual(lwa.lwa, { rule: 'paper', sample: 1, write: false });
    const d = scheduleFlags([]);
    assert.ok('values' in d);
    const v = d.values;
    assert.deepEqual([v.from, v.days, v.batteryKw, v.jobsPerDay, v.utilisation, v.threshold, v.scaling, v.scalingReps, v.planOn, v.planOptions, v.priceColumn, v.forecast, v.perfect], ['2023-07-01', 92, undefined, 200, 0.5, undefined, [100, 1000, 5000, 10000], 3, 'mean', {}, 'market', 'auto', undefined]);
    const a = scheduleFlags(['--battery-kw', '0', '--no-scaling', '--threshold', '120', '--plan-on', 'p50', '--plan-options', '{"fullEveryMs":0}', '--name', 'schedule-no-battery']);
    assert.ok('values' in a && a.values !== null);
    assert.deepEqual([a.values.batteryKw, a.values.scaling, a.values.threshold, a.values.planOn, a.values.planOptions, a.values.name], [0, [], 120, 'p50', { fullEveryMs: 0 }, 'schedule-no-battery']);
    assert.equal(v.name, 'schedule');
  });

  test('a full-period run never overwrites the main results with an analysis or another forecaster', () => {
    const refused = (argv: string[], pattern: RegExp) => assert.throws(() => scheduleFlags(argv), (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message), argv.join(' '));
    // An analysis run into schedule.json would replace what README quotes.
    refused(['--perfect', 'price'], /--perfect: an analysis run .*--name/);
    refused(['--battery-kw', '0', '--name', 'schedule'], /--battery-kw: an analysis run/);
    refused(['--name', '../schedule'], /--name: "..\/schedule"/);
    for (const ok of [['--perfect', 'price', '--no-write'], ['--perfect', 'carbon', '--name', 'schedule-perfect-carbon']]) assert.ok('values' in scheduleFlags(ok));
    refused(['--forecast', 'lstms'], /--forecast: "lstms"/);
    // The shipped forecaster's run is the file's main result; the others go under their own keys.
    assert.deepEqual((['auto', 'ensemble', 'lstm', 'sty', 'published'] as const).map(fullPeriodKey), [null, null, 'fullPeriodLstm', 'fullPeriodSty', 'fullPeriodPublished']);
  });
});
