import { Command } from 'commander';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';
import { wholeNumber } from '../flag-values.ts';
import { DEFAULT_DOMAIN } from '../../beckn/index.ts';
import { redactNatsServers } from '../../core/config/index.ts';

interface RunFlags extends GlobalOptions {
  recorded?: boolean;
  init?: boolean;
  httpPort: string;
  httpHost: string;
  beckn: boolean;
  becknPort: string;
  becknHost: string;
  becknDomain: string;
  becknSigningKey?: string;
  becknKeyDirectory?: string;
}

/**
 * The message of a server's own listen on `port` that failed because the port is taken or
 * not allowed; undefined for anything else (a file the site could not open also says EACCES,
 * and is not the port's fault). Judged by the error's fields, which net.Server sets.
 */
export function listenRefused(err: unknown, port: number): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { port?: unknown };
  return e.syscall === 'listen' && (e.code === 'EADDRINUSE' || e.code === 'EACCES') && e.port === port ? err.message : undefined;
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run the site live on the wall clock: grid agent on live Carbon Intensity and Elexon data, compute agent planning submitted jobs (NATS + JetStream by default)')
    .option('--recorded', 'replay the recorded 2023 data as if current instead of calling the live APIs')
    .option('--init', 'start a new, empty ledger (JetStream, SQLite or PostgreSQL) where the checkpoints say one was lost (see docs/deployment-security.md)')
    .option('--http-port <port>', 'HTTP endpoint for jobs (POST /jobs, GET /jobs/:id) and operations (GET /metrics, GET /health); 0 to disable', '8080')
    .option('--http-host <host>', 'address the HTTP endpoint binds', '127.0.0.1')
    .option('--no-beckn', 'do not host the coordination agent (the Beckn flexibility market)')
    .option('--beckn-port <port>', 'port of the Beckn BPP over HTTP; 0 for NATS only', '8711')
    .option('--beckn-host <host>', 'address the Beckn BPP binds', '127.0.0.1')
    .option('--beckn-domain <code>', 'Beckn context.domain sold on (its NATS subjects are beckn.<domain>.<action>)', DEFAULT_DOMAIN)
    .option('--beckn-signing-key <file>', "the BPP's signing key (caco-beckn-signing-key/1); default <data-dir>/<site>/beckn/bpp.signing-key.json, made on first run")
    .option('--beckn-key-directory <file>', 'public keys of the BAPs allowed to trade (caco-beckn-keys/1); default <data-dir>/<site>/beckn/keys.json, made empty on first run');
  addGlobalOptions(cmd, { bus: 'nats', store: 'jetstream' });
  return cmd.action(async (o: RunFlags) => {
    const config = configFrom(o, { bus: 'nats', store: 'jetstream' });
    // Digits only (wholeNumber): Number() read "" as 0, so an unset $PORT in a template turned
    // the HTTP endpoint (and /health) off, and 0x1F90 or 8e3 as other ports (a helper's review).
    const port = wholeNumber('--http-port', o.httpPort, 0, 65535);
    const becknPort = wholeNumber('--beckn-port', o.becknPort, 0, 65535);
    if (o.beckn && becknPort === 0 && config.bus !== 'nats') throw new UsageError('--beckn-port 0 leaves the market no transport on the embedded bus: give a port, --bus nats, or --no-beckn');
    const [{ startLiveSite }, { startJobsHttp }, { siteBeckn }] = await Promise.all([import('../site-runtime.ts'), import('../jobs-http.ts'), import('../site-beckn.ts')]);
    const beckn = o.beckn
      ? siteBeckn({ dataDir: config.dataDir, site: config.site, port: becknPort, host: o.becknHost, domain: o.becknDomain, ...(o.becknSigningKey ? { signingKey: o.becknSigningKey } : {}), ...(o.becknKeyDirectory ? { keyDirectory: o.becknKeyDirectory } : {}) })
      : undefined;
    const site = await startLiveSite(config, { recorded: Boolean(o.recorded), init: Boolean(o.init), ...(beckn ? { market: beckn.market } : {}) }).catch((err: unknown) => {
      const refused = beckn ? listenRefused(err, becknPort) : undefined;
      if (refused) throw new UsageError(`--beckn-port ${becknPort}: ${refused}; choose another port or --beckn-port 0`);
      throw err;
    });
    let http: Awaited<ReturnType<typeof startJobsHttp>> | undefined;
    try {
      if (port > 0) http = await startJobsHttp(site.runtime, site.runtime.store, port, o.httpHost, { limits: site.limits.commandLimits, rateLimit: site.limits.httpRate ?? false, metrics: site.metrics });
    } catch (err) {
      await site.stop();
      const refused = listenRefused(err, port);
      throw refused ? new UsageError(`--http-port ${port}: ${refused}; choose another port or --http-port 0`) : err;
    }
    console.log(`caco run: site ${config.site} on bus ${config.bus}, store ${config.store}${config.bus === 'nats' || config.store === 'jetstream' ? ` (${redactNatsServers(config.natsUrl)})` : ''}`);
    for (const n of site.notes) console.log(`  ${n}`);
    for (const n of beckn?.notes(site.agents.marketOverNats) ?? ['beckn: no coordination agent (--no-beckn)']) console.log(`  ${n}`);
    if (http) console.log(`  operations: GET http://${o.httpHost}:${port}/metrics (Prometheus), GET /health (503 when a subscription or the relay is dead, an agent's appends are refused, or the ledger does not match its anchor)`);
    // The in-process bus cannot be reached from another process: caco submit and NATS requests
    // only work with --bus nats, so only the HTTP route is offered then.
    if (config.bus === 'nats') console.log(`  submit jobs: NATS request to caco.${config.site}.cmd.compute.submit${http ? `, or POST http://${o.httpHost}:${port}/jobs` : ''}, signed by a registered key (caco submit; docs/identity.md); Ctrl-C to stop`);
    else console.log(`  submit jobs: ${http ? `POST http://${o.httpHost}:${port}/jobs, signed by a registered key (docs/identity.md)` : 'no route (the HTTP endpoint is off: give --http-port)'}; caco submit needs --bus nats; Ctrl-C to stop`);
    // A ledger reader that gave up (see Runtime.health) must not leave a site that runs on
    // without acting on its ledger: the process stops with exit code 1 for a supervisor to see.
    const why = await new Promise<'signal' | 'unhealthy'>((resolve) => {
      const stop = () => resolve('signal');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const watch = setInterval(() => {
        if (site.runtime.readerHealth().ok) return;
        clearInterval(watch);
        resolve('unhealthy');
      }, 2000);
      watch.unref();
    });
    if (why === 'unhealthy') {
      for (const r of site.runtime.readerHealth().readers.filter((x) => x.state === 'failed')) console.error(`caco run: ledger reader ${r.name} gave up at position ${r.position}: ${r.error ?? 'unknown error'}`);
      console.error('caco run: stopping with exit code 1 (see the log above)');
      process.exitCode = 1;
    }
    console.log('stopping: finishing the inputs in hand and writing checkpoints…');
    await http?.close();
    await site.stop();
  });
}
