// test-file-timeout: 240
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { parse } from 'yaml';
import { COMMAND_SUBJECTS, asyncApiDocument, renderAsyncApi } from '../../schemas/asyncapi.ts';
import { ALL_MESSAGES } from '../../schemas/index.ts';
import { createComputeAgent } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import type { CommandRefusal } from '../../core/runtime/intake.ts';
import { ERROR_CODES } from '../../core/gateway/protocol.ts';

const committedPath = join(import.meta.dirname, '../../schemas/asyncapi.yaml');

test('the committed schemas/asyncapi.yaml is up to date (run `npm run schemas` when this fails)', () => {
  assert.equal(readFileSync(committedPath, 'utf8'), renderAsyncApi(), 'schemas/asyncapi.yaml is stale');
});

test('the AsyncAPI document is valid AsyncAPI 3.0 by the official parser (no error diagnostics), and an invalid one is caught', async () => {
  const parser = new Parser();
  const diagnostics = await parser.validate(readFileSync(committedPath, 'utf8'));
  const errors = diagnostics.filter((d) => d.severity === 0);
  assert.deepEqual(errors.map((d) => `${d.code}: ${d.message} at ${d.path.join('/')}`), []);
  // The check has teeth: a broken payload schema and a dangling reference are errors.
  const broken = asyncApiDocument() as { components: { schemas: Record<string, unknown> }; operations: Record<string, { channel: unknown }> };
  broken.components.schemas['compute_job_submit_v1'] = { type: 'no-such-type' };
  broken.operations['request.cmd.compute.pin']!.channel = { $ref: '#/channels/nowhere' };
  const bad = (await parser.validate(JSON.stringify(broken))).filter((d) => d.severity === 0);
  assert.ok(bad.length >= 2, `expected errors, got ${bad.map((d) => d.message).join('; ')}`);
});

test('every event, every command (on its own subject), the gateway and the queries have a channel', () => {
  const doc = parse(readFileSync(committedPath, 'utf8')) as { channels: Record<string, { address: string | null; messages: Record<string, unknown> }>; operations: Record<string, { action: string; reply?: unknown; security?: unknown }> };
  for (const d of ALL_MESSAGES) {
    if (d.kind === 'event') {
      assert.equal(doc.channels[`evt.${d.type}`]?.address, `caco.{site}.evt.${d.type}`, d.type);
      assert.ok(doc.channels[`evt.${d.type}`]!.messages[`${d.type.replace(/\W/g, '_')}_v${d.version}`], `${d.type} v${d.version}`);
    } else if (d.kind === 'command') {
      const at = COMMAND_SUBJECTS[d.type]!;
      if (at.internal) {
        // Refused on the bus: no channel, no operation, only the message's shape.
        assert.equal(doc.channels[`cmd.${at.agent}.${at.name}`], undefined, d.type);
        assert.equal(doc.operations[`request.cmd.${at.agent}.${at.name}`], undefined, d.type);
        continue;
      }
      const ch = doc.channels[`cmd.${at.agent}.${at.name}`]!;
      assert.equal(ch.address, `caco.{site}.cmd.${at.agent}.${at.name}`);
      assert.deepEqual(Object.keys(ch.messages), [`${d.type.replace(/\W/g, '_')}_v${d.version}`], 'one command per subject');
      const op = doc.operations[`request.cmd.${at.agent}.${at.name}`]!;
      assert.equal(op.action, 'receive');
      assert.ok(op.reply && op.security);
    }
  }
  for (const id of ['gw.announce', 'gw.append', 'gw.read', 'q.forecast', 'q.plan', 'q.offers']) {
    assert.equal(doc.channels[id]?.address, `caco.{site}.${id}`);
    assert.ok(doc.operations[`request.${id}`]?.reply, id);
  }
  assert.equal(doc.channels['replies']?.address, null);
});

test("COMMAND_SUBJECTS is what the agents declare (the compute agent's commands, and every registered command type)", () => {
  const compute = createComputeAgent({ site: DEFAULT_SITE });
  for (const [name, type] of Object.entries(compute.commands ?? {})) assert.deepEqual(COMMAND_SUBJECTS[type], { agent: 'compute', name }, type);
  // The market agents need keys and servers to construct: their declarations are read from source.
  for (const [agent, file] of [['coordination', 'agents/coordination/coordination-agent.ts'], ['grid-operator', 'agents/grid-operator/grid-operator-agent.ts']] as const) {
    const decl = /commands: \{([^}]*)\}/.exec(readFileSync(join(import.meta.dirname, '../..', file), 'utf8'))?.[1] ?? '';
    const pairs = [...decl.matchAll(/(\w+): '([a-z.-]+)'/g)];
    assert.ok(pairs.length > 0, file);
    const internal = new Set([...(/internalCommands: \[([^\]]*)\]/.exec(readFileSync(join(import.meta.dirname, '../..', file), 'utf8'))?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]!));
    for (const [, name, type] of pairs) assert.deepEqual(COMMAND_SUBJECTS[type!], { agent, name, ...(internal.has(name!) ? { internal: true } : {}) }, `${agent}: ${type}`);
  }
  assert.deepEqual(Object.keys(COMMAND_SUBJECTS).sort(), [...new Set(ALL_MESSAGES.filter((d) => d.kind === 'command').map((d) => d.type))].sort());
});

/** Every code a command refusal carries (the compiler checks this names each CommandRefusal), and `refused` (the agent's, unrecorded). */
const COMMAND_REFUSALS: Record<CommandRefusal, true> = {
  unsigned: true,
  'unknown-key': true,
  'revoked-key': true,
  'bad-signature': true,
  'source-mismatch': true,
  'wrong-site': true,
  expired: true,
  unbound: true,
  'rate-limited': true,
  'wrong-subject': true,
  forbidden: true,
  'bad-request': true,
  schema: true,
  busy: true,
};

test("ErrorReply's code lists every code a command or gateway reply carries", () => {
  const doc = parse(readFileSync(committedPath, 'utf8')) as { components: { schemas: { ErrorReply: { properties: { error: { properties: { code: { description: string } } } } } } } };
  const description = doc.components.schemas.ErrorReply.properties.error.properties.code.description;
  const listed = new Set(description.replace(/\([^)]*\)/g, '').replace(/^why, as a code:/, '').split(',').map((c) => c.trim()));
  const missing = [...new Set([...Object.keys(COMMAND_REFUSALS), 'refused', ...ERROR_CODES])].filter((c) => !listed.has(c));
  assert.deepEqual(missing, []);
});
