import { Command } from 'commander';
import { openStack } from '../../core/stack/index.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';
import { numberBetween, wholeNumber } from '../flag-values.ts';

interface DashboardFlags extends GlobalOptions {
  ledger?: string;
  port: string;
  host: string;
  settlementDays: string;
  maxStreams: string;
  explainPerSecond: string;
}

export function dashboardCommand(): Command {
  const cmd = new Command('dashboard')
    .description('serve a local web page with the live projections (plan, forecast, flexibility, settlement, ledger verification), updated as events arrive')
    .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
    .option('--port <n>', 'port to listen on', '8080')
    .option('--host <addr>', 'address to bind (the page has no login: keep it local)', '127.0.0.1')
    .option('--settlement-days <n>', 'days listed in the settlement table (the totals cover every day)', '14')
    .option('--max-streams <n>', 'live page connections served at once; past it a 503 with Retry-After', '64')
    .option('--explain-per-second <n>', "job explanations a client address may ask for a second (burst 5×; each reads the job's history); 0: no limit", '2');
  addGlobalOptions(cmd);
  return cmd.action(async (o: DashboardFlags) => {
    const { startDashboard } = await import('../../dashboard/index.ts');
    const port = wholeNumber('--port', o.port, 0, 65535);
    const settlementDays = wholeNumber('--settlement-days', o.settlementDays, 1, 3660);
    const maxStreams = wholeNumber('--max-streams', o.maxStreams, 1, 10_000);
    const explainPerSecond = numberBetween('--explain-per-second', o.explainPerSecond, 0, 1000);
    const config = configFrom(o);
    const stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    let dash;
    try {
      dash = await startDashboard({ store: stack.store, keys: stack.keyring, host: o.host, port, view: { settlementDays }, maxStreams, explainRate: explainPerSecond === 0 ? false : { perSecond: explainPerSecond, burst: Math.max(1, Math.ceil(explainPerSecond * 5)) } });
    } catch (err) {
      await stack.close();
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${o.host} is in use; choose another with --port (or stop what is using it)`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host ${o.host}: not an address of this machine; use 127.0.0.1`);
      throw err;
    }
    console.log(`CACO dashboard on ${dash.url} (${stack.store.kind} ledger, ${dash.view().audit.events.toLocaleString('en-GB')} events); Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await dash.close();
    await stack.close();
  });
}
