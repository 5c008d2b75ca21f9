// test-file-timeout: 200
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runAgentCheck, targetOf } from '../../../cli/agent-check/run.ts';
import { judge, renderReport } from '../../../cli/agent-check/judge.ts';
import { natsServerInstalled } from '../../../deploy/local/nats-server.ts';

const agentScript = join(import.meta.dirname, 'fixtures/outside-agent.mjs');

function needsNats(t: { skip(m: string): void }): boolean {
  if (natsServerInstalled()) return true;
  if (process.env['CI'] === 'true') throw new Error('nats-server is required in CI');
  t.skip('no nats-server');
  return false;
}

test('targetOf: a name, or a subject prefix naming the site', () => {
  assert.deepEqual(targetOf('acme'), { name: 'acme', site: 'check' });
  assert.deepEqual(targetOf('caco.london.gw', 'acme'), { name: 'acme', site: 'london' });
  assert.throws(() => targetOf('nats.x'), /neither an agent name nor a subject prefix/);
});

test('an agent that never shows up fails "announced"', () => {
  const r = judge({ agent: 'ghost', site: 'check', requests: [], strays: [], discoverable: false });
  assert.equal(r.ok, false);
  assert.match(renderReport({ agent: 'ghost', site: 'check', requests: [], strays: [], discoverable: false }, r), /FAIL {2}announced itself on the gateway\n {8}it never sent an announcement on caco\.check\.gw\.announce/);
});

test('requests bound to the site and a short time pass; missing is advice; refused for them fails', () => {
  const reply = { ok: true };
  const req = (body: Record<string, unknown>, r: { ok: boolean; error?: { code: string; field: string; reason: string } } = reply) => ({ kind: 'append' as const, subject: 'caco.check.gw.append', body: { id: 'f1', source: 'acme', keyId: 'k', sig: 's', ...body }, reply: r });
  const bindingPoint = (requests: ReturnType<typeof req>[]) => judge({ agent: 'acme', site: 'check', requests, strays: [], discoverable: false }).points.find((p) => p.name.startsWith('bound to the site'));
  assert.equal(bindingPoint([req({ site: 'check', expiresAt: '2026-12-05T10:00:00Z' })])?.verdict, 'pass');
  const advice = bindingPoint([req({ site: 'check', expiresAt: '2026-12-05T10:00:00Z' }), req({})]);
  assert.equal(advice?.verdict, 'info');
  assert.match(advice!.details[0]!, /^1 of 2 signed request\(s\) without "site" and "expiresAt"/);
  const refused = bindingPoint([req({ site: 'elsewhere' }, { ok: false, error: { code: 'wrong-site', field: 'site', reason: 'wrong site: the command is for site "elsewhere"; this is site "check"' } })]);
  assert.equal(refused?.verdict, 'fail');
  assert.match(refused!.details[0]!, /wrong site/);
});

test('a request refused as bad-request fails "well-formed requests"; other refusals are listed', () => {
  const seen = (code: string, kind: 'command' | 'query' = 'command') => ({ kind, subject: `caco.check.${kind === 'command' ? 'cmd.compute.submit' : 'q.plan'}`, body: undefined, reply: { ok: false, error: { code, field: null, reason: `refused: ${code}` } } });
  const r = judge({ agent: 'acme', site: 'check', requests: [seen('bad-request'), seen('bad-request', 'query'), seen('busy')], strays: [], discoverable: false });
  const well = r.points.find((p) => p.name.startsWith('well-formed requests'));
  assert.equal(well?.verdict, 'fail');
  assert.equal(well!.details.length, 2);
  assert.deepEqual(r.points.find((p) => p.name === 'other refusals')?.details, ['busy: caco.check.cmd.compute.submit: refused: busy']);
  assert.equal(r.ok, false);
});

test('caco agent check: a faulty agent is caught on each mistake; a correct one passes', async (t) => {
  if (!needsNats(t)) return;
  const lines: string[] = [];
  const faulty = await runAgentCheck({ target: 'meter-faulty', timeoutMs: 60_000, command: [process.execPath, agentScript, 'faulty'], say: (l) => lines.push(l) });
  const text = renderReport(faulty.observations, faulty.report);
  const verdict = (prefix: string) => faulty.report.points.find((p) => p.name.startsWith(prefix));
  assert.equal(faulty.report.ok, false, text);
  assert.equal(verdict('signed (')?.verdict, 'fail', text);
  assert.match(verdict('signed (')!.details.join('\n'), /caco\.check\.gw\.announce: unsigned/);
  assert.equal(verdict('signed by a registered')?.verdict, 'fail', text);
  assert.match(verdict('signed by a registered')!.details.join('\n'), /unknown key "meter-faulty-rogue"/);
  assert.equal(verdict('facts and commands valid')?.verdict, 'fail', text);
  assert.match(verdict('facts and commands valid')!.details.join('\n'), /data\.kw: must be >= 0/);
  assert.equal(verdict('every message on its own subject')?.verdict, 'fail', text);
  const subjects = verdict('every message on its own subject')!.details.join('\n');
  assert.match(subjects, /caco\.check\.gw\.announce.*this is an append/);
  assert.match(subjects, /caco\.check\.evt\.ext\.meter-faulty\.meter\.read: published a fact straight on evt\.\*/);
  assert.match(subjects, /caco\.check\.cmd\.compute\.pin.*wrong subject/);
  // Found by a helper's walk through the docs: these three passed.
  assert.match(subjects, /caco\.check\.cmd\.compute\.submit: a command sent without a reply subject/);
  assert.match(subjects, /\$JS\.API\.STREAM\.INFO\.CACO_CHECK: touched JetStream directly/);
  assert.equal(verdict('well-formed requests')?.verdict, 'fail', text);
  assert.match(verdict('well-formed requests')!.details.join('\n'), /caco\.check\.cmd\.compute\.submit: malformed JSON/);
  assert.equal(verdict('dedupe')?.verdict, 'fail', text);
  assert.match(verdict('dedupe')!.details.join('\n'), /sent again under a new id .*: it is now on the ledger twice/);
  assert.equal(verdict('announced')?.verdict, 'pass', text);

  const good = await runAgentCheck({ target: 'meter-good', timeoutMs: 60_000, command: [process.execPath, agentScript, 'good'], say: (l) => lines.push(l) });
  const goodText = renderReport(good.observations, good.report);
  assert.equal(good.report.ok, true, `${goodText}\n${lines.join('\n')}`);
  assert.match(goodText, /re-sent id .* after a lost reply and got the same position \(duplicate: true\)/);
  assert.match(goodText, /1 command\(s\), 1 accepted/);
  assert.match(goodText, /ok {4}bound to the site and a short time/);
  assert.equal(verdict('bound to the site')?.verdict, 'info', text);
});

test('an agent name or key id that is no name is refused before anything is written', async () => {
  // Found by a helper's review, run there: `--name ../../../tmp/x/evil` wrote a private key to
  // /tmp/x/evil.key and left it there after the refusal that followed.
  const { existsSync, mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'caco-agent-check-name-'));
  try {
    await assert.rejects(runAgentCheck({ target: 'caco.check', name: `../../..${dir}/evil`, timeoutMs: 1000 }), /--name: ".*evil" is not an agent name/);
    await assert.rejects(runAgentCheck({ target: 'a/b', timeoutMs: 1000 }), /the agent to check: "a\/b" is not an agent name/);
    await assert.rejects(runAgentCheck({ target: 'ok-name', keyId: '../k', timeoutMs: 1000 }), /--key-id: "\.\.\/k" is not a key id/);
    assert.equal(existsSync(join(dir, 'evil.key')), false);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
