import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { NatsBus, receivedHeaders } from '../../core/bus/index.ts';
import { WallClock } from '../../core/clock/index.ts';
import { Uuid7Ids } from '../../core/ids/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { MemoryKeyring } from '../../core/ledger/index.ts';
import { SqliteEventStore } from '../../core/store/index.ts';
import { Runtime } from '../../core/runtime/index.ts';
import { KEY_ID, PARTY, SiteIdentity, newKeyFile, writeKeyFile } from '../../core/identity/index.ts';
import { UsageError } from '../errors.ts';
import { SiteGateway } from '../../core/gateway/index.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { SiteReadModel, siteQueries } from '../site-read-model.ts';
import { startScratchNats, type ScratchNats } from './scratch-nats.ts';
import { judge, type Observations, type Report, type RequestSeen, type StraySeen } from './judge.ts';
import { redactNatsServers } from '../../core/config/index.ts';

export interface AgentCheckOptions {
  /** The agent's name (its party), or a subject prefix `caco.<site>` (the agent is then `--name`). */
  readonly target: string;
  readonly name?: string;
  /** A NATS server to run the scratch site on; default a scratch nats-server on a free port. */
  readonly server?: string;
  readonly site?: string;
  /** How long to watch the agent (ms). */
  readonly timeoutMs: number;
  /** Register this public key instead of making a key file. */
  readonly publicKey?: string;
  readonly keyId?: string;
  /** The agent to run, with `{url}`, `{site}`, `{key}`, `{name}` replaced; else wait for one started by hand. */
  readonly command?: ReadonlyArray<string>;
  /** Where lines for the user go (what the scratch site is, the agent's own output). */
  readonly say?: (line: string) => void;
}

export interface AgentCheckResult {
  readonly observations: Observations;
  readonly report: Report;
}

const SERVED = /^caco\.([^.]+)\.(gw\.(announce|append|read)|q\.(forecast|plan|offers))$/;

/** Where the agent and the site are: a name, or a subject prefix naming the site. */
export function targetOf(target: string, name?: string, site?: string): { name: string; site: string } {
  if (target.includes('.')) {
    const m = /^caco\.([a-z][a-z0-9-]*)(\.|$)/.exec(target);
    if (!m) throw new Error(`"${target}" is neither an agent name nor a subject prefix caco.<site>[.…]`);
    return { name: name ?? 'agent', site: m[1]! };
  }
  return { name: target, site: site ?? 'check' };
}

/**
 * A scratch site (the gateway and the compute agent, a SQLite ledger in a temp folder, on a
 * NATS server), an outside agent given a registered key, and everything it sends watched for a
 * bounded time. The first append it makes is stored but its reply withheld, as a lost reply
 * would be: a correct agent re-sends it with the same id.
 */
