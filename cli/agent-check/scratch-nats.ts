import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { freePort, natsServerBinary } from '../../deploy/local/index.ts';

/**
 * A throwaway nats-server for `caco agent check`: an embedded bus cannot be reached by another
 * process, so the scratch site needs a real server; this one is on a free loopback port, with no
 * JetStream (the scratch ledger is a SQLite file), and is stopped with the check.
 */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export interface ScratchNats {
  readonly url: string;
  stop(): Promise<void>;
  /** At once, for a check stopped by a signal: it cannot wait for an orderly stop. */
  kill(): void;
}

export async function startScratchNats(): Promise<ScratchNats> {
  const port = await freePort();
  const child: ChildProcess = spawn(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  const failed = new Promise<Error>((resolve) => {
    child.once('error', (e) => resolve(new Error(`cannot run ${natsServerBinary()}: ${e.message} — install nats-server, set NATS_SERVER_BIN, or give --server <url>`)));
    child.once('exit', () => resolve(new Error(`nats-server exited at start: ${stderr.trim().slice(0, 300)}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await Promise.race([accepts(port), failed]);
    if (state === true) return { url: `nats://127.0.0.1:${port}`, stop, kill: () => void child.kill('SIGKILL') };
    if (state instanceof Error) throw state;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not accept connections on port ${port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
