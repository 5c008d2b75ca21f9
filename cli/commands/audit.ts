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
        console.log(`replayed ${summary.events.toLocaleString('en-GB')} events in ${summary.ms.toFixed(0)} ms (${Math.round(summary.events / Math.max(summary.ms / 1000, 1e-9)).toLocaleString('en-GB')} events/s)`);
        for (const [type, n] of Object.entries(summary.byType)) console.log(`  ${type.padEnd(36)} ${n}`);
      }
    } finally {
      await stack.close();
    }
  });
  return audit;
}
