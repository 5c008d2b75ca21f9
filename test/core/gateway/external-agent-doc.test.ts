// test-file-timeout: 120
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ask, gatewaySite } from './support.ts';
import { canonicalJson } from '../../../core/ledger/canonical-json.ts';
import { hashEvent } from '../../../core/ledger/seal.ts';
import { privateKeyFromSeed, rawPublicKey } from '../../../core/ledger/keyring.ts';
import { authenticateCommand } from '../../../core/identity/index.ts';
import { ERROR_CODES } from '../../../core/gateway/index.ts';
import { CommandEnvelopeSchema, EnvelopeSchema, cacoRegistry, decodeWith } from '../../../schemas/index.ts';
import { AnnounceRequest, AppendRequest, ForecastQuery, KeysQuery, OffersQuery, PlanQuery, ReadRequest } from '../../../schemas/gateway.ts';
import { asyncApiDocument } from '../../../schemas/asyncapi.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

/**
 * docs/external-agent.md cannot rot: every JSON block marked `<!-- check: name -->` parses, every
 * request is run through a real gateway with the documented example key registered and must get
 * the documented reply (ok, code, field, positions where the example is deterministic), every
 * reply matches the AsyncAPI document's reply schema, and the step-by-step signature is exact.
 */

const doc = readFileSync(join(import.meta.dirname, '../../../docs/external-agent.md'), 'utf8');
const blocks = new Map<string, string>();
for (const m of doc.matchAll(/<!-- (check|canonical-of): ([a-z0-9-]+) -->\n```(?:json|text)\n([\s\S]*?)\n```/g)) {
  const name = m[1] === 'check' ? m[2]! : `canonical-of:${m[2]}`;
  assert.ok(!blocks.has(name), `${name} appears twice`);
  blocks.set(name, m[3]!);
}
const json = (name: string): Record<string, unknown> => {
  const b = blocks.get(name);
  assert.ok(b, `docs/external-agent.md has no block "${name}"`);
  return JSON.parse(b) as Record<string, unknown>;
};
const seed = /<!-- example-seed -->`([^`]+)`/.exec(doc)![1]!;
const publicKey = /<!-- example-public-key -->`([^`]+)`/.exec(doc)![1]!;
const exampleKey = { keyId: 'acme-battery-1', party: 'acme-battery', role: 'third-party' as const, publicKey, privateKey: privateKeyFromSeed(Buffer.from(seed, 'base64')) };

/** The reply schemas of the AsyncAPI document, with its `#/components/schemas/…` references resolvable. */
function replyValidator() {
  const api = asyncApiDocument() as { components: { schemas: Record<string, unknown>; messages: Record<string, { payload: unknown }> } };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'asyncapi', components: { schemas: api.components.schemas } });
  const fix = (s: unknown): unknown => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"asyncapi#/components/'));
  return (message: string, value: unknown) => {
    const validate = ajv.compile(fix(api.components.messages[message]!.payload) as object);
    assert.ok(validate(value), `${message}: ${JSON.stringify(validate.errors)}`);
  };
}

test('the example key in the doc is one key: the seed gives the public key', () => {
  assert.equal(rawPublicKey(createPublicKey(exampleKey.privateKey)).toString('base64'), publicKey);
});

test('the step-by-step signature: the canonical bytes shown are those of the append example, and its sig verifies over them', async () => {
  const req = json('append-request');
  const { sig: _sig, ...unsigned } = req;
  assert.equal(blocks.get('canonical-of:append-request'), canonicalJson(unsigned));
  const auth = await authenticateCommand(req, async () => ({ found: true, entry: { format: 'caco-key-entry/1', keyId: 'acme-battery-1', party: 'acme-battery', role: 'third-party', publicKey, status: 'active', createdAt: '2026-12-03T00:00:00Z', revokedAt: null, adminSig: '' } }));
  assert.equal(auth.ok, true, JSON.stringify(auth));
});

