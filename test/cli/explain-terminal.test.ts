import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type CommandReply } from '../../core/runtime/runtime.ts';
import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { FileKeyring, privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';
import { SeededRandom, Uuid7Ids } from '../../core/ids/ids.ts';
import { silentLogger } from '../../core/log/logger.ts';
import { newKeyFile, signWithKey, SiteIdentity, type LoadedKey } from '../../core/identity/index.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';

/**
 * What `caco explain` prints of the ledger is, in part, chosen by outside parties: a job's
 * submitter may pin its own job with an `operator` and a `reason` of their choosing (any text
 * up to the schema's length). Printed as stored, control characters in them (ESC sequences,
 * carriage returns) would drive the operator's terminal: clear it, rewrite lines, retitle it,
 * write to its clipboard (OSC 52). The explanation must show them, inert.
 */

const root = join(import.meta.dirname, '../..');
const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

let seq = 0;
const envelope = (name: string, source: string, data: unknown) => {
  const id = `cmd-${++seq}`;
  return { id, type: `compute.job.${name}`, version: 1, time: iso(T0), source, correlationId: id, causationId: null, data };
};

async function request(bus: MemoryBus, name: string, body: unknown): Promise<CommandReply> {
  const res = await bus.request(`caco.term.cmd.compute.${name}`, Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 });
  return JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
}

/** C0 controls but the newline, DEL and C1 controls: what a terminal acts on. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;

describe('caco explain prints what outside parties wrote without letting it drive the terminal', { timeout: 180_000 }, () => {
  test("a submitter's pin with ESC sequences and a carriage return in operator and reason is printed inert", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-explain-term-'));
    const keyring = new FileKeyring(join(dir, 'keys'));
    const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 20 });
    const bus = new MemoryBus();
    const clock = new SimulatedClock(T0);
    const identity = SiteIdentity.ephemeral(keyring, clock);
    const rt = new Runtime({ site: 'term', store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock, new SeededRandom('ids:term')), log: silentLogger(), registry: cacoRegistry(), delivery: 'lockstep', identity, keyring });
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
    let stopped = false;
    try {
      await rt.start();
      await rt.settle();
      const k = newKeyFile({ party: 'alice', role: 'third-party' });
      const alice: LoadedKey = { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
      await identity.admin.add(alice);

      const job = { jobId: 'a1', class: 'training', powerKw: 500, runtimeMin: 60, earliestStart: iso(T0 + H), deadline: iso(T0 + 4 * H), slaClass: 'silver', preemptible: false };
      const submitted = await request(bus, 'submit', signWithKey(envelope('submit', 'alice', job), alice));
      assert.ok(submitted.ok && submitted.events.some((e) => e.type === 'compute.job.submitted'), JSON.stringify(submitted));
      // Clear the screen, home the cursor, retitle the window, set the clipboard, overwrite the line, forge a line.
      const operator = '\u001b]0;owned\u0007\u001b]52;c;cm0gLXJmIH4K\u0007ops';
      const reason = 'ok\u001b[2J\u001b[H\rledger OK: nothing to see\u009b31m\n    ledger: forged';
      const pinned = await request(bus, 'pin', signWithKey(envelope('pin', 'alice', { jobId: 'a1', startAt: iso(T0 + 2 * H), operator, reason }), alice));
      const pin = pinned.ok ? pinned.events.find((e) => e.type === 'compute.job.pinned') : undefined;
      assert.ok(pin, JSON.stringify(pinned));
      assert.equal((pin.data as { reason: string }).reason, reason, 'the ledger keeps what was sent');
      await rt.settle();
      await rt.stop();
      await store.close();
      await bus.close();
      stopped = true;

      const r = caco(['explain', 'a1', '--ledger', join(dir, 'ledger.db')]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.stdout.split('\n').find((l) => l.includes('pinned by'));
      assert.ok(line, r.stdout);
      assert.doesNotMatch(r.stdout, CONTROL, `caco explain printed control characters from the ledger:\n${JSON.stringify(r.stdout)}`);
      // Shown, not dropped: the operator sees what was written.
      assert.ok(line.includes('\\u001b[2J') && line.includes('\\r') && line.includes('\\u009b31m') && line.includes('\\n    ledger: forged') && line.includes('ledger OK: nothing to see'), line);
    } finally {
      if (!stopped) {
        await rt.stop().catch(() => undefined);
        await store.close().catch(() => undefined);
        await bus.close().catch(() => undefined);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
