import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import { inertJsonLine } from './inert-json.ts';

/** pino JSON logs; agent code adds `agent`, `type` and `correlationId` as bindings. */
export type Logger = PinoLogger;

export interface LoggerConfig {
  readonly level?: string;
  /** Write to this fd instead of stderr (2). */
  readonly destination?: number;
}

export function createLogger(cfg: LoggerConfig = {}): Logger {
  const opts: LoggerOptions = {
    level: cfg.level ?? process.env.LOG_LEVEL ?? 'info',
    base: undefined,
    // Never log secrets: private keys and signatures are redacted wherever they appear.
    redact: { paths: ['*.privateKey', '*.secret', 'privateKey', 'authorization', '*.authorization'], censor: '[redacted]' },
    // Outside parties' text reaches log lines: nothing in one may act on the viewer's terminal.
    hooks: { streamWrite: inertJsonLine },
  };
  return pino(opts, pino.destination({ dest: cfg.destination ?? 2, sync: true }));
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
