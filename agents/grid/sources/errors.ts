import { CacoError } from '../../../core/errors/index.ts';

/** One thing wrong with a response body: a JSON path like `data[3].intensity.forecast` and why. */
export interface ResponseProblem {
  readonly path: string;
  readonly reason: string;
}

/**
 * A failure as plain data, ready to go into a `grid.signal.degraded` event. `endpoint` is the
 * endpoint's template (`carbon-intensity /intensity/{from}/fw48h`) so failures group; `url`
 * is the concrete request.
 */
export type SourceFailure =
  | {
      readonly _tag: 'SourceUnavailable';
      readonly endpoint: string;
      readonly url: string;
      readonly reason: string;
      /** HTTP status of the last attempt, if one came back. */
      readonly status: number | null;
      readonly attempts: number;
      /** Whether asking again later could help (network, timeout, 5xx, 429) or not (other 4xx). */
      readonly retryable: boolean;
    }
  | {
      readonly _tag: 'BadResponse';
      readonly endpoint: string;
      readonly url: string;
      readonly reason: string;
      readonly problems: ReadonlyArray<ResponseProblem>;
    };

/** The source could not be reached or refused the request; retries, if allowed, are used up. */
export class SourceUnavailableError extends CacoError {
  override readonly _tag = 'SourceUnavailable';
  constructor(
    readonly endpoint: string,
    readonly url: string,
    readonly reason: string,
    readonly status: number | null,
    readonly attempts: number,
    readonly retryable: boolean,
  ) {
    super(`${endpoint}: unavailable after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason} (${url})`);
  }

  toFailure(): SourceFailure {
    const { endpoint, url, reason, status, attempts, retryable } = this;
    return { _tag: 'SourceUnavailable', endpoint, url, reason, status, attempts, retryable };
  }
}

/** The source answered, but not in the documented shape; nothing from the answer is used. */
export class BadResponseError extends CacoError {
  override readonly _tag = 'BadResponse';
  readonly reason: string;
  constructor(
    readonly endpoint: string,
    readonly url: string,
    readonly problems: ReadonlyArray<ResponseProblem>,
  ) {
    const reason = problems
      .slice(0, 5)
      .map((p) => `${p.path || '(root)'}: ${p.reason}`)
      .join('; ')
      .concat(problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    super(`${endpoint}: bad response: ${reason} (${url})`);
    this.reason = reason;
  }

  toFailure(): SourceFailure {
    const { endpoint, url, reason, problems } = this;
    return { _tag: 'BadResponse', endpoint, url, reason, problems };
  }
}

export type SourceError = SourceUnavailableError | BadResponseError;

export function isSourceError(e: unknown): e is SourceError {
  return e instanceof SourceUnavailableError || e instanceof BadResponseError;
}

/**
 * The two strings `grid.signal.degraded` v1 carries (`source`, `reason`), from a failure: the
 * endpoint names the source, and the reason keeps the tag so a reader can tell an outage from
 * a changed API.
 */
export function degradedFields(f: SourceFailure): { source: string; reason: string } {
  const detail = f._tag === 'SourceUnavailable' ? `${f.reason} (after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'})` : f.reason;
  return { source: f.endpoint, reason: `${f._tag}: ${detail}` };
}
