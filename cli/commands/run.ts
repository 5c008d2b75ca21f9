import { Command } from 'commander';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run the site live on the wall clock: grid agent on live Carbon Intensity and Elexon data, compute agent planning submitted jobs (NATS + JetStream by default)')
    .option('--recorded', 'replay the recorded 2023 data as if current instead of calling the live APIs')
    .option('--init', 'start a new, empty JetStream ledger where the checkpoints say one was lost (see docs/deployment-security.md)')
    .option('--http-port <port>', 'HTTP endpoint for jobs (POST /jobs, GET /jobs/:id); 0 to disable', '8080')
    .option('--http-host <host>', 'address the HTTP endpoint binds', '127.0.0.1');
  addGlobalOptions(cmd, { bus: 'nats', store: 'jetstream' });
  return cmd.action(async (o: GlobalOptions & { recorded?: boolean; init?: boolean; httpPort: string; httpHost: string }) => {
    const config = configFrom(o, { bus: 'nats', store: 'jetstream' });
    const port = Number(o.httpPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--http-port: "${o.httpPort}" is not a port number (0 to disable)`);
    const [{ startLiveSite }, { startJobsHttp }] = await Promise.all([import('../site-runtime.ts'), import('../jobs-http.ts')]);
    const site = await startLiveSite(config, { recorded: Boolean(o.recorded), init: Boolean(o.init) });
    let http: Awaited<ReturnType<typeof startJobsHttp>> | undefined;
    try {
      if (port > 0) http = await startJobsHttp(site.runtime, site.stack.store, port, o.httpHost, { limits: site.limits.commandLimits, rateLimit: site.limits.httpRate ?? false });
    } catch (err) {
      await site.stop();
      throw new UsageError(`--http-port ${port}: ${(err as Error).message}; choose another port or --http-port 0`);
    }
    console.log(`caco run: site ${config.site} on bus ${config.bus}, store ${config.store}${config.bus === 'nats' || config.store === 'jetstream' ? ` (${config.natsUrl})` : ''}`);
    for (const n of site.notes) console.log(`  ${n}`);
    console.log(`  submit jobs: NATS request to caco.${config.site}.cmd.compute.submit${http ? `, or POST http://${o.httpHost}:${port}/jobs` : ''}, signed by a registered key (caco submit; docs/identity.md); Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    console.log('stopping: finishing the inputs in hand and writing checkpoints…');
    await http?.close();
    await site.stop();
  });
}
