import { CacoError } from '../core/errors/index.ts';

/**
 * A data file cannot be used as it stands (missing column, unsorted or duplicate timestamps,
 * values that look like the wrong unit). Names the file and, where there is one, the line
 * (1-based, the header is line 1) and column, so the user can open the file at the fault.
 */
export class DataFileError extends CacoError {
  override readonly _tag = 'DataFileError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly column: string | null,
    /** What is wrong, without the file, line and column (a caller reporting them its own way). */
    readonly reason: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}${column === null ? '' : ` (column "${column}")`}: ${reason}`);
  }
}
