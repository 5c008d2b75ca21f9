import type { AnchorCheckpoint } from './checkpoint.ts';

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
  read(): Promise<AnchorRead>;
  /** Append one checkpoint after the last one read or written. */
  append(cp: AnchorCheckpoint): Promise<void>;
  close(): Promise<void>;
}
