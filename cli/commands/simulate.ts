import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { replaceFolder } from '../replace-folder.ts';
import { acquireRunLock } from '../run-lock.ts';
import cliProgress from 'cli-progress';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';
import { folderToWrite, shortText, wholeNumber } from '../flag-values.ts';
import type { PolicyTotals } from '../../sim/index.ts';
import { describeBreak, keyFingerprint } from '../../core/ledger/index.ts';
import { ANCHOR_SIGNER } from '../../core/anchor/index.ts';
import type { runSimulation as RunSimulation } from '../../sim/index.ts';
import { HALF_HOUR_MS } from '../../core/time/index.ts';
import { parseIsoUtc } from '../../data/index.ts';
import { createHash } from 'node:crypto';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { DEFAULT_JOBS_PER_DAY } from '../../sim/workload/index.ts';

interface SimulateFlags extends GlobalOptions {
  seed: string;
  from: string;
  days: string;
  jobs?: string;
  jobsPerDay?: string;
  carbon?: string;
  prices?: string;
  out: string;
  market: boolean;
  baselines: boolean;
  progress: boolean;
  itKw?: string;
  battery?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A signal or workload file by its contents (sha256), so a run on an edited file gets a folder
 * of its own instead of replacing the run on the file as it was (the path alone named the
 * folder). A file that cannot be read is named by its path: the loader then says what is wrong.
 */
function fileIdentity(path: string): string {
  // Read in pieces, and no further than a loader reads (a larger file is refused there anyway).
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  let fd: number | undefined;
  try {
    // A regular file only: opening a FIFO with no writer blocked for ever (the loader refuses
    // anything else at once, naming it).
    if (!statSync(path).isFile()) return resolve(path);
    fd = openSync(path, 'r');
    for (let total = 0, n = 0; total <= MAX_SIGNAL_FILE_BYTES && (n = readSync(fd, buf, 0, buf.length, null)) > 0; total += n) h.update(buf.subarray(0, n));
    return `sha256:${h.digest('hex')}`;
  } catch {
    return resolve(path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The most of a file fileIdentity reads: past the CSV loaders' bound (32 MiB), which refuse the file. */
const MAX_SIGNAL_FILE_BYTES = 33 * 1024 * 1024;

/**
 * `-p<8 hex>` when a flag that changes the results is given (site size, battery, signal or
 * workload files, jobs per day, no market), so such a run does not replace the run without it:
 * the folder name held only the site, dates and seed, and a run with --battery 0 deleted the
 * earlier default run's ledger, keys and anchor without a word. Empty otherwise (the default
 * run keeps its name).
 */
export function variantSuffix(o: Pick<SimulateFlags, 'itKw' | 'battery' | 'carbon' | 'prices' | 'jobs' | 'jobsPerDay' | 'market'>): string {
  const parts: string[] = [];
  // A number given as its default (`--jobs-per-day 200`, `--battery 5000`) is the default run.
  const given = (raw: string | undefined, byDefault: number) => raw !== undefined && Number(raw) !== byDefault;
  if (given(o.itKw, DEFAULT_SITE.itCapacityKw)) parts.push(`it-kw=${Number(o.itKw)}`);
  if (given(o.battery, DEFAULT_SITE.battery.energyKwh)) parts.push(`battery=${Number(o.battery)}`);
  if (o.carbon !== undefined) parts.push(`carbon=${fileIdentity(o.carbon)}`);
  if (o.prices !== undefined) parts.push(`prices=${fileIdentity(o.prices)}`);
  if (o.jobs !== undefined) parts.push(`jobs=${fileIdentity(o.jobs)}`);
  if (given(o.jobsPerDay, DEFAULT_JOBS_PER_DAY)) parts.push(`jobs-per-day=${Number(o.jobsPerDay)}`);
  if (o.market === false) parts.push('no-market');
  return parts.length === 0 ? '' : `-p${createHash('sha256').update(parts.join('\n'), 'utf8').digest('hex').slice(0, 8)}`;
}

/**
 * The run's folder name: its site, start, days and seed, with what a file name cannot hold
 * replaced by `_`, and then a hash of the whole, so that two runs whose names differ only there
 * (seeds `x y` and `x_y`) get folders of their own: a run replaces its folder, and the second
 * replaced the first's ledger, keys and anchor.
 */
export function runFolderName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === name ? name : `${safe}-${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8)}`;
}

/** The seed goes into the run's folder name (and the ledger's ids): a file name has a limit. */
const MAX_SEED_CHARS = 64;

export function simulateCommand(): Command {
  const cmd = new Command('simulate')
    .description('simulate the site on recorded UK carbon and price data and compare with run-on-arrival and the perfect-foresight optimum')
    .option('--seed <seed>', 'seed for the workload and ids: the same seed gives the same ledger hashes (signing keys are made locally, never from the seed)', '42')
    .option('--from <date>', 'first day (UTC), inside the recorded data', '2023-07-03')
    .option('--days <n>', 'days to simulate', '7')
    .option('--jobs <csv>', 'workload CSV instead of the generated one')
    .option('--jobs-per-day <n>', 'deferrable jobs per day for the generator (default 200)')
    .option('--carbon <csv>', 'carbon intensity CSV (the shared file columns)')
    .option('--prices <csv>', 'price CSV (the shared file columns)')
    .option('--it-kw <kw>', 'site IT capacity in kW (default 10000)')
    .option('--battery <kwh>', 'battery energy in kWh (default 5000; power is half of it per hour)')
    .option('--out <dir>', 'output folder; the run goes to <out>/<run>', 'out')
    .option('--no-market', 'do not sell flexibility over Beckn')
    .option('--no-baselines', 'skip the run-on-arrival and optimum comparison')
    .option('--no-progress', 'no progress bar');
  addGlobalOptions(cmd);
  cmd.addOption(new Option('--site-name <name>').hideHelp());
  return cmd.action(async (o: SimulateFlags) => {
    const config = configFrom(o);
    shortText('--seed', o.seed, MAX_SEED_CHARS);
    folderToWrite('--out', o.out);
    // Loaded here, not at the top: `caco --help` should not load the models and the solver.
    const [{ runSimulation }, { actualSignals }, { adjustForBattery, batteryNote, cacoTotals, flexSummary, storedEnergyValue }, { startBaselines }, { writeReport }, { siteConfig }] = await Promise.all([
      import('../../sim/simulation.ts'),
      import('../../sim/inputs.ts'),
      import('../../sim/results.ts'),
      import('../../sim/baselines.ts'),
      import('../../sim/report.ts'),
      import('../../agents/compute/jobs/index.ts'),
    ]);
    // parseIsoUtc, not Date.parse: that rolled 2023-02-30 over to 2 March, under a folder and a header saying 02-30.
    const fromMs = DATE.test(o.from) ? parseIsoUtc(`${o.from}T00:00:00Z`) : null;
    if (fromMs === null) throw new UsageError(`--from: "${o.from}" is not a date like 2023-07-03 (one on the calendar)`);
    const days = wholeNumber('--days', o.days, 1, 60);
    const jobsPerDay = o.jobsPerDay ? wholeNumber('--jobs-per-day', o.jobsPerDay, 1, 100_000) : undefined;
    const site = siteConfig({
      ...(o.itKw ? { itCapacityKw: wholeNumber('--it-kw', o.itKw, 100, 1_000_000), importCapKw: Math.round(wholeNumber('--it-kw', o.itKw, 100, 1_000_000) * 1.4) } : {}),
      ...(o.battery ? { battery: { energyKwh: wholeNumber('--battery', o.battery, 0, 1_000_000), powerKw: wholeNumber('--battery', o.battery, 0, 1_000_000) / 2 } } : {}),
    });
    const run = runFolderName(`${config.site}-${o.from}-${days}d-seed${o.seed}${variantSuffix(o)}`);
    const finalDir = resolve(o.out, run);
    // One run of a name at a time: two removed each other's work folder and one ended in a
    // stack trace (ENOENT on report.json, or an anchor fork). The lock is the kernel's, let go
    // however the process ends.
    const lock = acquireRunLock(resolve(o.out), { name: `${run}.lock`, removeOnRelease: true, instead: 'give another --out or --seed' });
    // Work in a side folder and move it into place at the end, so a failed run never leaves
    // something that looks complete.
    const workDir = `${finalDir}.partial`;
    rmSync(workDir, { recursive: true, force: true });
    const bar = o.progress && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'simulating {bar} {value}/{total} half-hours | {events} events | {rate} events/s | {phase}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
    const started = performance.now();
    let lastLog = 0;
    let pendingLine = '';
    let result: Awaited<ReturnType<typeof RunSimulation>>;
    // The baselines run in their own thread while the agents simulate.
    let baselines: ReturnType<typeof startBaselines> | undefined;
    try {
      result = await runSimulation({
      config,
      seed: o.seed,
      fromMs,
      days,
      site,
      ...(o.carbon ? { carbonCsv: o.carbon } : {}),
      ...(o.prices ? { pricesCsv: o.prices } : {}),
      ...(o.jobs ? { jobsCsv: o.jobs } : {}),
      ...(jobsPerDay !== undefined ? { jobsPerDay } : {}),
      outDir: workDir,
      onInputs: (inputs) => {
        if (!o.baselines) return;
        const slots = days * 48;
        baselines = startBaselines({ jobs: inputs.jobs, site, fromMs, slots, actual: actualSignals(inputs, fromMs, slots + 96 + 4 * 48 + 96), initialSocKwh: site.battery.energyKwh * 0.5 });
        baselines.catch(() => undefined);
      },
      market: o.market,
      baselines: o.baselines,
      onProgress: (p) => {
        const rate = Math.round(p.events / Math.max(1e-3, (performance.now() - started) / 1000));
        if (bar) {
          if (p.phase === 'simulating' && p.slot === 1) bar.start(p.slots, 0, { events: 0, rate: 0, phase: p.phase });
          bar.update(p.slot, { events: p.events.toLocaleString('en-GB'), rate: rate.toLocaleString('en-GB'), phase: p.message ?? p.phase });
        } else if (o.progress && p.phase !== 'loading') {
          // Outside a terminal (a log file, a pipe): a plain line every few seconds, and the last.
          pendingLine = `simulating: ${p.slot}/${p.slots} half-hours, ${p.events.toLocaleString('en-GB')} events, ${rate.toLocaleString('en-GB')} events/s${p.message ? ` (${p.message})` : ''}\n`;
          if (performance.now() - lastLog > 5000) {
            lastLog = performance.now();
            process.stderr.write(pendingLine);
            pendingLine = '';
          }
        }
      },
    });
    } catch (err) {
      bar?.stop();
      // A run that did not complete leaves nothing behind that could pass for a result.
      rmSync(workDir, { recursive: true, force: true });
      lock.release();
      throw err;
    }
    bar?.stop();
    if (pendingLine) process.stderr.write(pendingLine);
    try {
      const rows: PolicyTotals[] = [];
      const arrivalKw: number[] = [];
      if (baselines) {
        process.stderr.write('waiting for run-on-arrival and the perfect-foresight optimum on the same jobs…\n');
        const b = await baselines;
        for (const [startMs, kw] of b.arrivalKw) arrivalKw[Math.round((startMs - fromMs) / HALF_HOUR_MS)] = kw;
        rows.push(...b.rows);
      }
      // What the agents acted on: the ledger as verified on read.
      const startSocKwh = site.battery.energyKwh * 0.5;
      const caco = await cacoTotals(result.runtime.store, result.inputs.jobs, site, startSocKwh);
      rows.splice(1, 0, caco);
      // Each row's battery ends where it ends: value the difference from the start (sim/results.ts).
      const stored = storedEnergyValue(actualSignals(result.inputs, fromMs, days * 48), days * 48, site);
      for (let i = 0; i < rows.length; i++) rows[i] = adjustForBattery(rows[i]!, stored, result.inputs.jobs, site);
      const table = formatTable(rows);
      console.log(`\nCACO simulation: ${config.site}, ${site.itCapacityKw.toLocaleString('en-GB')} kW IT, PUE ${site.pue}, ${site.battery.energyKwh.toLocaleString('en-GB')} kWh battery; ${o.from} + ${days} days; ${result.inputs.jobs.length.toLocaleString('en-GB')} jobs; seed ${o.seed}`);
      console.log(table);
      console.log(batteryNote(startSocKwh, stored));
      console.log(flexSummary(caco, days));
      console.log(`\nledger: ${result.audit.events.toLocaleString('en-GB')} events in ${result.audit.streams.toLocaleString('en-GB')} streams, ${result.audit.ok ? 'verified' : `BROKEN at ${result.audit.firstBroken ? describeBreak(result.audit.firstBroken) : 'the anchor'}`}`);
      console.log(`ledger head hash: ${result.audit.headHash}`);
      const cp = result.anchor.checkpoint;
      // The anchor file moves with the run folder; say where it ends up.
      const anchorAt = result.anchor.where.startsWith(workDir) ? join(finalDir, result.anchor.where.slice(workDir.length)) : result.anchor.where;
      if (cp) console.log(`anchor: head root ${cp.root} at position ${cp.position} (${cp.events.toLocaleString('en-GB')} events), checkpoint #${cp.seq} signed by ${cp.signer}, written to ${anchorAt}`);
      // keys.json beside the ledger is not signed: the anchor's key, kept apart, is what makes the anchor evidence.
      const anchorKey = result.stack.keyring.publicKey(ANCHOR_SIGNER);
      if (cp && anchorKey) console.log(`anchor key: ${ANCHOR_SIGNER} ${keyFingerprint(anchorKey)} (keep it, or the head root, apart from the run folder: caco audit verify --anchor-key ${keyFingerprint(anchorKey)})`);
      console.log(`wall time ${(result.wallMs / 1000).toFixed(1)} s, ${Math.round(result.events / (result.wallMs / 1000)).toLocaleString('en-GB')} events/s`);
      for (const n of result.notes) console.log(`note: ${n}`);
      await writeReport({ dir: workDir, run, store: result.runtime.store, rows, audit: result.audit, site, fromMs, days, seed: o.seed, jobs: result.inputs.jobs.length, wallMs: result.wallMs, ...(arrivalKw.length ? { baseline: { policy: 'run on arrival', startMs: fromMs, siteKw: Array.from(arrivalKw, (x) => x ?? 0) } } : {}) });
      await result.close();
      replaceFolder(workDir, finalDir);
      if (result.stack.store.kind === 'postgres') {
        // The ledger is in the database, in the run's own schema; keys and anchor are in the run's folder.
        console.log(`report: ${join(finalDir, 'report.html')} (and report.json); ledger: PostgreSQL schema ${(result.stack.store as { schema?: string }).schema ?? '?'} (site ${result.stack.site}); verify with: caco audit verify --store postgres --database-url <url> --site ${result.stack.site} --ledger ${join(finalDir, 'ledger.db')}`);
      } else if (config.store === 'jetstream' || config.store === 'kurrentdb') {
        // The ledger is on the server; the keys that sign it are in the run folder.
        console.log(`report: ${join(finalDir, 'report.html')} (and report.json); ledger: ${config.store === 'jetstream' ? 'JetStream' : 'KurrentDB'}, site ${result.stack.site}, its keys in ${join(finalDir, 'keys')}; verify with: caco audit verify --store ${config.store} --site ${result.stack.site} --ledger ${join(finalDir, 'ledger.db')} (--ledger names the run folder, for its keys)`);
      } else console.log(`report: ${join(finalDir, 'report.html')} (and report.json); ledger: ${join(finalDir, 'ledger.db')}`);
      if (!result.audit.ok) process.exitCode = 1;
    } catch (err) {
      await result.close().catch(() => undefined);
      if (existsSync(workDir)) rmSync(workDir, { recursive: true, force: true });
      throw err;
    } finally {
      lock.release();
    }
  });
}

function formatTable(rows: PolicyTotals[]): string {
  // energy £ and carbon t are what the meter bought; "adj." adds the battery's end state
  // valued (batteryNote); £/GPU-h is on the adjusted £, less flexibility earned.
  const head = ['', 'energy £', 'carbon t', 'gCO2/kWh', 'site MWh', 'flex MWh', 'flex £', 'SLA misses', 'end SoC kWh', 'adj. £', 'adj. t', '£/GPU-h'];
  const body = rows.map((r) => [
    r.policy,
    Math.round(r.energyCostGbp).toLocaleString('en-GB'),
    r.carbonT.toFixed(1),
    r.avgGPerKwh.toFixed(1),
    r.siteEnergyMwh.toFixed(0),
    r.flexDeliveredMwh.toFixed(1),
    Math.round(r.flexEarnedGbp).toLocaleString('en-GB'),
    String(r.slaMisses),
    r.finalSocKwh === undefined ? '—' : Math.round(r.finalSocKwh).toLocaleString('en-GB'),
    r.battery ? Math.round(r.battery.adjustedEnergyCostGbp).toLocaleString('en-GB') : '—',
    r.battery ? r.battery.adjustedCarbonT.toFixed(1) : '—',
    r.gbpPerGpuHour.toFixed(3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
