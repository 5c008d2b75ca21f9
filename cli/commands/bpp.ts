import { Command } from 'commander';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';
import { startLiveSite } from '../site-runtime.ts';
import { startJobsHttp } from '../jobs-http.ts';
import { startObservabilityHttp } from '../../core/observability/index.ts';
import { DEFAULT_DOMAIN, FileKeyDirectory, loadSigningKeyFile, newSigningIdentity } from '../../beckn/index.ts';
import { bapBudgetFromEnv, type BecknHttpServer } from '../../agents/coordination/index.ts';
import { submitSyntheticJobs } from '../synthetic-jobs.ts';
import { numberBetween, wholeNumber } from '../flag-values.ts';

interface BppFlags extends GlobalOptions {
  signingKey?: string;
  keyDirectory?: string;
  port: string;
  host: string;
  publicUri?: string;
  recorded?: boolean;
  init?: boolean;
  domain: string;
  margin: string;
  sellShare: string;
  syntheticJobs: string;
  jobsPort: string;
  metricsPort: string;
  seed: string;
}

export function bppCommand(): Command {
  const cmd = new Command('bpp')
    .description('run the site as a Beckn BPP on the wall clock (grid, compute and coordination agents): an outside BAP discovers, buys and is paid for flexibility over signed HTTP — see docs/market.md')
    .option('--signing-key <file>', "this BPP's signing key file (format caco-beckn-signing-key/1, docs/beckn.md); `caco bpp keygen` makes one")
    .option('--key-directory <file>', 'public keys of the BAPs allowed to trade (format caco-beckn-keys/1)')
    .option('--port <port>', 'port the BPP listens on', '8711')
    .option('--host <host>', 'address the BPP binds', '127.0.0.1')
    .option('--public-uri <uri>', 'bpp_uri sent in callbacks, the base of POST <uri>/<action> (default http://<host>:<port>/beckn)')
    .option('--recorded', 'replay the recorded 2023 grid data as if current instead of calling the live APIs')
    .option('--init', 'start a new, empty ledger (JetStream, SQLite or PostgreSQL) where the checkpoints say one was lost (see docs/deployment-security.md)')
    .option('--domain <code>', 'Beckn context.domain served', DEFAULT_DOMAIN)
    .option('--margin <gbp-per-mwh>', '£/MWh added to the marginal cost of shedding load', '30')
    .option('--sell-share <fraction>', 'share of the sheddable load put on sale', '0.5')
    .option('--synthetic-jobs <per-day>', 'also submit a generated workload of this many deferrable jobs a day (0: jobs come only over NATS or --jobs-port)', '0')
    .option('--jobs-port <port>', 'HTTP endpoint for jobs (POST /jobs), also serving GET /metrics and GET /health; 0 to disable', '0')
    .option('--metrics-port <port>', 'HTTP endpoint for operations only (GET /metrics, GET /health); 0 to disable', '9464')
    .option('--seed <seed>', 'seed of the synthetic workload', 'bpp');
  addGlobalOptions(cmd);
  cmd.addCommand(keygenCommand());
  return cmd.action(async (o: BppFlags) => {
    if (!o.signingKey) throw new UsageError('--signing-key <file> is required: the BPP signs every callback (make one with `caco bpp keygen <subscriber-id> --out <dir>`)');
    if (!o.keyDirectory) throw new UsageError('--key-directory <file> is required: it lists the public keys of the BAPs allowed to trade (format caco-beckn-keys/1)');
    for (const [flag, f] of [['--signing-key', o.signingKey], ['--key-directory', o.keyDirectory]] as const) if (!existsSync(f)) throw new UsageError(`${flag}: file ${f} does not exist`);
    const port = wholeNumber('--port', o.port, 1, 65535);
    const jobsPort = wholeNumber('--jobs-port', o.jobsPort, 0, 65535);
    const metricsPort = wholeNumber('--metrics-port', o.metricsPort, 0, 65535);
    const margin = numberBetween('--margin', o.margin, -1000, 10_000);
    const sellShare = numberBetween('--sell-share', o.sellShare, 0.01, 1);
    const syntheticJobs = wholeNumber('--synthetic-jobs', o.syntheticJobs, 0, 100_000);
    const signingKey = loadSigningKeyFile(o.signingKey);
    const keyDirectory = new FileKeyDirectory(o.keyDirectory);
    const uri = o.publicUri ?? `http://${o.host}:${port}/beckn`;
    try {
      new URL(uri);
    } catch {
      throw new UsageError(`--public-uri: "${uri}" is not a URL like http://bpp.example.org/beckn`);
    }
    const config = configFrom(o);
    let server: BecknHttpServer | undefined;
    const site = await startLiveSite(config, {
      recorded: Boolean(o.recorded),
      init: Boolean(o.init),
      market: {
        kind: 'bpp',
        // HTTP only: `caco run` is the site that also sells over Beckn on NATS.
        overNats: false,
        coordination: {
          signingKey,
          keyDirectory,
          listen: { host: o.host, port },
          onListening: (s) => (server = s),
          config: { bpp: { id: signingKey.subscriberId, uri }, domain: o.domain, marginGbpPerMwh: margin, sellShare, bapBudget: bapBudgetFromEnv(), support: { email: `flex-desk@${signingKey.subscriberId.includes('.') ? signingKey.subscriberId : 'caco.local'}`, url: `${uri.replace(/\/+$/, '')}/support` } },
        },
      },
    }).catch((err: unknown) => {
      const msg = err instanceof Error ? err.message : String(err);
      if (/EADDRINUSE|EACCES/.test(msg)) throw new UsageError(`--port ${port}: ${msg}; choose another port`);
      throw err;
    });
    let jobsHttp: Awaited<ReturnType<typeof startJobsHttp>> | undefined;
    try {
      if (jobsPort > 0) jobsHttp = await startJobsHttp(site.runtime, site.runtime.store, jobsPort, o.host, { limits: site.limits.commandLimits, rateLimit: site.limits.httpRate ?? false, metrics: site.metrics });
    } catch (err) {
      await site.stop();
      throw new UsageError(`--jobs-port ${jobsPort}: ${(err as Error).message}; choose another port or 0`);
    }
    let opsHttp: Awaited<ReturnType<typeof startObservabilityHttp>> | undefined;
    try {
      if (metricsPort > 0) opsHttp = await startObservabilityHttp(metricsPort, o.host, { metrics: site.metrics, health: () => site.runtime.health() });
    } catch (err) {
      await jobsHttp?.close();
      await site.stop();
      throw new UsageError(`--metrics-port ${metricsPort}: ${(err as Error).message}; choose another port or 0`);
    }
    const stopJobs = syntheticJobs > 0 ? submitSyntheticJobs(site.runtime, syntheticJobs, o.seed, (s) => process.stderr.write(`${s}\n`)) : () => undefined;
    console.log(`caco bpp: ${signingKey.subscriberId} (key ${signingKey.uniqueKeyId}) serving ${o.domain} at ${uri}`);
    console.log(`  listening on ${server?.origin ?? `${o.host}:${port}`}: POST /search /select /init /confirm /status /update /cancel /rating /support (also under ${new URL(uri).pathname})`);
    console.log(`  callbacks are signed and POSTed to each request's bap_uri, only at the url registered with the BAP's key; BAP keys from ${resolve(o.keyDirectory)} (re-read when it changes)`);
    for (const n of site.notes) console.log(`  ${n}`);
    if (syntheticJobs > 0) console.log(`  submitting a generated workload of ${syntheticJobs} deferrable jobs a day`);
    if (jobsHttp) console.log(`  jobs: POST http://${o.host}:${jobsPort}/jobs`);
    if (opsHttp) console.log(`  operations: GET http://${o.host}:${metricsPort}/metrics (Prometheus), GET /health (503 when a subscription or the relay is dead)`);
    console.log('  Ctrl-C to stop');
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    console.log('stopping: finishing the requests in hand and writing checkpoints…');
    stopJobs();
    await jobsHttp?.close();
    await opsHttp?.close();
    await site.stop();
  });
}

