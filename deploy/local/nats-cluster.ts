import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, natsServerBinary } from './nats-server.ts';

/**
 * A 3-node JetStream cluster made from the shipped `deploy/nats/cluster-node-{1,2,3}.conf`:
 * every loopback port in them is mapped to a free one and every store_dir to a temp folder,
 * so what the tests run is the configuration a user deploys, not a copy of it.
 */
export interface ClusterNode {
  /** `caco-1` .. `caco-3`, the configs' server_name. */
  readonly name: string;
  readonly clientPort: number;
  readonly url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
}

class Node implements ClusterNode {
  child: ChildProcess | undefined;
  log = '';
  paused = false;
  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly confPath: string,
  ) {}
  get url(): string {
    return `nats://127.0.0.1:${this.clientPort}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

export class NatsCluster {
  private constructor(
    private readonly nodes: Node[],
    private readonly dir: string,
  ) {}

  /** Comma-separated client URLs of all nodes, as NATS_URL takes them. */
  get urls(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no cluster node named ${name}; nodes are ${this.nodes.map((x) => x.name).join(', ')}`);
    return n;
  }

  get names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  /** Start the cluster; a start that fails (a port taken by another process meanwhile) is tried again on new ports. */
  static async start(opts: { deployDir?: string; attempts?: number } = {}): Promise<NatsCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NatsCluster.startOnce(opts);
      } catch (err) {
        if (attempt >= (opts.attempts ?? 3)) throw err;
      }
    }
  }

  private static async startOnce(opts: { deployDir?: string }): Promise<NatsCluster> {
    const deployDir = opts.deployDir ?? 'deploy/nats';
    const dir = mkdtempSync(join(tmpdir(), 'caco-cluster-'));
    const templates = [1, 2, 3].map((i) => readFileSync(join(deployDir, `cluster-node-${i}.conf`), 'utf8'));
    // Every loopback port in any of the files, mapped once, so routes agree across nodes.
    const ports = new Map<string, number>();
    const taken = new Set<number>();
    for (const t of templates)
      for (const m of t.matchAll(/127\.0\.0\.1:(\d+)/g)) {
        if (ports.has(m[1]!)) continue;
        // The OS may hand back a port it just gave us: every node needs its own.
        let p = await freePort();
        while (taken.has(p)) p = await freePort();
        taken.add(p);
        ports.set(m[1]!, p);
      }
    const nodes: Node[] = [];
    for (const [i, t] of templates.entries()) {
      const name = /server_name:\s*"?([\w-]+)"?/.exec(t)?.[1] ?? `caco-${i + 1}`;
      const client = /^\s*listen:\s*127\.0\.0\.1:(\d+)/m.exec(t)?.[1];
      if (!client) throw new Error(`${deployDir}/cluster-node-${i + 1}.conf has no client listen address on 127.0.0.1`);
      const conf = t
        .replace(/127\.0\.0\.1:(\d+)/g, (_, p: string) => `127.0.0.1:${ports.get(p)}`)
        .replace(/store_dir:\s*"?[^"\n]+"?/, `store_dir: "${join(dir, name)}"`)
        // Lame duck mode would make a stop take 30 s; the tests kill or stop on purpose.
        .replace(/^\s*lame_duck_duration:.*$/m, '');
      const confPath = join(dir, `${name}.conf`);
      writeFileSync(confPath, conf);
      nodes.push(new Node(name, ports.get(client)!, confPath));
    }
    const cluster = new NatsCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((n) => cluster.launch(n)));
      await cluster.waitReady();
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
    return cluster;
  }

  private launch(n: Node): Promise<void> {
    n.log = '';
    const child = spawn(natsServerBinary(), ['-c', n.confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    n.child = child;
    n.paused = false;
    child.stderr?.on('data', (b: Buffer) => {
      n.log = (n.log + b.toString()).slice(-8000);
    });
    return new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 15_000;
      const poll = async () => {
        if (!n.running) return reject(new Error(`nats-server ${n.name} exited at start (${child.exitCode ?? child.signalCode}) on port ${n.clientPort}:\n${n.log}`));
        try {
          const nc = await connect({ servers: n.url, timeout: 500, maxReconnectAttempts: 0 });
          await nc.close();
          return resolve();
        } catch {
          if (Date.now() > deadline) return reject(new Error(`nats-server ${n.name} did not accept connections within 15 s:\n${n.log}`));
          setTimeout(poll, 100);
        }
      };
      setTimeout(poll, 50);
    });
  }

  /** Waits until JetStream answers through every running node (a meta leader is elected). */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const n of this.nodes.filter((x) => x.running && !x.paused)) {
      for (;;) {
        let nc: NatsConnection | undefined;
        try {
          nc = await connect({ servers: n.url, timeout: 1000, maxReconnectAttempts: 0 });
          const jsm = await jetstreamManager(nc, { timeout: 2000 });
          await jsm.getAccountInfo();
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`JetStream on ${n.name} not ready within ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}\n${n.log}`);
          await new Promise((r) => setTimeout(r, 200));
        } finally {
          await nc?.close().catch(() => undefined);
        }
      }
    }
  }

  /**
   * The server_name of the node leading `stream`'s replica group. On a busy machine an
   * election can be under way at any moment: asked again until one answers (up to `waitMs`).
   */
  async leaderOf(stream: string, waitMs = 30_000): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return await this.leaderOfOnce(stream);
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async leaderOfOnce(stream: string): Promise<string> {
    const nc = await connect({ servers: this.nodes.filter((n) => n.running && !n.paused).map((n) => n.url), timeout: 2000, maxReconnectAttempts: 0 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5000 });
      const info = await jsm.streams.info(stream);
      const leader = info.cluster?.leader;
      if (!leader) throw new Error(`stream ${stream} has no leader now`);
      return leader;
    } finally {
      await nc.close();
    }
  }

  /** SIGKILL: the node dies without a word, as on a power cut. */
  async kill(name: string): Promise<void> {
    const n = this.find(name);
    const child = n.child;
    if (!child || !n.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (n.paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Start a stopped or killed node again on its ports and data directory. */
  async restart(name: string): Promise<void> {
    const n = this.find(name);
    if (n.running) await this.kill(name);
    await this.launch(n);
  }

  /** SIGSTOP: the node is alive to the OS but answers nothing (a long GC pause, a hung disk). */
  pause(name: string): void {
    const n = this.find(name);
    if (!n.running || n.paused) return;
    n.child!.kill('SIGSTOP');
    n.paused = true;
  }

  resume(name: string): void {
    const n = this.find(name);
    if (!n.running || !n.paused) return;
    n.child!.kill('SIGCONT');
    n.paused = false;
  }

  /** Kill every node and remove the data. Safe to call twice. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.name).catch(() => undefined)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private find(name: string): Node {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no cluster node named ${name}`);
    return n;
  }
}
