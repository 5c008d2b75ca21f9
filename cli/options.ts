import { Command, Option } from 'commander';
import { loadConfig, type CacoConfig } from '../core/config/index.ts';

/** The options every command shares; they override the config file and the environment. */
export interface GlobalOptions {
  config?: string;
  site?: string;
  bus?: string;
  store?: string;
  natsUrl?: string;
  replicas?: string;
  dataDir?: string;
  logLevel?: string;
  creds?: string;
  databaseUrl?: string;
  kurrentdbUrl?: string;
}

export function addGlobalOptions(cmd: Command, defaults: Partial<Record<'bus' | 'store', string>> = {}): Command {
  return cmd
    .option('--config <file>', 'JSON config file (also CACO_CONFIG)')
    .option('--site <name>', 'site name (also CACO_SITE; default london)')
    .addOption(new Option('--bus <kind>', `message bus (also CACO_BUS; default ${defaults.bus ?? 'memory'})`).choices(['memory', 'nats']))
    .addOption(new Option('--store <kind>', `event store (also CACO_STORE; default ${defaults.store ?? 'sqlite'})`).choices(['sqlite', 'jetstream', 'postgres', 'kurrentdb']))
    .option('--kurrentdb-url <url>', 'KurrentDB connection string for --store kurrentdb (also CACO_KURRENTDB_URL), e.g. kurrentdb://127.0.0.1:2113?tls=false')
    .option('--nats-url <url>', 'NATS server URL (also NATS_URL; default nats://127.0.0.1:4222)')
    .option('--replicas <n>', 'JetStream replicas of the ledger: 1, or 3/5 on a cluster (also CACO_REPLICAS; default 1)')
    .option('--creds <file>', 'NATS user credentials (also NATS_CREDS): a seed file from `caco nats creds` or a JWT .creds file')
    .option('--database-url <url>', 'PostgreSQL URL for --store postgres (also CACO_DATABASE_URL), e.g. postgres://root@127.0.0.1:5432/test')
    .option('--data-dir <dir>', 'folder for the SQLite ledger and keys (also CACO_DATA_DIR; default ./var)')
    .option('--log-level <level>', 'log level (also LOG_LEVEL; default warn)');
}

export function configFrom(o: GlobalOptions, defaults: Partial<Record<'bus' | 'store', string>> = {}): CacoConfig {
  const env = { ...process.env };
  if (defaults.bus && !env['CACO_BUS'] && !o.bus) env['CACO_BUS'] = defaults.bus;
  if (defaults.store && !env['CACO_STORE'] && !o.store) env['CACO_STORE'] = defaults.store;
  return loadConfig({
    env,
    ...(o.config ? { file: o.config } : {}),
    overrides: { site: o.site, bus: o.bus, store: o.store, natsUrl: o.natsUrl, replicas: o.replicas, dataDir: o.dataDir, logLevel: o.logLevel, natsCreds: o.creds, databaseUrl: o.databaseUrl, kurrentdbUrl: o.kurrentdbUrl },
  });
}
