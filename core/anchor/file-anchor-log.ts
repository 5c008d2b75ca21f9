import { closeSync, constants, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors/errors.ts';
import { collectAnchorRead, notCheckpoint, type AnchorItem, type AnchorLog, type AnchorRead } from './anchor-log.ts';
import { isCheckpointRecord, type AnchorCheckpoint } from './checkpoint.ts';
import { GENESIS_HASH } from '../envelope/envelope.ts';
import { withFileLock } from '../ledger/file-lock.ts';

/**
 * A checkpoint that does not follow the anchor file's last checkpoint (another writer got there
 * first). Lines that are not checkpoints are passed over on both sides (isCheckpointRecord), so
 * such a line is never taken for a second writer.
 */
export class AnchorForkError extends Error {
  constructor(readonly path: string, readonly seq: number, readonly tail: string) {
    super(`${path}: checkpoint ${seq} does not follow the file's last checkpoint (${tail === GENESIS_HASH ? 'it holds none' : `hash ${tail.slice(0, 16)}…`}): another process appends to this anchor; not written`);
  }
}

/**
 * Anchor checkpoints as JSON lines in a file of their own, opened for append only: the
 * ledger's writer never opens this file, and every line links to the hash of the line before
 * and is signed by the anchor key, so an edit, a removed line or a reorder shows.
 */
export class FileAnchorLog implements AnchorLog {
  constructor(readonly path: string) {}

  get where(): string {
    return this.path;
  }

  async exists(): Promise<boolean> {
    return existsSync(this.path);
  }

  /**
   * Line by line, in chunks: a site checkpoints every minute it is busy, so the file grows by
   * a few hundred MB a year and is never read into one string (V8 refuses strings past
   * ~512 MB). A single line is bounded instead: no checkpoint is near MAX_CUT_LINE.
   */
  async read(): Promise<AnchorRead> {
    return collectAnchorRead(this.items());
  }

  /**
   * The records one at a time, as `read` finds them, holding one chunk and one line: for a
   * reader that folds the anchor as it goes, so memory does not grow with the file. A line
   * that is no checkpoint (not JSON, too long to be one, `[1]`) is named in its place and passed
   * over (`{ problem, passedOver }`), as the writer passes over it. Stopping early (`break`) closes the file.
   */
  async *records(): AsyncGenerator<AnchorItem, void, undefined> {
    yield* this.items();
  }

  /** As `records`, synchronously (the file is opened when the first record is taken). */
  async scan(): Promise<Iterable<AnchorItem>> {
    return { [Symbol.iterator]: () => this.items() };
  }

  /**
   * The last complete line that is a checkpoint (isCheckpointRecord: valid or not), read from
   * the end of the file in chunks: a writer that lost its place (an append failed), or that
   * found the anchor broken at start, continues after the last checkpoint written, and needs
   * nothing else. Lines that are not checkpoints (not JSON, `[1]`, an object with no hash) are
   * passed over, as the append's tail check passes over them. A line cut short at the end (never
   * reported written) is not one; the next append cuts it off.
   */
  async lastRecord(): Promise<unknown> {
    if (!existsSync(this.path)) return undefined;
    const fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) return undefined;
      return lastLine(fd);
    } finally {
      closeSync(fd);
    }
  }

  private *items(): Generator<AnchorItem, void, undefined> {
    if (!existsSync(this.path)) return;
    // Non-blocking, so a FIFO in its place is refused rather than waited on.
    const fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) {
        yield { problem: `${this.path} is not a regular file` };
        return;
      }
      yield* readLines(fd, this.path);
    } finally {
      closeSync(fd);
    }
  }

  async append(cp: AnchorCheckpoint): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    // The tail check and the write as one step for any other process doing the same.
    withFileLock(this.path, () => this.appendLinked(cp));
  }

  private appendLinked(cp: AnchorCheckpoint): void {
    // 'a+': every write lands at the end whatever else has the file open (and the tail can be
    // read: dropCutShortLine); fsync so a checkpoint that was reported written survives a crash.
    const fd = openSync(this.path, 'a+', 0o644);
    try {
      dropCutShortLine(fd, this.path);
      // As JetStream's expected last sequence: a checkpoint that does not link to the file's
      // last checkpoint was numbered from a stale view (another process appended), and writing
      // it would fork the anchor for good. Refused; the writer re-reads the tail and tries again.
      // Lines after that checkpoint that are not checkpoints are passed over here and by the
      // writer alike (lastRecord), so they are left where they are for the audit to name.
      const tail = lastLine(fd)?.hash ?? GENESIS_HASH;
      if (cp.prev !== tail) throw new AnchorForkError(this.path, cp.seq, tail);
      writeWhole(fd, this.path, cp.seq, Buffer.from(JSON.stringify(cp) + '\n'));
    } finally {
      closeSync(fd);
    }
  }

  async close(): Promise<void> {}
}

/**
 * A checkpoint line written whole and synced, or not at all. writeSync may write part of it (a
 * full disk), and its count was not looked at: a fragment was synced and reported written, and
 * the next checkpoint's failure blamed another process appending (a helper's review).
 */
