import { checkpointShapeProblem, type AnchorCheckpoint } from './checkpoint.ts';

/**
 * One record of the anchor as stored (parsed, unchecked, and one the writer would link to:
 * isCheckpointRecord), or a problem. `passedOver`: a record that is no checkpoint (not JSON, a
 * line too long to be one, `[1]`, an object with no hash), named and passed over as the writer
 * passes over it, so the checkpoints after it are still read and checked; without it the read
 * stops there. `cutShort`: the problem is only the file's last line, cut short by a crash while
 * it was written.
 */
export type AnchorItem = { readonly record: unknown } | { readonly problem: string; readonly cutShort?: boolean; readonly passedOver?: boolean };

/** The anchor as stored: every record in the order written, parsed but not yet checked. */
export interface AnchorRead {
  readonly records: ReadonlyArray<unknown>;
  /**
   * The first record that is no checkpoint (passed over: the records after it are returned), or
   * why the read stopped (the records after it are not).
   */
  readonly problem?: string;
}

/**
 * Where anchor checkpoints are kept, apart from the ledger: an append-only file beside the
 * SQLite ledger, or a JetStream stream of its own on NATS.
 */
export interface AnchorLog {
  /** Where it is, for people: a file path or `nats:<stream>`. */
  readonly where: string;
  exists(): Promise<boolean>;
  /** Every record at once: for a short anchor (tests, tools); a reader that folds it uses `scan`. */
  read(): Promise<AnchorRead>;
  /**
   * The records in the order written, one at a time once this resolves, each record that is no
   * checkpoint named in its place (`{ problem, passedOver }`): synchronous, so a fold of the ledger can take the
   * next checkpoint as its read passes a position. Iterate it once.
   */
  scan(): Promise<Iterable<AnchorItem>>;
  /**
   * The last record written (a writer picking up after another, or after a broken anchor),
   * without reading the rest where it can. The file passes over records that are not
   * checkpoints (isCheckpointRecord) to the last one that is, as its append's tail check does.
   */
  lastRecord(): Promise<unknown>;
  /** Append one checkpoint after the last one read or written. */
  append(cp: AnchorCheckpoint): Promise<void>;
  close(): Promise<void>;
}

/** What a parsed record that is no checkpoint is, for the audit's message. */
export function notCheckpoint(record: unknown): string {
  if (Array.isArray(record)) return 'a JSON array';
  if (record === null || typeof record !== 'object') return `a JSON ${record === null ? 'null' : typeof record}`;
  return `an object not shaped as a checkpoint: ${checkpointShapeProblem(record) ?? '?'}`;
}

/** `read()` from the items: every record, and the first problem (passed over or where it stopped). */
export function collectAnchorRead(items: Iterable<AnchorItem>): AnchorRead {
  const records: unknown[] = [];
  let problem: string | undefined;
  for (const item of items) {
    if ('problem' in item) {
      problem ??= item.problem;
      if (item.passedOver) continue;
      break;
    }
    records.push(item.record);
  }
  return problem === undefined ? { records } : { records, problem };
}
