import { Command } from 'commander';
import { openStack } from '../../core/stack/index.ts';
import { ConfigError } from '../../core/errors/index.ts';
import { fleetView, type SiteTotals } from '../../projections/fleet/index.ts';
import { replayLedger, type ReplaySummary } from '../replay.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';

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

export function fleetCommand(): Command {
  return addGlobalOptions(
    new Command('fleet')
      .description("every site's ledger on one cluster side by side: cost, carbon and flexibility per site and in total")
      .requiredOption('--sites <names>', 'comma-separated site names, each with its own ledger (stream CACO_<SITE> on NATS, <data-dir>/<site>/ledger.db on SQLite)')
      .option('--json', 'print the fleet view as JSON'),
    { store: 'jetstream' },
  ).action(async (o: GlobalOptions & { sites: string; json?: boolean }) => {
    const names = o.sites
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 0) throw new ConfigError('--sites', 'name at least one site, e.g. --sites london,manchester');
    for (const n of names) if (!SITE_TOKEN.test(n)) throw new ConfigError('--sites', `"${n}" is not a site name (lower-case letters, digits, "-" and "_")`);
    const config = configFrom(o, { store: 'jetstream' });
    const rows: SiteTotals[] = [];
    for (const site of names) {
      // Read-only: a mistyped site is an error, and nothing is created.
      // On SQLite the site names the folder; on NATS it names the stream.
      if (config.store === 'sqlite' && !/^[a-z][a-z0-9-]{0,31}$/.test(site)) throw new ConfigError('--sites', `"${site}" is not a site name; use lower-case letters, digits and "-", starting with a letter`);
      const stack = await openStack({ ...config, site: config.store === 'sqlite' ? site : config.site }, { mustExist: true, natsSite: site });
      try {
        rows.push(siteTotals(site, await replayLedger(stack.store)));
      } finally {
        await stack.close();
      }
    }
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
