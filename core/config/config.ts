import { existsSync } from 'node:fs';
import { ConfigError } from '../errors/errors.ts';
import { checkDatabaseUrl } from '../store/postgres-url.ts';
import { readBoundedText } from '../files/read-bounded.ts';
import { redactNatsServers, redactUrl } from './redact.ts';

/** A config file is a few dozen settings. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The runtime's one typed configuration. */
export interface CacoConfig {
  readonly bus: 'memory' | 'nats';
  readonly store: 'sqlite' | 'jetstream' | 'postgres' | 'kurrentdb';
  readonly natsUrl: string;
  /** KurrentDB connection string, for `store: 'kurrentdb'` (e.g. kurrentdb://127.0.0.1:2113?tls=false). */
  readonly kurrentdbUrl?: string;
  /** JetStream replicas of the ledger stream and its buckets (1, or 3/5 on a cluster). */
  readonly replicas: number;
  readonly site: string;
  /** Folder for the SQLite ledger, keys and checkpoints. */
  readonly dataDir: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** NATS user credentials file (`caco nats creds`); unset = anonymous, which a secured server refuses. */
  readonly natsCreds?: string;
  /** PostgreSQL URL of the ledger database, for `store: 'postgres'` (e.g. postgres://root@127.0.0.1:5432/test). */
  readonly databaseUrl?: string;
  /**
   * What the grid agent forecasts with: `ensemble` (default: the online ensemble of the LSTM
   * and robust baselines, with conformal bands) or `lstm` (the bare LSTMs, naive fallback). The
   * default is the one whose decisions did better out of sample (the whole site on 23 weeks it
   * was not tuned on, the schedule walk-forward) and whose P10–P90 bands hold their coverage;
   * the bare LSTM is a little better at 24 h for carbon (README, "Which forecaster ships").
   * `ensemble-tracked`: the ensemble with each tail of its band recalibrated on its own recent
   * misses (steadier coverage month to month, wider bands on average).
   */
  readonly forecaster?: 'lstm' | 'ensemble' | 'ensemble-tracked';
}

export const DEFAULT_CONFIG: CacoConfig = {
  bus: 'memory',
  store: 'sqlite',
  natsUrl: 'nats://127.0.0.1:4222',
  replicas: 1,
  site: 'london',
  dataDir: './var',
  logLevel: 'warn',
  forecaster: 'ensemble',
};

interface Setting<K extends keyof CacoConfig> {
  readonly key: K;
  readonly env: string;
  /** The command-line flag, when it is not `--<key in kebab case>`. */
  readonly flag?: string;
  /** A JSON number in the config file is taken for this setting too (as its decimal text). */
  readonly number?: true;
  readonly parse: (raw: string, name: string) => CacoConfig[K];
}

function oneOf<T extends string>(allowed: readonly T[]) {
  return (raw: string, name: string): T => {
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    throw new ConfigError(name, `"${raw}" is not allowed; use one of: ${allowed.join(', ')}`);
  };
}

/** What a site name may be: the CLI's --site, CACO_SITE, a data folder under --data-dir. */
export const SITE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

const SETTINGS: { [K in keyof CacoConfig]: Setting<K> } = {
  bus: { key: 'bus', env: 'CACO_BUS', parse: oneOf(['memory', 'nats'] as const) },
  store: { key: 'store', env: 'CACO_STORE', parse: oneOf(['sqlite', 'jetstream', 'postgres', 'kurrentdb'] as const) },
  kurrentdbUrl: {
    key: 'kurrentdbUrl',
    env: 'CACO_KURRENTDB_URL',
    parse: (raw, name) => {
      if (!/^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/\S+$/.test(raw.trim())) throw new ConfigError(name, `"${redactUrl(raw)}" is not a KurrentDB connection string; use e.g. kurrentdb://127.0.0.1:2113?tls=false`);
      return raw.trim();
    },
  },
  natsUrl: {
    key: 'natsUrl',
    env: 'NATS_URL',
    parse: (raw, name) => {
      const ok = raw.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+(:\d+)?\/?$/.test(u.trim()) || /^[^\s/:]+:\d+$/.test(u.trim()));
      if (!ok) throw new ConfigError(name, `"${redactNatsServers(raw)}" is not a NATS URL; use e.g. nats://127.0.0.1:4222 (comma-separate several)`);
      return raw;
    },
  },
  replicas: {
    key: 'replicas',
    env: 'CACO_REPLICAS',
    number: true,
    parse: (raw, name) => {
      // JetStream allows at most 5 replicas; an even count gains nothing over the odd one below it.
      if (!/^[1-5]$/.test(raw.trim())) throw new ConfigError(name, `"${raw}" is not a replica count; use 1 (one server) or 3 or 5 (a cluster of at least that many nodes)`);
      return Number(raw.trim());
    },
  },
  site: {
    key: 'site',
    env: 'CACO_SITE',
    parse: (raw, name) => {
      if (!SITE_NAME.test(raw)) throw new ConfigError(name, `"${raw}" is not a site name; use lower-case letters, digits and "-", starting with a letter (e.g. london)`);
      return raw;
    },
  },
  dataDir: {
    key: 'dataDir',
    env: 'CACO_DATA_DIR',
    parse: (raw, name) => {
      if (!raw.trim()) throw new ConfigError(name, 'must be a folder path, e.g. ./var');
      return raw;
    },
  },
  logLevel: { key: 'logLevel', env: 'LOG_LEVEL', parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) },
  natsCreds: {
    key: 'natsCreds',
    env: 'NATS_CREDS',
    flag: '--creds',
    parse: (raw, name) => {
      if (!raw.trim()) throw new ConfigError(name, 'must be the path of a credentials file (caco nats creds makes them)');
      return raw;
    },
  },
  forecaster: { key: 'forecaster', env: 'CACO_FORECASTER', parse: oneOf(['lstm', 'ensemble', 'ensemble-tracked'] as const) },
  databaseUrl: { key: 'databaseUrl', env: 'CACO_DATABASE_URL', parse: (raw, name) => checkDatabaseUrl(raw, name) },
};

