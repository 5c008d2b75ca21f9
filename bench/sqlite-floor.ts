/**
 * The floor under the embedded rows of `npm run bench -- runtime`: what SQLite alone costs to
 * store the same rows — the store's own schema, pragmas, insert and checkpoint thread (see
 * WalCheckpointer), one transaction per commit, nothing else — and, for a sequential appender,
 * that plus one ed25519 signature per commit, which every append needs before anything may act
 * on it. Measured in the same run as the
 * store's rows, so "CACO is N× the floor" compares like with like on one machine.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { INSERT_EVENT_SQL, openLedgerDatabase, WalCheckpointer } from '../core/store/index.ts';
import type { NewEvent } from '../core/envelope/index.ts';

export interface FloorMeasured {
  /** Wall-clock µs per event. */
  readonly usPerEvent: number;
  readonly cpuUsPerEvent: number;
  /** Events per second at that wall-clock cost. */
  readonly perS: number;
}

export interface SqliteFloor {
  /** One row per transaction: a sequential appender's commits, without hashing, signing or checks. */
  readonly commitPerEvent: FloorMeasured;
  /** The same plus one ed25519 signature per commit: the least a signed sequential append costs. */
  readonly signedCommitPerEvent: FloorMeasured;
  /** Rows stored `groupSize` to a transaction: a group commit's storage cost per event. */
  readonly groupCommit: FloorMeasured & { readonly groupSize: number };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** `events` rows shaped as the store writes them (`event()` gives the bench's own events). */
export async function sqliteFloor(dir: string, events: number, groupSize: number, event: () => NewEvent): Promise<SqliteFloor> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const run = async (name: string, perCommit: number, signed: boolean): Promise<FloorMeasured> => {
    const path = join(dir, `floor-${name}.db`);
    const db = openLedgerDatabase(path);
    // Checkpoints off this thread, as the store's own (a store started with walCheckpoints 'inline' has a higher floor).
    const checkpointer = WalCheckpointer.start(db, path);
    try {
      await checkpointer.whenReady();
      const insert = db.prepare(INSERT_EVENT_SQL);
      // Rows are built before the clock starts: the floor is storage (and a signature), not JSON.
      const rows = Array.from({ length: events }, (_, i) => {
        const e = event();
        const hash = createHash('sha256').update(e.id).digest();
        return { args: [e.id, `job-${i % 50}`, Math.floor(i / 50), e.type, e.version, e.time, e.source, e.correlationId, e.causationId, JSON.stringify(e.data), hash.toString('hex'), hash.toString('hex'), '', null] as unknown[], digest: hash };
      });
      const commit = db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const r = rows[i]!;
          // A signature is 64 bytes, 88 in base64, as the store writes it.
          if (signed) r.args[12] = sign(null, r.digest, privateKey).toString('base64');
          insert.run(...r.args);
        }
      });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < events; i += perCommit) commit(i, Math.min(events, i + perCommit));
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      return { usPerEvent: round1((ms * 1000) / events), cpuUsPerEvent: round1((c.user + c.system) / events), perS: Math.round(events / (ms / 1000)) };
    } finally {
      await checkpointer.close();
      db.close();
    }
  };
  return {
    commitPerEvent: await run('one', 1, false),
    signedCommitPerEvent: await run('signed', 1, true),
    groupCommit: { ...(await run('group', groupSize, false)), groupSize },
  };
}
