/**
 * The signing worker: holds the private keys it is sent and signs the events of a batch it
 * claims, until none is left (see signer-protocol.ts). Errors never carry a key.
 */
import { sign, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { arenaOf, signClaimed, type Arena, type SignerReply, type SignerRequest } from './signer-protocol.ts';

const port = parentPort;
if (!port) throw new Error('signer-worker.ts runs only as a worker thread');
const keys: KeyObject[] = [];
let arena: Arena | undefined;
const keyOf = (id: number) => keys[id];
const signOne = (hash: Uint8Array, key: KeyObject) => sign(null, hash, key);

port.on('message', (m: SignerRequest) => {
  if (m.kind === 'key') {
    keys[m.id] = m.key;
    return;
  }
  if (m.kind === 'arena') {
    arena = arenaOf(m.buffer, m.capacity);
    return;
  }
  let reply: SignerReply;
  try {
    const a = m.oneOff ? arenaOf(m.oneOff.buffer, m.oneOff.capacity) : arena;
    if (!a) throw new Error('no arena');
    signClaimed(a, m.start, m.n, keyOf, signOne);
    reply = { kind: 'claimed-all', batch: m.batch };
  } catch (err) {
    reply = { kind: 'failed', batch: m.batch, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
port.postMessage({ kind: 'ready' } satisfies SignerReply);
