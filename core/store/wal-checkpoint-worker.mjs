// The thread behind WalCheckpointer (wal-checkpointer.ts). Plain JS: it needs better-sqlite3
// and nothing of the project, so it loads without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, everyMs } = workerData;
let db;
let checkpoint;
try {
  db = new Database(path, { fileMustExist: true });
  // The checkpoint fsyncs the log before copying it and the database file after, as the
  // appending connection's own checkpoints do with this setting.
  db.pragma('synchronous = NORMAL');
  checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
} catch (err) {
  // Said here, in words: an error thrown out of a worker reaches the parent as a bare object.
  parentPort.postMessage({ failed: `cannot open ${path}: ${err instanceof Error ? err.message : String(err)}` });
  process.exit(1);
}

const stats = { checkpoints: 0, busy: 0, framesCopied: 0, failures: 0, lastError: undefined };
let copiedUpTo = 0;

function runOnce() {
  try {
    // PASSIVE waits for no one: it copies what no reader still needs and returns.
    const [r] = checkpoint.all();
    stats.checkpoints++;
    if (r.busy) stats.busy++;
    // `checkpointed` counts frames of the current log; it restarts from 0 when the log does.
    stats.framesCopied += r.checkpointed >= copiedUpTo ? r.checkpointed - copiedUpTo : r.checkpointed;
    copiedUpTo = r.checkpointed;
  } catch (err) {
    // SQLITE_BUSY from a checkpoint already running elsewhere, or the file gone: the appending
    // connection's own (backstop) checkpoints still bound the log; report, keep going.
    stats.failures++;
    stats.lastError = err instanceof Error ? err.message : String(err);
  }
}

const timer = setInterval(runOnce, everyMs);

parentPort.on('message', (m) => {
  if (m === 'stats') parentPort.postMessage({ stats: { ...stats } });
  else if (m === 'close') {
    clearInterval(timer);
    db.close();
    parentPort.postMessage({ closed: { ...stats } });
    parentPort.close();
  }
});
parentPort.postMessage({ ready: true });
