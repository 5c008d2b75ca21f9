// test-file-timeout: 180
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandReply } from '../../core/runtime/runtime.ts';
import { subjects } from '../../core/runtime/subjects.ts';
import { COMMAND_PARTY_BUDGET_ENV, CommandBudgets, DEFAULT_COMMAND_PARTY_BUDGET, commandPartyBudgetFromEnv, type CommandPartyBudget } from '../../core/runtime/index.ts';
import { SiteIdentity, newKeyFile, signWithKey, type LoadedKey } from '../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import { ConfigError } from '../../core/errors/errors.ts';
import { CacoMetrics } from '../../core/observability/index.ts';
import { buildJobsHttp } from '../../cli/jobs-http.ts';
import { sample } from '../core/observability/support.ts';
import { commandEnvelope, computeSite, signedCommandBytes, validJob } from './support.ts';

/**
 * The per-party command budget (CACO_COMMAND_PARTY_BUDGET): a registered third party sending
 * at its key's rate forever cannot add to the ledger without bound. Past its party's budget a
 * command is refused `rate-limited` with `retryAfterMs` before the agent sees it; other
 * parties, and operators, are not held back; once the window has passed it is taken again.
 */

const WINDOW_MS = 60_000;

function thirdParty(name: string): LoadedKey {
  const k = newKeyFile({ party: name, role: 'third-party' });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

async function budgetSite(seed: string, budget: CommandPartyBudget) {
  const site = await computeSite(seed, { commandPartyBudget: budget });
  const identity = site.rt.identity;
  assert.ok(identity instanceof SiteIdentity);
  const subject = subjects.command(site.site, 'compute', 'submit');
  const ask = async (bytes: Uint8Array) => JSON.parse(Buffer.from((await site.bus.request(subject, bytes, { timeoutMs: 5000 })).data).toString('utf8')) as CommandReply;
  let n = 0;
  /** A submit signed with `key`, as its client sends it. */
  const bytesOf = (key: LoadedKey) => Buffer.from(JSON.stringify(signWithKey(commandEnvelope(validJob(`${key.party}-${++n}`), { source: key.party }), key)));
  return { site, identity, ask, bytesOf, register: (key: LoadedKey) => identity.admin.add(key) };
}

const code = (r: CommandReply) => (r.ok ? 'ok' : (r.error.code ?? 'no code'));

describe('the command budget per party', { timeout: 120_000 }, () => {
  test("past its party's budget in commands a third party's command is refused rate-limited with retryAfterMs; another party's and an operator's are taken; after the window it is taken again", async () => {
    const { site, ask, bytesOf, register } = await budgetSite('budget-commands', { commands: 3, bytes: 1024 * 1024, windowMs: WINDOW_MS });
    const metrics = new CacoMetrics({ now: () => site.clock.now(), processMetrics: false });
    const uninstall = metrics.install();
    try {
      const acme = thirdParty('acme');
      // A second key of the same party: the budget is the party's, not the key's.
      const acme2 = thirdParty('acme');
      const other = thirdParty('other');
      for (const k of [acme, acme2, other]) await register(k);
      const first = bytesOf(acme);
      assert.deepEqual([await ask(first), await ask(bytesOf(acme2)), await ask(bytesOf(acme))].map(code), ['ok', 'ok', 'ok']);
      const head = await site.store.headPosition();
      const refused = await ask(bytesOf(acme2));
      assert.equal(refused.ok, false, JSON.stringify(refused));
      assert.ok(!refused.ok);
      assert.equal(refused.error.code, 'rate-limited');
      assert.match(refused.error.reason, /^command budget: party "acme" has sent 3 commands \(\d+ bytes\) that were taken in the last 60 s; a party may send 3 commands or 1048576 bytes in 60 s \(CACO_COMMAND_PARTY_BUDGET\); retry in \d+ ms$/);
      const wait = refused.error.retryAfterMs;
      assert.ok(typeof wait === 'number' && wait > 0 && wait <= WINDOW_MS + WINDOW_MS / 24, `retryAfterMs ${wait}`);
      assert.equal(await site.store.headPosition(), head, 'the refused command reached no agent: nothing on the ledger');
      assert.equal(code(await ask(bytesOf(acme))), 'rate-limited', 'every key of the party is held');
      // A re-send of a command already handled records nothing: still answered as a duplicate, not charged.
      const again = await ask(first);
      assert.ok(again.ok && again.duplicate && again.events.length === 0, JSON.stringify(again));
      assert.equal(code(await ask(bytesOf(other))), 'ok', 'another party is not held back');
      // The site's operator, well past what a party may send: never charged.
      for (let i = 0; i < 5; i++) assert.equal(code(await ask(await signedCommandBytes(site.rt, validJob(`op-${i}`), { source: 'operator' }))), 'ok', `operator command ${i}`);
      const text = await metrics.registry.metrics();
      assert.equal(sample(text, 'caco_commands_total', { site: site.site, agent: 'compute', outcome: 'refused', code: 'rate-limited' }), 2);
      site.clock.advanceTo(site.clock.now() + wait - 1);
      assert.equal(code(await ask(bytesOf(acme))), 'rate-limited', 'not before the wait it named');
      site.clock.advanceTo(site.clock.now() + 1);
      assert.equal(code(await ask(bytesOf(acme))), 'ok', 'taken again once the window has passed');
    } finally {
      uninstall();
      await site.close();
    }
  });

  test("past its party's budget in bytes a command is refused, naming the bytes; the refused one is not charged", async () => {
    const { site, ask, bytesOf, register } = await budgetSite('budget-bytes', { commands: 1000, bytes: 4096, windowMs: WINDOW_MS });
    try {
      const acme = thirdParty('acme');
      await register(acme);
      let sent = 0;
      let taken = 0;
      for (;;) {
        const bytes = bytesOf(acme);
        const r = await ask(bytes);
        if (!r.ok) {
          assert.equal(r.error.code, 'rate-limited', JSON.stringify(r));
          assert.ok(sent + bytes.byteLength > 4096, `refused at ${sent} + ${bytes.byteLength} bytes`);
          assert.match(r.error.reason, new RegExp(`party "acme" has sent ${taken} commands \\(${sent} bytes\\) .* a party may send 1000 commands or 4096 bytes .*CACO_COMMAND_PARTY_BUDGET`));
          assert.ok((r.error.retryAfterMs ?? 0) > 0);
          break;
        }
        sent += bytes.byteLength;
        taken++;
        assert.ok(taken < 1000, 'the byte budget holds');
      }
      assert.ok(taken >= 2, `${taken} taken before the bytes ran out`);
      // A small command still may not: the bytes used are what they were (the refused ones were not charged).
      assert.equal(code(await ask(bytesOf(acme))), 'rate-limited');
      const other = thirdParty('other');
      await register(other);
      assert.equal(code(await ask(bytesOf(other))), 'ok', 'another party is not held back');
    } finally {
      await site.close();
    }
  });

  test('POST /jobs answers a command past its budget 429 with Retry-After, the reply as the bus gives it', async () => {
    const { site, bytesOf, register } = await budgetSite('budget-http', { commands: 1, bytes: 1024 * 1024, windowMs: WINDOW_MS });
    const app = buildJobsHttp(site.rt, site.rt.store, { rateLimit: false });
    try {
      const acme = thirdParty('acme');
      await register(acme);
      const post = (payload: Buffer) => app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload });
      assert.equal((await post(bytesOf(acme))).statusCode, 202);
      const r = await post(bytesOf(acme));
      assert.equal(r.statusCode, 429, r.body);
      const body = r.json() as { ok: false; error: { code: string; reason: string; retryAfterMs: number } };
      assert.equal(body.error.code, 'rate-limited');
      assert.match(body.error.reason, /^command budget: party "acme"/);
      assert.equal(r.headers['retry-after'], String(Math.ceil(body.error.retryAfterMs / 1000)));
      assert.ok(Number(r.headers['retry-after']) >= 1);
    } finally {
      await app.close();
      await site.close();
    }
  });

  test('CommandBudgets: by party, every role but operator and admin charged; a 24 h window named in hours; a quiet party forgotten', () => {
    let now = 0;
    const budgets = new CommandBudgets({ commands: 2, bytes: 1024 * 1024 }, () => now);
    const who = (party: string, role: 'agent' | 'third-party' | 'operator' | 'admin') => ({ keyId: `${party}-${role}`, party, role });
    assert.equal(budgets.take(who('acme', 'third-party'), 100), undefined);
    assert.equal(budgets.take(who('acme', 'agent'), 100), undefined, 'a key of role agent is charged too');
    const over = budgets.take(who('acme', 'third-party'), 100);
    assert.match(over?.reason ?? '', /has sent 2 commands \(200 bytes\) that were taken in the last 24 h; a party may send 2 commands or 1048576 bytes in 24 h/);
    for (const role of ['operator', 'admin'] as const) for (let i = 0; i < 5; i++) assert.equal(budgets.take(who('acme', role), 100), undefined, role);
    assert.equal(budgets.take(who('other', 'third-party'), 100), undefined);
    assert.equal(budgets.size, 2);
    now = over!.retryAfterMs;
    assert.equal(budgets.take(who('acme', 'third-party'), 100), undefined, 'taken again after the wait it named');
    now += 2 * 24 * 3_600_000;
    assert.equal(budgets.take(who('new', 'third-party'), 100), undefined);
    assert.equal(budgets.size, 1, 'parties quiet for a window are forgotten');
  });

  test('CACO_COMMAND_PARTY_BUDGET: default, off, commands and bytes with a unit; a bad value names the variable', () => {
    assert.deepEqual(commandPartyBudgetFromEnv({}), DEFAULT_COMMAND_PARTY_BUDGET);
    assert.deepEqual(DEFAULT_COMMAND_PARTY_BUDGET, { commands: 20_000, bytes: 64 * 1024 * 1024 });
    assert.equal(commandPartyBudgetFromEnv({ [COMMAND_PARTY_BUDGET_ENV]: 'off' }), undefined);
    assert.deepEqual(commandPartyBudgetFromEnv({ CACO_COMMAND_PARTY_BUDGET: '500:16MiB' }), { commands: 500, bytes: 16 * 1024 * 1024 });
    assert.deepEqual(commandPartyBudgetFromEnv({ CACO_COMMAND_PARTY_BUDGET: ' 2000 : 5000000 ' }), { commands: 2000, bytes: 5_000_000 });
    // The gateway's variable is not this one.
    assert.deepEqual(commandPartyBudgetFromEnv({ CACO_GATEWAY_PARTY_BUDGET: '1:1KiB' }), DEFAULT_COMMAND_PARTY_BUDGET);
    for (const bad of ['20000', '0:64MiB', '10:100', '10:5XB', 'lots', '-1:1MiB', `1:${'9'.repeat(16)}`]) {
      assert.throws(
        () => commandPartyBudgetFromEnv({ CACO_COMMAND_PARTY_BUDGET: bad }),
        (e: unknown) => e instanceof ConfigError && /CACO_COMMAND_PARTY_BUDGET/.test(e.message) && /<commands>:<bytes>/.test(e.message),
        bad,
      );
    }
  });
});
