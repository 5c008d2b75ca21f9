// test-file-timeout: 120
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { runAgentCheck, type AgentCheckResult } from '../../../cli/agent-check/run.ts';
import { renderReport } from '../../../cli/agent-check/judge.ts';
import { startScratchNats, type ScratchNats } from '../../../cli/agent-check/scratch-nats.ts';
import { natsServerInstalled } from '../../../deploy/local/nats-server.ts';

/**
 * `caco agent check --server <url>` judges an agent that runs elsewhere (the third party's own
 * machine): the report printed on the operator's terminal is then the agent's only way there.
 * What it quotes of the agent's requests (an id, a key id in the site's reason, a subject) is the
 * agent's choice; control characters in them must not reach the terminal.
 */

/** C0 controls but the newline, DEL and C1 controls: what a terminal acts on. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;

test('caco agent check prints what a remote agent sent inert', { timeout: 100_000 }, async (t) => {
  if (!natsServerInstalled()) {
    if (process.env['CI'] === 'true') throw new Error('nats-server is required in CI');
    return t.skip('no nats-server');
  }
  let nats: ScratchNats | undefined;
  let agent: NatsConnection | undefined;
  let check: Promise<AgentCheckResult> | undefined;
  try {
    nats = await startScratchNats();
    const url = nats.url;
    const enc = (x: unknown) => Buffer.from(JSON.stringify(x));
    let started!: () => void;
    const watching = new Promise<void>((r) => (started = r));
    check = runAgentCheck({ target: 'remote', server: url, timeoutMs: 6_000, say: (l) => void (l.startsWith('scratch site') && started()) });
    await watching;
    agent = await connect({ servers: url });
    const gw = (x: string) => `caco.check.gw.${x}`;
    // Unsigned, with an id that clears the screen and homes the cursor.
    await agent.request(gw('append'), enc({ id: '\u001b[2J\u001b[H', type: 'ext.remote.a.b', version: 1, data: {}, source: 'remote' }), { timeout: 3000 });
    // A key id that retitles the window and writes the clipboard: the site's reason quotes it.
    await agent.request(gw('announce'), enc({ name: 'remote', version: '1', publishes: [], source: 'remote', keyId: '\u001b]0;owned\u0007\u001b]52;c;cm0K\u0007', sig: 'AAAA' }), { timeout: 3000 });
    // A stray on a subject that erases the line and sets a colour (ESC and C1 CSI).
    agent.publish('caco.check.x\u001b[2K\u009b31m', enc({}));
    await agent.flush();
    const r = await check;
    const text = renderReport(r.observations, r.report);
    assert.match(text, /unsigned/, text);
    assert.match(text, /is not a valid key id/, text);
    assert.doesNotMatch(text, CONTROL, `the report carries control characters the agent chose:\n${JSON.stringify(text)}`);
    assert.ok(text.includes('\\u001b[2J\\u001b[H') && text.includes('\\u001b]52;c;cm0K\\u0007'), text);
  } finally {
    await agent?.close().catch(() => undefined);
    await check?.catch(() => undefined);
    await nats?.stop();
  }
});
