import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
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
    // 'a': every write lands at the end whatever else has the file open; fsync so a checkpoint
    // that was reported written survives a crash.
    const fd = openSync(this.path, 'a', 0o644);
    try {
      writeSync(fd, JSON.stringify(cp) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async close(): Promise<void> {}
}
