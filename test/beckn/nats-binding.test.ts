import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bapSubject,
  BecknSpecValidator,
  callbackAddressFault,
  DEFAULT_DOMAIN,
  natsBapUri,
  natsBppUri,
  natsMarketUri,
  natsUri,
  publicKeyFromBase64,
  requestSubject,
  StaticKeyDirectory,
  subjectFor,
  subjectOfNatsUri,
  subjectToken,
  verifyRequest,
} from '../../beckn/index.ts';
import { decodeBecknBody } from '../../schemas/beckn/index.ts';
import { SPEC_DIR, skipWithoutSpec } from './spec-dir.ts';

test('subjects: tokens are subject-safe, requests one token under the market, callbacks under the BAP', () => {
  assert.equal(subjectToken('deg:compute-flexibility'), 'deg_compute-flexibility');
  assert.equal(subjectToken('a.b *>c'), 'a_b___c');
  assert.equal(subjectToken(''), '_');
  assert.equal(requestSubject(DEFAULT_DOMAIN, 'confirm'), 'beckn.deg_compute-flexibility.confirm');
  assert.equal(bapSubject(DEFAULT_DOMAIN, 'rival-buyer.example.org'), 'beckn.deg_compute-flexibility.bap.rival-buyer_example_org');
  assert.equal(natsBapUri(DEFAULT_DOMAIN, 'rival-buyer.example.org'), 'nats:beckn.deg_compute-flexibility.bap.rival-buyer_example_org');
  assert.equal(natsMarketUri(DEFAULT_DOMAIN), 'nats:beckn.deg_compute-flexibility');
  assert.equal(natsBppUri(DEFAULT_DOMAIN, 'bpp.caco.local'), 'nats:beckn.deg_compute-flexibility.bpp.bpp_caco_local');
  assert.equal(subjectFor(natsBppUri(DEFAULT_DOMAIN, 'bpp.caco.local'), 'confirm'), 'beckn.deg_compute-flexibility.bpp.bpp_caco_local.confirm');
  assert.equal(subjectFor(natsBapUri(DEFAULT_DOMAIN, 'x'), 'on_search'), 'beckn.deg_compute-flexibility.bap.x.on_search');
  assert.equal(subjectFor('http://bap.example.org/beckn', 'on_search'), undefined);
  // Not a subject prefix: wildcards, empty tokens, spaces.
  for (const bad of ['nats:beckn.>', 'nats:beckn.*.x', 'nats:beckn..x', 'nats:beckn x', 'nats:', 'nats:.beckn']) assert.equal(subjectOfNatsUri(bad), undefined, bad);
  assert.throws(() => natsUri('beckn.>'), /not a subject prefix/);
});

test('a nats: callback address must be the registered one exactly; http and nats never stand for each other', () => {
  const mine = natsBapUri(DEFAULT_DOMAIN, 'rival-buyer.example.org');
  assert.equal(callbackAddressFault(mine, mine, 'rival-buyer.example.org'), undefined);
  // Someone else's subject, a deeper one, or a wildcard: refused.
  for (const asked of [natsBapUri(DEFAULT_DOMAIN, 'grid-operator.caco.local'), `${mine}.x`, 'nats:beckn.deg_compute-flexibility.bap.>']) {
    assert.equal(callbackAddressFault(asked, mine, 'rival-buyer.example.org')?.path, 'context.bap_uri', asked);
  }
  assert.match(callbackAddressFault(mine, 'http://rival.example.org/beckn', 'rival-buyer.example.org')?.message ?? '', /not the address registered/);
  assert.match(callbackAddressFault('http://rival.example.org/beckn', mine, 'rival-buyer.example.org')?.message ?? '', /not the address registered/);
  // HTTP is unchanged: same origin.
  assert.equal(callbackAddressFault('http://rival.example.org/beckn/cb', 'http://rival.example.org/beckn', 'r'), undefined);
});

/** The example of docs/beckn.md §4a: its headers and payload, exactly as written there. */
function docExample(): { headers: Record<string, string>; payload: string; publicKey: string } {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/beckn.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Example: a `search` over NATS'));
  const auth = /^Authorization: (.+)$/m.exec(section)![1]!;
  const digest = /^Digest: (.+)$/m.exec(section)![1]!;
  const payload = /```json\n(.+)\n```/.exec(section)![1]!;
  const publicKey = /public key\s+`([A-Za-z0-9+/=]{44})`/.exec(section)![1]!;
  return { headers: { Authorization: auth, Digest: digest }, payload, publicKey };
}

test('the documented NATS example verifies as written, and decodes with a nats: bap_uri', async () => {
  const ex = docExample();
  const keys = new StaticKeyDirectory([{ subscriber_id: 'rival-buyer.example.org', key_id: 'k1', signing_public_key: ex.publicKey, url: natsBapUri(DEFAULT_DOMAIN, 'rival-buyer.example.org') }]);
  assert.ok(publicKeyFromBase64(ex.publicKey));
  const ok = await verifyRequest(ex.headers, Buffer.from(ex.payload, 'utf8'), keys, Date.parse('2026-01-15T10:00:10Z') / 1000);
  assert.equal(ok.ok, true, JSON.stringify(ok));
  const changed = await verifyRequest(ex.headers, Buffer.from(ex.payload.replace('"100"', '"101"'), 'utf8'), keys, Date.parse('2026-01-15T10:00:10Z') / 1000);
  assert.equal(changed.ok, false);
  const decoded = decodeBecknBody('search', JSON.parse(ex.payload));
  assert.ok(decoded.ok, JSON.stringify(decoded));
  assert.equal(decoded.value.context.bap_uri, 'nats:beckn.deg_compute-flexibility.bap.rival-buyer_example_org');
  // A nats: address that is not a subject prefix is refused by the schema.
  const bad = decodeBecknBody('search', JSON.parse(ex.payload.replace('nats:beckn.deg_compute-flexibility.bap.rival-buyer_example_org', 'nats:beckn.>')));
  assert.equal(bad.ok, false);
});

test('the published spec takes a nats: bap_uri and bpp_uri (format: uri)', { skip: skipWithoutSpec }, () => {
  const v = BecknSpecValidator.fromFile(join(SPEC_DIR!, 'core-v1.1.1', 'transaction.yaml'));
  const body = JSON.parse(docExample().payload) as { context: Record<string, unknown> };
  assert.deepEqual(v.validateRequest('search', body, 'lenient'), []);
  assert.deepEqual(v.validateRequest('search', body, 'strict'), []);
  const cb = { context: { ...body.context, action: 'on_rating', bpp_id: 'bpp.caco.local', bpp_uri: natsBppUri(DEFAULT_DOMAIN, 'bpp.caco.local') }, message: {} };
  assert.deepEqual(v.validateRequest('on_rating', cb, 'strict'), []);
});
