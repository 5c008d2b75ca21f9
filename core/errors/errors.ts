/**
 * Errors are values with a `_tag` a caller can switch on and a message a user can act on.
 */
export class CacoError extends Error {
  readonly _tag: string = 'CacoError';
  constructor(message?: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    // The subclass's own name in stack traces and logs ("ConcurrencyError: …", not "Error: …").
    this.name = new.target.name;
  }
}

/** `append` found the stream at another revision than the caller expected; nothing was written. */
export class ConcurrencyError extends CacoError {
  override readonly _tag = 'ConcurrencyError';
  constructor(
    readonly stream: string,
    readonly expected: string,
    readonly actual: number | 'no-stream',
  ) {
    super(`stream "${stream}": expected ${expected}, but the stream is at ${actual === 'no-stream' ? 'no-stream' : `revision ${actual}`}`);
  }
}

/**
 * A problem the user can fix (a bad option, a missing or unusable input file): the command line
 * prints it as one line and exits with code 2. Here, not in cli/, so the simulation's input
 * checks (sim/inputs.ts) raise the same error without importing the command line.
 */
export class UsageError extends CacoError {
  override readonly _tag = 'UsageError';
}

/** A configuration value is missing or not one of the allowed values. */
export class ConfigError extends CacoError {
  override readonly _tag = 'ConfigError';
  constructor(readonly setting: string, reason: string) {
    super(`${setting}: ${reason}`);
  }
}

/**
 * An environment variable's value: undefined when unset. Set but empty (or blank) is refused,
 * naming it: a template's `CACO_X=${X}` with X unset is a mistake, not a request for the default,
 * and for a security setting the default is the open one (a helper's review: an empty
 * CACO_REQUIRE_BOUND_COMMANDS or CACO_MAX_SLA_CLASS_PER_PARTY started the site with binding off
 * and any service class allowed, where an empty CACO_SITE was refused).
 */
export function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new ConfigError(name, 'is set but empty; give a value, or unset it for the default');
  return raw;
}

/** A message failed decoding; `path` points at the offending field. */
export class DecodeError extends CacoError {
  override readonly _tag = 'DecodeError';
  constructor(readonly messageType: string, readonly issues: ReadonlyArray<{ path: string; reason: string }>) {
    super(`${messageType}: ${issues.map((i) => `${i.path || '(root)'}: ${i.reason}`).join('; ')}`);
  }
}

export class TimeoutError extends CacoError {
  override readonly _tag = 'TimeoutError';
}

export class NoRespondersError extends CacoError {
  override readonly _tag = 'NoRespondersError';
}

/** An argument given to a port was invalid (bad stream name, empty append, ...). */
export class InvalidArgumentError extends CacoError {
  override readonly _tag = 'InvalidArgumentError';
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
  }
}