export async function runAgentCheck(o: AgentCheckOptions): Promise<AgentCheckResult> {
  const { name, site } = targetOf(o.target, o.name, o.site);
  // Before anything is written: the name becomes the key file's name (a name with "/" wrote a
  // private key outside the scratch folder, left behind after the refusal that followed).
  if (!PARTY.test(name)) throw new UsageError(`${o.name !== undefined ? "--name" : "the agent to check"}: ${JSON.stringify(name.slice(0, 64))} is not an agent name: 1-128 letters, digits, ".", "_", ":", "@" or "-", starting with a letter or digit`);
  if (o.keyId !== undefined && !KEY_ID.test(o.keyId)) throw new UsageError(`--key-id: ${JSON.stringify(o.keyId.slice(0, 64))} is not a key id: 1-64 letters, digits, "_" or "-", starting with a letter or digit`);
  const say = o.say ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'caco-agent-check-'));
  const cleanups: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const requests: RequestSeen[] = [];
  const strays: StraySeen[] = [];
  const evtSeen: Array<{ subject: string; msgId: string | undefined }> = [];
  let discoverable = false;
  let child: ChildProcess | undefined;
  let nats: ScratchNats | undefined;
  // Stopped from outside (a timeout, a cancelled CI job): the scratch nats-server, the agent and
  // the folder with its private key went on without it (their parent gone). They go with it now,
  // and the signal is raised again, so the check still ends as the signal says.
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  // The agent gets SIGTERM first, as at a normal end: a wrapper (npx, npm start) passes it on
  // to the real agent, where SIGKILL would have orphaned it; SIGKILL follows after 2 s.
  const onSignal = (sig: NodeJS.Signals) => {
    for (const s of signals) process.off(s, onSignal);
    nats?.kill();
    rmSync(dir, { recursive: true, force: true });
    const raise = () => process.kill(process.pid, sig);
    const running = child && child.exitCode === null && child.signalCode === null ? child : undefined;
    if (!running) return raise();
    // Raised as the agent exits, before the check reads its exit as the end of a run.
    running.once('exit', raise);
    running.kill('SIGTERM');
    setTimeout(() => running.kill('SIGKILL'), 2000).unref();
  };
  for (const s of signals) process.once(s, onSignal);
  try {
    if (!o.server) {
      nats = await startScratchNats();
      cleanups.push(() => nats!.stop());
    }
    const url = o.server ?? nats!.url;
    const bus = await NatsBus.connect({ servers: url, name: 'caco-agent-check', timeoutMs: 3000 });
    cleanups.push(() => bus.close());
    const clock = new WallClock();
    const keyring = new MemoryKeyring();
    const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 20 });
    cleanups.push(() => store.close());
    const identity = SiteIdentity.ephemeral(keyring, clock);
    const log = silentLogger();
    const registry = cacoRegistry();
    const runtime = new Runtime({ site, store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock), registry, keyring, log, delivery: 'independent', identity });
    runtime.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
    await runtime.start();
    cleanups.push(() => runtime.stop());

    // The agent's key.
    let keyFile: string | undefined;
    if (o.publicKey) {
      await identity.admin.add({ keyId: o.keyId ?? `${name}-1`, party: name, role: 'third-party', publicKey: o.publicKey });
    } else {
      const k = newKeyFile({ party: name, role: 'third-party', ...(o.keyId ? { keyId: o.keyId } : {}) });
      keyFile = join(dir, `${basename(name)}.key`);
      writeKeyFile(keyFile, k);
      await identity.admin.add({ keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey });
    }

    // The gateway, each endpoint watched; the first accepted append's reply withheld.
    const model = new SiteReadModel();
    await model.follow(runtime.store);
    cleanups.push(() => model.close());
    const gateway = new SiteGateway({ site, bus, store: runtime.store, registry, identity, clock, log, queries: siteQueries(model, () => clock.now()), reservedNames: ['admin', 'operator', 'gateway', 'compute'], lookupKey: (k) => identity.registry.lookup(k) });
    let withheldOne = false;
    for (const e of gateway.endpoints()) {
      const kind: RequestSeen['kind'] = e.name === 'announce' || e.name === 'append' || e.name === 'read' ? e.name : 'query';
      const sub = await bus.subscribe(e.subject, async (msg) => {
        const out = await e.handle(msg.data);
        const reply = parse(out) as RequestSeen['reply'];
        const withhold = kind === 'append' && !withheldOne && reply?.ok === true && reply.duplicate === false;
        if (withhold) withheldOne = true;
        requests.push({ kind, subject: e.subject, body: parse(msg.data), reply, ...(withhold ? { withheld: true } : {}) });
        if (msg.reply && !withhold) await bus.respond(msg, out);
      });
      cleanups.push(() => sub.unsubscribe());
    }

    // Everything else the agent sends: commands (with their replies), and strays.
    const commandAt = new Map<string, { subject: string; body: Record<string, unknown> | undefined }>();
    const computeCommands = new Set(Object.keys(runtime.host('compute')!.def.commands ?? {}));
    const watch = bus.nc.subscribe('>', {
      callback: (_err, m) => {
        const subject = m.subject;
        if (subject.startsWith('$SRV.') || subject === `caco.${site}.dlq`) return;
        if (subject.startsWith('_INBOX')) {
          const asked = commandAt.get(subject);
          if (asked) {
            commandAt.delete(subject);
            requests.push({ kind: 'command', subject: asked.subject, body: asked.body, reply: parse(m.data) as RequestSeen['reply'] });
          }
          return;
        }
        // JetStream's API, KV and object stores: a third party never touches them (docs/external-agent.md,
        // section 1); the scratch site keeps its ledger in SQLite, so none of this traffic is its own.
        if (/^\$(JS|KV|O)\./.test(subject)) return void strays.push({ subject, why: 'touched JetStream directly: a third party reads and writes only through the gateway and the command subjects' });
        const parts = subject.split('.');
        if (parts[0] !== 'caco') return;
        if (parts[1] !== site) return void strays.push({ subject, why: `another site's subject (the site is "${site}")` });
        if (SERVED.test(subject)) return;
        if (parts[2] === 'evt') {
          const h = receivedHeaders(m);
          if (h === 'undecodable') return void strays.push({ subject, why: 'its headers do not decode: a site drops such a message unread' });
          return void evtSeen.push({ subject, msgId: h?.get('Nats-Msg-Id') || undefined });
        }
        if (parts[2] === 'ledger') return void strays.push({ subject, why: 'wrote to the ledger directly: facts go through caco.<site>.gw.append' });
        if (parts[2] === 'cmd' && parts.length === 5 && parts[3] === 'compute' && computeCommands.has(parts[4]!)) {
          if (m.reply) commandAt.set(m.reply, { subject, body: parse(m.data) });
          else strays.push({ subject, why: 'a command sent without a reply subject: a command is a request, and its answer (or its refusal) went nowhere' });
          return;
        }
        if (parts[2] === 'cmd') return void strays.push({ subject, why: 'no agent takes a command on this subject (see the command table in docs/external-agent.md)' });
        strays.push({ subject, why: 'not a subject of the protocol (docs/external-agent.md)' });
      },
    });
    cleanups.push(async () => watch.unsubscribe());

    say(`scratch site "${site}" on ${redactNatsServers(url)}; agent "${name}"${keyFile ? ` with key file ${keyFile}` : ' with the public key given'}; watching for ${Math.round(o.timeoutMs / 1000)} s`);
    let exited: Promise<void> = new Promise(() => undefined);
    if (o.command && o.command.length) {
      const fill = (s: string) => s.replaceAll('{url}', url).replaceAll('{site}', site).replaceAll('{key}', keyFile ?? '').replaceAll('{name}', name);
      const [cmd, ...args] = o.command.map(fill);
      child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NATS_URL: url, CACO_SITE: site, CACO_AGENT_NAME: name, ...(keyFile ? { CACO_AGENT_KEY: keyFile } : {}) } });
      child.stdout?.on('data', (b: Buffer) => say(`agent: ${b.toString().trimEnd()}`));
      child.stderr?.on('data', (b: Buffer) => say(`agent: ${b.toString().trimEnd()}`));
      exited = new Promise((r) => {
        child!.once('exit', () => r());
        child!.once('error', (e) => (say(`agent: cannot start ${cmd}: ${e.message}`), r()));
      });
    }
    const deadline = Date.now() + o.timeoutMs;
    let done = false;
    void exited.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      if (!discoverable) discoverable = await bus.nc.request(`$SRV.PING.${name}`, new Uint8Array(0), { timeout: 300 }).then(() => true, () => false);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 500))]);
    }
    // What was relayed is the site's; anything else on evt.* the agent put there itself.
    await runtime.settle();
    const stored = new Set<string>();
    for await (const e of runtime.store.readAll()) stored.add(e.id);
    // The relay publishes each stored event once here (no restart in a check): a second message
    // under a stored event's id is a copy someone else published, perhaps with other data.
    const sighted = new Set<string>();
    for (const e of evtSeen) {
      if (!e.msgId || !stored.has(e.msgId)) strays.push({ subject: e.subject, why: 'published a fact straight on evt.*: only the site publishes there; append it through caco.<site>.gw.append' });
      else if (sighted.has(e.msgId)) strays.push({ subject: e.subject, why: `re-published the site's event ${e.msgId} on evt.*: only the site publishes there` });
      else sighted.add(e.msgId);
    }
    const observations: Observations = { agent: name, site, requests, strays, discoverable };
    return { observations, report: judge(observations) };
  } finally {
    for (const s of signals) process.off(s, onSignal);
    if (child && child.exitCode === null && child.signalCode === null && child.pid) {
      const gone = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child!.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

function parse(data: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
