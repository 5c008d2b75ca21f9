import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describeBytes } from '../core/files/index.ts';
import { DataFileError } from './errors.ts';

/**
 * The most a data file may hold, on disk and, for a `.gz`, unpacked: each is read whole into
 * one string and its records kept (about 50 bytes of heap per byte of a file of empty cells:
 * at 256 MiB such a file ran the process out of memory). A real year of half-hours is a few
 * MB, the largest trace here 2 MB. Checked here so every reader of CSVs (simulate, benches,
 * models retrain) is bounded, whatever checks its caller made.
 */
export const MAX_INPUT_FILE_BYTES = 32 * 1024 * 1024;

export interface CsvRecord {
  /** 1-based line number in the file (header is line 1). */
  readonly line: number;
  readonly cells: ReadonlyArray<string>;
}

export interface CsvTable {
  readonly file: string;
  readonly header: ReadonlyArray<string>;
  /** Parsed and checked as they are iterated (each iteration reads the text again). */
  readonly records: Iterable<CsvRecord>;
}

/**
 * Read a CSV file as text; `.gz` files are gunzipped so large traces can be committed small.
 * A file, or what a `.gz` unpacks to, larger than `maxBytes` is a DataFileError naming it.
 */
export function readCsvText(path: string, maxBytes: number = MAX_INPUT_FILE_BYTES): string {
  // Stat first: a file too big must be refused before it is read into memory.
  const size = statSync(path).size;
  if (size > maxBytes) throw new DataFileError(path, null, null, `is ${describeBytes(size)}; data files are read whole, at most ${describeBytes(maxBytes)}: cut it to the period you need`);
  const buf = readFileSync(path);
  if (!path.endsWith('.gz')) return buf.toString('utf8');
  let text: Buffer;
  try {
    // A few hundred KB of gzip can unpack to gigabytes; zlib stops as soon as the output passes the bound.
    text = gunzipSync(buf, { maxOutputLength: maxBytes });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new DataFileError(path, null, null, `decompresses to more than ${describeBytes(maxBytes)}; data files are read whole: cut it to the period you need`);
    if (code === 'Z_DATA_ERROR' && /header/.test(message)) throw new DataFileError(path, null, null, 'is not gzip (no gzip header): a plain CSV must not be named .gz');
    if (code?.startsWith('Z_')) throw new DataFileError(path, null, null, `is not gzip that can be read (${message}): the file is damaged or cut short`);
    throw err;
  }
  return text.toString('utf8');
}

/**
 * RFC 4180 parsing (quoted fields, doubled quotes, CRLF). Blank lines (not a quoted empty cell)
 * are skipped. A record with a different number of cells than the header is an error: silently
 * shifting columns would put values under the wrong unit. A header naming a column twice is an
 * error too. The header is read at once; the records as they are iterated, each checked then,
 * so a loader that refuses a record stops the read there (a file of wrong records is not all
 * held in memory first: 32 MiB of `,,,,` lines held 1.9 GB before the first was looked at).
 */
export function parseCsv(text: string, file: string): CsvTable {
  const first = csvRecords(text, file)[Symbol.iterator]().next();
  if (first.done) throw new DataFileError(file, null, null, 'empty file (no header)');
  const header = headerOf(first.value.cells, first.value.line, file);
  const records: Iterable<CsvRecord> = {
    *[Symbol.iterator]() {
      let head = true;
      for (const r of csvRecords(text, file)) {
        if (head) {
          head = false;
          continue;
        }
        if (r.cells.length !== header.length) throw new DataFileError(file, r.line, null, `expected ${header.length} cells like the header, got ${r.cells.length}`);
        yield r;
      }
    },
  };
  return { file, header, records };
}

/** Every record of the text that is not a blank line, header included, parsed as it is taken. */
function* csvRecords(text: string, file: string): Generator<CsvRecord, void, undefined> {
  let line = 1;
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < n) {
    const startLine = line;
    const cells: string[] = [];
    let cell = '';
    let inQuotes = false;
    let quoted = false;
    for (; i < n; i++) {
      const ch = text[i]!;
      if (inQuotes) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i++;
          } else inQuotes = false;
        } else {
          if (ch === '\n') line++;
          cell += ch;
        }
      } else if (ch === '"' && cell === '') {
        inQuotes = true;
        quoted = true;
      }
      else if (ch === ',') {
        cells.push(cell);
        cell = '';
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && text[i + 1] === '\n') i++;
        i++;
        break;
      } else cell += ch;
    }
    if (inQuotes) throw new DataFileError(file, startLine, null, 'unterminated quoted field');
    cells.push(cell);
    line++;
    // A line of nothing but spaces is blank too (a trailing one an editor left).
    if (cells.length === 1 && cells[0]!.trim() === '' && !quoted) continue;
    yield { line: startLine, cells };
  }
}

function headerOf(cells: ReadonlyArray<string>, line: number, file: string): string[] {
  const header = cells.map((c) => c.trim());
  // Loaders look a column up by name and take the first match; with the name twice, which
  // values are read depends on that detail, not on the file. Unnamed columns are never looked up.
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    const first = header.indexOf(name);
    if (name !== '' && first < i) {
      throw new DataFileError(file, line, name, `header names column "${name}" twice (columns ${first + 1} and ${i + 1}): which one would be read is ambiguous`);
    }
  }
  return header;
}

export function readCsv(path: string): CsvTable {
  return parseCsv(readCsvText(path), path);
}

/** Index of every required column; throws naming the file and the first missing column. */
export function requireColumns<K extends string>(table: CsvTable, required: ReadonlyArray<K>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const name of required) {
    const idx = table.header.indexOf(name);
    if (idx < 0) {
      throw new DataFileError(table.file, 1, name, `missing required column "${name}" (header has: ${table.header.join(', ')})`);
    }
    out[name] = idx;
  }
  return out;
}

/** Index of an optional column, or -1. */
export function optionalColumn(table: CsvTable, name: string): number {
  return table.header.indexOf(name);
}
