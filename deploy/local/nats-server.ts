import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The nats-server binary: NATS_SERVER_BIN, else the Debian package's, else PATH. */
export function natsServerBinary(): string {
  const env = process.env['NATS_SERVER_BIN'];
  if (env) return env;
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  return 'nats-server';
}

export function natsServerInstalled(): boolean {
  const bin = natsServerBinary();
  return bin === 'nats-server' ? (process.env['PATH'] ?? '').split(':').some((d) => existsSync(join(d, 'nats-server'))) : existsSync(bin);
}

export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A nats-server of our own, on a free loopback port with JetStream in a temp dir, for tests
 * that restart the server. `restart()` keeps the port and the data directory.
 */
export class NatsServerProcess {
  private child: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly config?: string,
  ) {}

  /** The running server's process id (for measurements), if it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * @param opts.config a nats-server configuration file to run with (users, permissions); it
   *   must give the JetStream `store_dir` itself (the server refuses `-sd` beside it). The
   *   port is still ours, and monitoring is off so it cannot clash with another server's.
   */
  static async start(opts: { dir?: string; port?: number; config?: string } = {}): Promise<NatsServerProcess> {
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'caco-nats-'));
    const p = new NatsServerProcess(opts.port ?? (await freePort()), dir, opts.dir === undefined, opts.config);
    await p.launch();
    return p;
  }

  private async launch(): Promise<void> {
    this.stderr = '';
    const where = ['-a', '127.0.0.1', '-p', String(this.port)];
    const args = this.config ? ['-c', this.config, ...where, '-m', '0'] : [...where, '-js', '-sd', this.dir];
    const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const state = await Promise.race([
        accepts(this.port).then((ok) => (ok ? 'up' : 'down')),
        exited.then(() => 'exited' as const),
        spawnError.then((e) => e),
      ]);
      if (state === 'up') return;
      if (state instanceof Error) throw new Error(`cannot run ${natsServerBinary()}: ${state.message} (apt-get install nats-server, or set NATS_SERVER_BIN)`);
      if (state === 'exited') throw new Error(`nats-server exited at start on port ${this.port}:\n${this.stderr}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`nats-server did not accept connections on port ${this.port} within 10 s:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stop the server (SIGTERM, then SIGKILL after 5 s) and wait for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stop and remove the data directory if we made it. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
