import { Command } from 'commander';
import { openStack } from '../../core/stack.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { replayLedger } from '../replay.ts';

export function auditCommand(): Command {
  const audit = new Command('audit').description('check and replay the ledger');

  addGlobalOptions(
    audit
      .command('verify')
      .description('verify every stream: revisions, hash chain, hashes and signatures; exit 1 at the first broken link')
      .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
      .option('--json', 'print the report as JSON'),
  ).action(async (o: GlobalOptions & { json?: boolean; ledger?: string }) => {
    const config = configFrom(o);
    const stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    try {
      const report = await verifyLedger(stack.store, stack.keyring, (n) => process.stderr.write(`\rverified ${n.toLocaleString('en-GB')} events…`));
      process.stderr.write('\r');
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else if (report.ok) console.log(`ledger OK: ${report.events.toLocaleString('en-GB')} events in ${report.streams.toLocaleString('en-GB')} streams; head ${report.headHash}`);
      else {
        const b = report.firstBroken!;
        console.log(`ledger BROKEN: stream ${b.stream}, revision ${b.revision} (position ${b.position}): ${b.reason}`);
        if (report.broken.length > 1) console.log(`${report.broken.length - 1} more stream(s) broken; --json lists them`);
      }
      process.exitCode = report.ok ? 0 : 1;
    } finally {
      await stack.close();
    }
  });

  addGlobalOptions(
    audit
      .command('replay')
      .description('rebuild every projection from the ledger and print what it holds')
      .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
      .option('--json', 'print the projections as JSON'),
  ).action(async (o: GlobalOptions & { json?: boolean; ledger?: string }) => {
    const config = configFrom(o);
    const stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    try {
      const summary = await replayLedger(stack.store);
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else {
        const r = summary;
        const n = (x: number, d = 0) => x.toLocaleString('en-GB', { maximumFractionDigits: d, minimumFractionDigits: d });
        console.log(`replayed ${n(r.events)} events into every projection in ${n(r.ms)} ms (${n(r.events / Math.max(r.ms / 1000, 1e-9))} events/s)`);
        console.log(`schedule:    ${n(r.schedule.jobs)} jobs (${Object.entries(r.schedule.byStatus).map(([k, v]) => `${v} ${k}`).join(', ')}), ${r.schedule.rejected} rejected, ${r.schedule.deadlineMisses} deadline misses, ${n(r.schedule.plansPublished)} plans`);
        console.log(`energy:      ${n(r.cost.importMwh, 1)} MWh imported, £${n(r.cost.costGbp)} (£${n(r.cost.avgPriceGbpPerMwh, 1)}/MWh) over ${n(r.cost.periods)} half-hours`);
        console.log(`carbon:      ${n(r.carbon.carbonKg / 1000, 1)} tCO2, ${n(r.carbon.avgGPerKwh, 1)} gCO2/kWh`);
        console.log(`flexibility: ${r.flexibility.offers} offers, ${r.flexibility.orders} orders, ${n(r.flexibility.deliveredMwh, 2)} of ${n(r.flexibility.contractedSettledMwh, 2)} MWh delivered, £${n(r.flexibility.netGbp, 2)} net, ${r.flexibility.becknRejections} Beckn requests refused`);
        console.log(`ledger:      ${n(r.audit.streams)} streams, head ${r.audit.headHash}${r.audit.chainOk ? '' : ' (chain broken: run caco audit verify)'}`);
        for (const [type, count] of Object.entries(r.audit.byType)) console.log(`  ${type.padEnd(36)} ${count}`);
      }
    } finally {
      await stack.close();
    }
  });
  return audit;
}
