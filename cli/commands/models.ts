import { Command } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { folderToWrite } from '../flag-values.ts';
import { parseIsoUtc } from '../../data/index.ts';

const HH = 30 * 60 * 1000;

/**
 * `caco models retrain --until <date>`: recalibrate the forecasters from data up to a cut-off.
 *
 * What is cheap is redone: the online ensemble's calibration (member weights, median bias,
 * conformal P10/P90 offsets per lead bucket) is fitted on the 28 days before the cut-off and
 * written with a model card naming the cut-off. The LSTM weights are NOT retrained here: that
 * takes 15–25 CPU-minutes with PyTorch (`npm run models:train`, fixed split); the ensemble
 * already re-weights the LSTM against the baselines from recent errors.
 */
export function modelsCommand(): Command {
  const cmd = new Command('models').description('forecasting models: recalibrate from recent data');
  cmd
    .command('retrain')
    .description(
      'recalibrate the carbon and price ensembles (weights, bias correction, conformal P10/P90) using only data before --until, and write models/ensemble/<signal>-fit.json with a model card noting the cut-off. The LSTM networks themselves are not retrained (too heavy for a site box: `npm run models:train`, ~20 CPU-min); the online ensemble re-weights them every 3 h anyway.',
    )
    .requiredOption('--until <date>', 'cut-off (UTC), e.g. 2023-07-01 or 2023-07-01T12:00Z: nothing at or after it is read')
    .option('--carbon <csv>', 'carbon intensity CSV (default: the project copy)')
    .option('--prices <csv>', 'price CSV (default: the project copy)')
    .option('--out <dir>', 'output folder (default: models/ensemble)')
    .action(async (o: { until: string; carbon?: string; prices?: string; out?: string }) => {
      // parseIsoUtc, not Date.parse: a time without a zone was read in the machine's zone (four
      // hours of data past the cut-off in New York) and 2023-06-31 became 1 July.
      const untilMs = parseIsoUtc(/^\d{4}-\d{2}-\d{2}$/.test(o.until) ? `${o.until}T00:00:00Z` : o.until);
      if (untilMs === null || untilMs % HH !== 0) throw new UsageError(`--until: "${o.until}" is not a date or a half-hour instant in UTC like 2023-07-01 or 2023-07-01T12:30Z (with its Z)`);
      const [{ toHalfHourSeries }, { checkInputFile, loadCarbonFile, loadPriceFile }, models, grid] = await Promise.all([import('../../data/index.ts'), import('../../sim/inputs.ts'), import('../../models/index.ts'), import('../../agents/grid/index.ts')]);
      // Both files before the first fit; what the loaders refuse later names the flag too, as in simulate.
      for (const [flag, f] of [['--carbon', o.carbon], ['--prices', o.prices]] as const) if (f !== undefined) checkInputFile(flag, f);
      const out = o.out ?? models.ENSEMBLE_DIR;
      // Before the fits, not after: an --out that is a file failed with EEXIST once all was done.
      folderToWrite('--out', out);
      const card: string[] = [];
      // Both fits and the card are one calibration: all are made before any file is replaced.
      const files: Array<[string, string]> = [];
      for (const signal of ['carbon', 'price'] as const) {
        const fromMs = untilMs - grid.HISTORY_SLOTS * HH;
        // Actuals only, and only before the cut-off (toHalfHourSeries drops rows at or after untilMs).
        const values =
          signal === 'carbon'
            ? toHalfHourSeries(loadCarbonFile(o.carbon).rows, 'actualGPerKwh', fromMs, untilMs)
            : toHalfHourSeries(loadPriceFile(o.prices).rows, 'marketIndexGbpPerMwh', fromMs, untilMs);
        const valid = values.filter(Number.isFinite).length;
        if (valid < 14 * 48) throw new UsageError(`--until ${o.until}: only ${valid} ${signal} half-hours in the ${grid.HISTORY_SLOTS} before it; pick a cut-off inside the data`);
        const lstm = await (signal === 'carbon' ? models.loadCarbonForecaster() : models.loadPriceForecaster());
        const trainedTo = validationEnd(lstm.spec);
        const cleanFrom = Date.parse(trainedTo ?? '');
        // An LSTM whose training data reach past the cut-off would leak the future into the fit: leave it out.
        const useModel = Number.isFinite(cleanFrom) && cleanFrom <= untilMs;
        const f = new grid.EnsembleSeriesForecaster({ signal, ...(useModel ? { model: grid.lstmSeriesForecaster(lstm) } : {}) });
        const fit = await f.fitFor({ fromMs, values: Array.from(values, (v) => (Number.isFinite(v) ? v : null)) }, untilMs);
        const doc = { signal, atMs: fit.atMs, until: new Date(untilMs).toISOString(), members: fit.members, buckets: fit.buckets, modelVersion: f.describe, writtenBy: 'caco models retrain' };
        files.push([models.ensembleFitPath(signal, out), `${JSON.stringify(doc, null, 2)}\n`]);
        const b24 = fit.buckets[Math.floor(47 / f.options.leadsPerBucket)];
        card.push(
          `| ${signal} | ${f.describe} | ${useModel ? 'LSTM + baselines' : `baselines only (the LSTM's data run to ${trainedTo ?? '?'}, after the cut-off)`} | ${b24 ? fit.members.map((m, i) => `${m} ${b24.weights[i]!.toFixed(2)}`).join(', ') : '—'} | ${b24 ? `${b24.bias.toFixed(1)}; [${b24.lo.toFixed(1)}, +${b24.hi.toFixed(1)}]` : '—'} |`,
        );
        console.log(`${signal}: fitted ${fit.buckets.filter(Boolean).length}/${fit.buckets.length} buckets`);
      }
      files.push([
        `${out}/MODEL_CARD.md`,
        [
          '# caco ensemble calibration (written by `caco models retrain`)',
          '',
          `**Cut-off: ${new Date(untilMs).toISOString()}.** Only half-hours that ended before it were read (actual intensity and market index; never the archive's forecast column).`,
          '',
          'What was refitted: the online ensemble\'s member weights (simplex least squares), median bias (off by default) and split-conformal P10/P90 offsets, per 2 h lead bucket, on the 28 days before the cut-off. **What was not:** the LSTM networks (`npm run models:train` retrains them on a fixed split; ~20 CPU-minutes). The grid agent refits all of this online every 3 h; these files are used only where its window is still short (e.g. a site starting with little history), and only for forecasts made after the cut-off.',
          '',
          '| signal | ensemble | members | weights at 24 h | bias; band at 24 h |',
          '|---|---|---|---|---|',
          ...card,
          '',
        ].join('\n'),
      ]);
      mkdirSync(out, { recursive: true });
      // Each file is written aside and renamed over the old one: a reader never sees half of one.
      for (const [path, text] of files) writeFileSync(`${path}.tmp`, text);
      for (const [path] of files) {
        renameSync(`${path}.tmp`, path);
        console.log(`wrote ${path}`);
      }
    });
  return cmd;
}

/** The end of the months a model was validated on, if its features.json says (`trainedOn.validation: [from, to]`). */
function validationEnd(spec: object): string | undefined {
  const trainedOn = 'trainedOn' in spec ? spec.trainedOn : undefined;
  const validation = typeof trainedOn === 'object' && trainedOn !== null && 'validation' in trainedOn ? trainedOn.validation : undefined;
  return Array.isArray(validation) && typeof validation[1] === 'string' ? validation[1] : undefined;
}