function settingOf(name: string): Setting<keyof CacoConfig> | undefined {
  return Object.hasOwn(SETTINGS, name) ? (SETTINGS[name as keyof CacoConfig] as Setting<keyof CacoConfig>) : undefined;
}

export interface LoadConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A JSON file with any of the settings by their config key (`bus`, `store`, `natsUrl`, ...). */
  readonly file?: string;
  /** Values given on the command line; they win over the environment and the file. */
  readonly overrides?: Partial<Record<keyof CacoConfig, string | undefined>>;
}

/**
 * Defaults, then the config file (`CACO_CONFIG` or `file`), then environment variables, then
 * command-line overrides. A bad value is a ConfigError naming the setting and what is allowed.
 */
export function loadConfig(opts: LoadConfigOptions = {}): CacoConfig {
  const env = opts.env ?? process.env;
  const out: { -readonly [K in keyof CacoConfig]: CacoConfig[K] } = { ...DEFAULT_CONFIG };
  const set = <K extends keyof CacoConfig>(setting: Setting<K>, raw: string, name: string) => {
    out[setting.key] = setting.parse(raw, name);
  };
  const file = opts.file ?? env.CACO_CONFIG;
  if (file) {
    // Named as the user gave it: the flag (cli/options.ts passes --config as `file`) or the variable.
    const from = opts.file !== undefined ? '--config' : 'CACO_CONFIG';
    if (!existsSync(file)) throw new ConfigError(from, `config file "${file}" does not exist`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readBoundedText(file, MAX_CONFIG_BYTES, (reason) => new ConfigError(from, `config file "${file}" ${reason}`)));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(from, `config file "${file}" is not valid JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(from, `config file "${file}" must hold a JSON object`);
    for (const [k, v] of Object.entries(parsed)) {
      // Own keys only: "constructor" or "__proto__" in the file must not find Object.prototype's.
      const s = settingOf(k);
      if (!s) throw new ConfigError(`${file}: ${k}`, `unknown setting; known settings are ${Object.keys(SETTINGS).join(', ')}`);
      // The README gives replicas as a number: a JSON number is its decimal text to the parser.
      if (s.number && typeof v === 'number' && Number.isFinite(v)) set(s, String(v), `${file}: ${k}`);
      else if (typeof v !== 'string') throw new ConfigError(`${file}: ${k}`, s.number ? 'must be a number or a string' : 'must be a string');
      else set(s, v, `${file}: ${k}`);
    }
  }
  for (const s of Object.values(SETTINGS) as Setting<keyof CacoConfig>[]) {
    const raw = env[s.env];
    // An empty CACO_* variable is a mistake, not a request for the default: a template's
    // CACO_SITE=\${SITE} with SITE unset ran as, and wrote into the ledger of, site "london"
    // (a helper's review). NATS_URL and NATS_CREDS, which other NATS tools read too, keep the
    // common reading of empty as unset.
    if (raw === '' && s.env.startsWith('CACO_')) {
      const fallback = DEFAULT_CONFIG[s.key];
      throw new ConfigError(s.env, `is set but empty; give a value, or unset it${fallback === undefined ? '' : ` for the default (${JSON.stringify(fallback)})`}`);
    }
    if (raw !== undefined && raw !== '') set(s, raw, s.env);
  }
  for (const [k, raw] of Object.entries(opts.overrides ?? {})) {
    if (raw === undefined) continue;
    const s = settingOf(k);
    if (!s) throw new ConfigError(k, 'unknown setting');
    set(s, raw, s.flag ?? `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  return out;
}
