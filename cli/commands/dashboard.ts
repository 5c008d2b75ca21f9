import { Command } from 'commander';
import { openStack } from '../../core/stack/index.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';

interface DashboardFlags extends GlobalOptions {
  ledger?: string;
  port: string;
  host: string;
}

export function dashboardCommand(): Command {
  const cmd = new Command('dashboard')
    .description('serve a local web page with the live projections (plan, forecast, flexibility, settlement, ledger verification), updated as events arrive')
    .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
    .option('--port <n>', 'port to listen on', '8080')
    .option('--host <addr>', 'address to bind (the page has no login: keep it local)', '127.0.0.1');
  addGlobalOptions(cmd);
  return cmd.action(async (o: DashboardFlags) => {
    const { startDashboard } = await import('../../dashboard/index.ts');
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: "${o.port}" must be a whole number from 0 to 65535`);
    const config = configFrom(o);
    const stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    let dash;
    try {
      dash = await startDashboard({ store: stack.store, keys: stack.keyring, host: o.host, port });
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