test('every request in the doc gets the documented reply from a real gateway, and every reply fits the AsyncAPI document', async () => {
  const site = await gatewaySite('doc-examples', { site: 'london' });
  const validReply = replyValidator();
  try {
    await site.identity.admin.add(exampleKey);
    const A = 'caco.london.gw.announce', P = 'caco.london.gw.append';
    const same = (got: Record<string, unknown>, want: Record<string, unknown>, name: string, exact: string[] = []) => {
      assert.equal(got['ok'], want['ok'], `${name}: ${JSON.stringify(got)}`);
      if (want['ok'] === false) {
        const g = got['error'] as { code: string; field: string | null; reason: string };
        const w = want['error'] as { code: string; field: string | null; reason: string };
        assert.equal(g.code, w.code, name);
        assert.equal(g.field, w.field, name);
        assert.equal(g.reason, w.reason, name);
        assert.ok((ERROR_CODES as readonly string[]).includes(w.code), name);
      }
      for (const k of exact) assert.deepEqual(got[k], want[k], `${name}: ${k}`);
    };

    assert.equal(decodeWith(AnnounceRequest, json('announce-request')).ok, true);
    same(await ask(site.s.bus, A, json('announce-request')), json('announce-reply'), 'announce', ['stream', 'position']);
    validReply('gw_announce_reply', json('announce-reply'));

    assert.equal(decodeWith(AppendRequest, json('append-request')).ok, true);
    same(await ask(site.s.bus, P, json('append-request')), json('append-reply'), 'append', ['id', 'eventId', 'stream', 'position', 'revision', 'duplicate']);
    same(await ask(site.s.bus, P, json('append-request')), json('append-again-reply'), 'append again', ['id', 'eventId', 'position', 'duplicate']);
    validReply('gw_append_reply', json('append-reply'));
    for (const name of ['append-conflict', 'append-schema', 'append-undeclared', 'append-unsigned', 'append-unknown-key', 'append-bad-signature', 'append-command']) {
      same(await ask(site.s.bus, P, json(`${name}-request`)), json(`${name}-reply`), name);
      validReply('gw_append_reply', json(`${name}-reply`));
    }

    assert.equal(decodeWith(ReadRequest, json('read-request')).ok, true);
    const read = await ask(site.s.bus, 'caco.london.gw.read', json('read-request'));
    const docRead = json('read-reply');
    validReply('gw_read_reply', docRead);
    const docEvents = docRead['events'] as Envelope[];
    assert.deepEqual((read['events'] as Envelope[]).map((e) => [e.id, e.type, e.position, e.correlationId, e.data]), docEvents.map((e) => [e.id, e.type, e.position, e.correlationId, e.data]));
    for (const e of docEvents) {
      assert.equal(decodeWith(EnvelopeSchema, e).ok, true);
      assert.equal(hashEvent(e), e.hash, 'the documented event hashes to its hash');
    }

    for (const [q, schema] of [['forecast', ForecastQuery], ['plan', PlanQuery], ['offers', OffersQuery], ['keys', KeysQuery]] as const) {
      assert.equal(decodeWith(schema, json(`${q}-request`)).ok, true, q);
      validReply(`q_${q}_reply`, json(`${q}-reply`));
    }

    const cmd = json('command-request');
    assert.equal(decodeWith(CommandEnvelopeSchema, cmd).ok, true);
    assert.equal(cacoRegistry().decode(String(cmd['type']), Number(cmd['version']), cmd['data']).ok, true);
    assert.equal((await site.identity.authenticate(cmd)).ok, true, 'the command example is signed by the example key');
    validReply('CommandReply', json('command-reply'));
    validReply('CommandReply', json('command-wrong-subject-reply'));

    for (const [name, kind] of [['srv-ping-reply', 'ping'], ['srv-info-reply', 'info']] as const) {
      const r = json(name);
      assert.equal(r['type'], `io.nats.micro.v1.${kind}_response`);
      for (const v of Object.values(r['metadata'] as Record<string, unknown>)) assert.equal(typeof v, 'string', 'service metadata values are strings');
    }
  } finally {
    await site.close();
  }
});