/** `caco bpp keygen <subscriber-id> --out <dir>`: a signing key file and the entry the other side needs. */
function keygenCommand(): Command {
  return new Command('keygen')
    .description('make a signing key file for a Beckn participant and the key directory entry to hand to the other side')
    .argument('<subscriber-id>', 'the participant id, e.g. dc-london-01.example.com')
    .option('--key-id <id>', 'unique key id (keyId second part)', 'k1')
    .option('--url <uri>', "where this participant takes Beckn calls (its bap_uri or bpp_uri); a BPP sends a BAP's callbacks only to this address's origin")
    .option('--out <dir>', 'folder to write <subscriber-id>.signing-key.json and <subscriber-id>.keys.json', '.')
    .action((subscriberId: string, o: { keyId: string; out: string; url?: string }) => {
      if (!/^[^"|\\\s]+$/.test(subscriberId)) throw new UsageError(`subscriber id "${subscriberId}" must have no quotes, "|", "\\" or spaces`);
      if (o.url !== undefined && !/^https?:\/\/[^\s/]/.test(o.url)) throw new UsageError(`--url: "${o.url}" is not an http(s) URL like https://bap.example.org/beckn`);
      const { signingKeyFile, directoryEntry } = newSigningIdentity(subscriberId, o.keyId, o.url);
      mkdirSync(o.out, { recursive: true });
      const keyPath = join(o.out, `${subscriberId}.signing-key.json`);
      const dirPath = join(o.out, `${subscriberId}.keys.json`);
      try {
        // Exclusive: never over a key that is there, even one another keygen made a moment ago.
        writeFileSync(keyPath, `${JSON.stringify(signingKeyFile, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${keyPath} exists; remove it or choose another --out`);
        throw e;
      }
      chmodSync(keyPath, 0o600);
      writeFileSync(dirPath, `${JSON.stringify({ format: 'caco-beckn-keys/1', keys: [directoryEntry] }, null, 2)}\n`);
      console.log(`signing key (keep private): ${keyPath}\nkey directory with its public key (give to the other side): ${dirPath}`);
      if (o.url === undefined) console.log('no --url: add "url" (where this participant takes callbacks) to the entry before a BPP will call it back');
    });
}
