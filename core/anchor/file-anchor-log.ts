import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors/errors.ts';
import type { AnchorLog, AnchorRead } from './anchor-log.ts';
import type { AnchorCheckpoint } from './checkpoint.ts';

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

  async read(): Promise<AnchorRead> {
    if (!existsSync(this.path)) return { records: [] };
    const lines = readFileSync(this.path, 'utf8').split('\n');
    const records: unknown[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '' && i === lines.length - 1) break;
      try {
        records.push(JSON.parse(line));
      } catch {
        return { records, problem: `${this.path} line ${i + 1} is not a JSON checkpoint${i === lines.length - 1 ? ' (the last line is cut short)' : ''}` };
      }
    }
    return { records };
  }

  async append(cp: AnchorCheckpoint): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    // 'a+': every write lands at the end whatever else has the file open (and the tail can be
    // read: dropCutShortLine); fsync so a checkpoint that was reported written survives a crash.
    const fd = openSync(this.path, 'a+', 0o644);
    try {
      dropCutShortLine(fd, this.path);
      writeSync(fd, JSON.stringify(cp) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async close(): Promise<void> {}
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