function writeWhole(fd: number, path: string, seq: number, line: Buffer): void {
  const before = fstatSync(fd).size;
  try {
    for (let at = 0; at < line.length; ) {
      const n = writeSync(fd, line, at);
      if (n <= 0) throw new Error('nothing was written');
      at += n;
    }
    fsyncSync(fd);
  } catch (err) {
    try {
      ftruncateSync(fd, before);
      fsyncSync(fd);
    } catch {
      // The next append's dropCutShortLine removes a fragment left here.
    }
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: checkpoint ${seq} could not be written whole (${code === 'ENOSPC' ? 'the disk is full' : err instanceof Error ? err.message : String(err)}); nothing of it is kept, and the next checkpoint will try again`);
  }
}

export type { AnchorItem } from './anchor-log.ts';

const READ_CHUNK = 1024 * 1024;

/** Backwards from the end: the last newline-terminated line that is a checkpoint (isCheckpointRecord). */
function lastLine(fd: number): { readonly hash: string } | undefined {
  let end = fstatSync(fd).size;
  // A tail without a newline is a checkpoint cut short: skipped, as `read` refuses it.
  let tail: Buffer = Buffer.alloc(0);
  let cutShort = true;
  const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, MAX_CUT_LINE * 2));
  while (end > 0 || tail.length > 0) {
    const nl = tail.lastIndexOf(0x0a);
    if (nl >= 0) {
      const line = tail.subarray(nl + 1);
      tail = tail.subarray(0, nl);
      if (cutShort) {
        cutShort = false;
        continue;
      }
      try {
        const r = JSON.parse(line.toString('utf8')) as unknown;
        if (isCheckpointRecord(r)) return r;
      } catch {
        // not a checkpoint: the one before it, then
      }
      continue;
    }
    if (end === 0) {
      // The first line of the file.
      if (cutShort) return undefined;
      try {
        const r = JSON.parse(tail.toString('utf8')) as unknown;
        return isCheckpointRecord(r) ? r : undefined;
      } catch {
        return undefined;
      }
    }
    if (tail.length > MAX_CUT_LINE) {
      // A line longer than any checkpoint: drop it and look before it.
      tail = Buffer.alloc(0);
      cutShort = false;
    }
    const n = Math.min(chunk.length, end);
    end -= n;
    readSync(fd, chunk, 0, n, end);
    tail = Buffer.concat([chunk.subarray(0, n), tail]);
  }
  return undefined;
}

/**
 * Every line in order. A line that is no checkpoint is named and passed over, as the writer's
 * tail check passes over it (lastLine): one junk line must not hide the checkpoints after it,
 * which the writer goes on linking to the last checkpoint before it.
 */
function* readLines(fd: number, path: string): Generator<AnchorItem, void, undefined> {
  const chunk = Buffer.allocUnsafe(READ_CHUNK);
  let pending: Buffer = Buffer.alloc(0);
  let line = 0;
  /** Inside a line too long to be a checkpoint: its bytes are dropped up to its newline. */
  let skipping = false;
  const parse = (bytes: Buffer, last: boolean): AnchorItem => {
    line++;
    let record: unknown;
    try {
      record = JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      if (last) return { problem: `${path} line ${line} is not a JSON checkpoint (the last line is cut short)`, cutShort: true };
      return { problem: `${path} line ${line} is not a JSON checkpoint`, passedOver: true };
    }
    if (!isCheckpointRecord(record)) return { problem: `${path} line ${line} is not a checkpoint (${notCheckpoint(record)})`, passedOver: true };
    return { record };
  };
  for (;;) {
    const n = readSync(fd, chunk, 0, READ_CHUNK, null);
    if (n === 0) break;
    const data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      if (skipping) skipping = false;
      else if (nl - start > MAX_CUT_LINE) yield tooLong(path, ++line);
      else yield parse(data.subarray(start, nl), false);
      start = nl + 1;
    }
    if (!skipping && data.length - start > MAX_CUT_LINE) {
      yield tooLong(path, ++line);
      skipping = true;
    }
    // Copied: `chunk` is reused by the next read.
    pending = skipping ? Buffer.alloc(0) : Buffer.from(data.subarray(start));
  }
  if (pending.length > 0) yield parse(pending, true);
}

function tooLong(path: string, line: number): AnchorItem {
  return { problem: `${path} line ${line} is longer than ${MAX_CUT_LINE} bytes: not a checkpoint`, passedOver: true };
}

/** No checkpoint line is near this long: a tail without a newline longer than this is not one cut short. */
const MAX_CUT_LINE = 64 * 1024;

/**
 * A checkpoint whose write was cut short (a crash, a power cut) leaves the file ending in part
 * of a line. That checkpoint was never reported written; the next one must start a line of its
 * own, or it is glued to the fragment, unreadable, and so is every checkpoint after it as far
 * as a reader is concerned. So the fragment is cut off before the next append (the writer logs
 * it at start: AnchorWriter.startProblem). Anything longer than a line is left and refused.
 */
function dropCutShortLine(fd: number, path: string): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const tail = Buffer.alloc(Math.min(size, MAX_CUT_LINE + 1));
  readSync(fd, tail, 0, tail.length, size - tail.length);
  if (tail[tail.length - 1] === 0x0a) return;
  const nl = tail.lastIndexOf(0x0a);
  if (nl < 0 && tail.length < size) throw new ConfigError('--anchor', `${path} ends in ${tail.length - 1}+ bytes that are not a line; it is not an anchor file (move it aside)`);
  ftruncateSync(fd, size - tail.length + nl + 1);
}
