import { Command } from 'commander';
import { openStack } from '../../core/stack/index.ts';
import { ConfigError } from '../../core/errors/index.ts';
import { fleetView, type SiteTotals } from '../../projections/fleet/index.ts';
import { join } from 'node:path';
import { replayLedger, type ReplaySummary } from '../replay.ts';
import { replayVerified, refusedLine } from '../verified-replay.ts';
import { inert } from '../terminal.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { SITE_NAME } from '../../core/config/index.ts';

/** One site's ledger folded to the totals the fleet adds up. */
export function siteTotals(site: string, r: ReplaySummary): SiteTotals {
  return {
    site,
    events: r.events,
    headHash: r.audit.headHash,
    importMwh: r.cost.importMwh,
    costGbp: r.cost.costGbp,
    carbonKg: r.carbon.carbonKg,
    flexOrders: r.flexibility.orders,
    flexDeliveredMwh: r.flexibility.deliveredMwh,
    flexContractedMwh: r.flexibility.contractedSettledMwh,
    flexNetGbp: r.flexibility.netGbp,
  };
}

const SITE_TOKEN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const siteKeysDir = (dataDir: string, site: string) => join(dataDir, site, 'keys');

export function fleetCommand(): Command {
  return addGlobalOptions(
    new Command('fleet')
      .description("every site's ledger on one cluster side by side: cost, carbon and flexibility per site and in total")
      .requiredOption('--sites <names>', 'comma-separated site names, each with its own ledger (stream CACO_<SITE> on NATS, <data-dir>/<site>/ledger.db on SQLite)')
      .option('--json', 'print the fleet view as JSON')
      .option('--no-verify', "add up each ledger as stored, without verify-on-read (when this host does not hold the sites' keys); says so on stderr"),
    { store: 'jetstream' },
  ).action(async (o: GlobalOptions & { sites: string; json?: boolean; verify: boolean }) => {
    const names = o.sites
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 0) throw new ConfigError('--sites', 'name at least one site, e.g. --sites london,manchester');
    for (const n of names) if (!SITE_TOKEN.test(n)) throw new ConfigError('--sites', `"${n}" is not a site name (lower-case letters, digits, "-" and "_")`);
    // Before any ledger is read: the fleet view refuses a site listed twice only after reading them all.
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new ConfigError('--sites', `"${twice}" is listed twice; a fleet counts each site's ledger once`);
    const config = configFrom(o, { store: 'jetstream' });
    const rows: SiteTotals[] = [];
    const refusals: string[] = [];
    for (const site of names) {
      // Read-only: a mistyped site is an error, and nothing is created.
      // On SQLite the site names the folder; on NATS it names the stream.
      if (config.store === 'sqlite' && !SITE_NAME.test(site)) throw new ConfigError('--sites', `"${site}" is not a site name; use lower-case letters, digits and "-", starting with a letter`);
      // Each site's keys are read from <data-dir>/<site>/keys, whatever holds its ledger (a
      // stream's name that is not a site name too), and the site names the SQLite folder.
      const stack = await openStack({ ...config, site: SITE_NAME.test(site) ? site : config.site }, { mustExist: true, natsSite: site, keysDir: siteKeysDir(config.dataDir, site) });
      try {
        if (!o.verify) {
          rows.push(siteTotals(site, await replayLedger(stack.store)));
          continue;
        }
        // Verified as the site's own readers read it: an edited or forged row (an import
        // of a million kWh, say) is left out and named, never added into the fleet's totals.
        // Each refused event is not logged (a site without its keys here would log them all): the
        // line below counts them and names the first.
        const r = await replayVerified(stack, 'error');
        rows.push(siteTotals(site, r.summary));
        // caco audit verify reads only a ledger whose name --site takes: no hint for another.
        const line = refusedLine(r, SITE_NAME.test(site) ? `caco audit verify --site ${site} names them` : '');
        if (line) refusals.push(`${site}: ${line}${r.summary.events === 0 ? ` (none verified: are ${site}'s keys in ${siteKeysDir(config.dataDir, site)}? --no-verify adds up the ledger as stored)` : ''}`);
      } finally {
        await stack.close();
      }
    }
    if (!o.verify) process.stderr.write(`caco: not verified (--no-verify): the totals add up each ledger as stored, edited rows included\n`);
    for (const r of refusals) process.stderr.write(`caco: ${inert(r)}\n`);
    // The totals leave refused events out: not a clean result.
    if (refusals.length > 0) process.exitCode = 1;
    const view = fleetView(rows);
    if (o.json) {
      console.log(JSON.stringify(view, null, 2));
      return;
    }
    const n = (x: number, d = 0) => x.toLocaleString('en-GB', { maximumFractionDigits: d, minimumFractionDigits: d });
    const line = (name: string, t: { events: number; importMwh: number; costGbp: number; carbonKg: number; flexDeliveredMwh: number; flexContractedMwh: number; flexNetGbp: number }) =>
      `${name.padEnd(28)} ${n(t.events).padStart(9)} ${n(t.importMwh, 1).padStart(10)} ${('£' + n(t.costGbp)).padStart(11)} ${n(t.carbonKg / 1000, 1).padStart(9)} ${`${n(t.flexDeliveredMwh, 2)}/${n(t.flexContractedMwh, 2)}`.padStart(13)} ${('£' + n(t.flexNetGbp, 2)).padStart(10)}`;
    console.log(`${'site'.padEnd(28)} ${'events'.padStart(9)} ${'MWh'.padStart(10)} ${'energy £'.padStart(11)} ${'tCO2'.padStart(9)} ${'flex MWh'.padStart(13)} ${'flex net'.padStart(10)}`);
    for (const s of view.sites) console.log(line(s.site, s));
    console.log(line(`total (${view.total.sites} sites)`, view.total));
    const ratio = view.total.flexDeliveryRatio;
    console.log(`fleet: ${n(view.total.avgGPerKwh, 1)} gCO2/kWh, £${n(view.total.avgPriceGbpPerMwh, 1)}/MWh${ratio === null ? '' : `, flexibility delivered ${n(ratio * 100, 1)} % of contracted`}`);
  });
}
