import type { AnchorCheckpoint } from './checkpoint.ts';

/** One record of the anchor as stored (parsed, unchecked), or why reading stops there. */
/** `cutShort`: the problem is only the file's last line, cut short by a crash while it was written. */
export type AnchorItem = { readonly record: unknown } | { readonly problem: string; readonly cutShort?: boolean };

/** The anchor as stored: every record in the order written, parsed but not yet checked. */
export interface AnchorRead {
  readonly records: ReadonlyArray<unknown>;
  /** A record that could not even be parsed (the records after it are not returned). */
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
   * The records in the order written, one at a time once this resolves, ending at the first
   * that cannot be parsed (`{ problem }`): synchronous, so a fold of the ledger can take the
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
