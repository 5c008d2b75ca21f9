// test-file-timeout: 30
/**
 * The grid operator's door for callbacks. A BPP's `bpp_uri` decides where select, init and
 * confirm go, and was taken from the callback as given: a registered BPP could send the BAP's
 * signed orders anywhere. And answers were remembered by message id alone, while every BPP
 * answers a search with the search's message id: one BPP's answer stood for another's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackIntake } from '../../../agents/grid-operator/index.ts';
import { buildContext, callbackContext, natsBppUri, newSigningIdentity, onSupportResponse, parseSigningKeyFile, signRequest, StaticKeyDirectory } from '../../../beckn/index.ts';

const NOW = Date.parse('2023-07-03T12:00:00Z');
const BAP = { id: 'grid-operator.example', uri: 'http://127.0.0.1:9001/bap' };

function bpp(id: string, url: string) {
  const made = newSigningIdentity(id, 'k1', url);
  return { id, url, key: parseSigningKeyFile(made.signingKeyFile), entry: made.directoryEntry };
}

function callback(from: ReturnType<typeof bpp>, messageId: string, bppUri: string, named: string = from.id) {
  const request = buildContext({ action: 'support', bap: BAP, bpp: { id: named, uri: bppUri }, transactionId: '0190f000-0000-7000-8000-000000000001', messageId, nowMs: NOW });
  const body = onSupportResponse(callbackContext(request, { bpp: { id: named, uri: bppUri }, nowMs: NOW }), { ref_id: 'order-1' });
  const text = JSON.stringify(body);
  const sig = signRequest(text, from.key, NOW / 1000, 30);
  return { action: 'on_support', body: Buffer.from(text), headers: { authorization: sig.authorization, digest: sig.digest } };
}

describe('the grid operator takes callbacks only as their BPP registered them', { timeout: 30_000 }, () => {
  test('a bpp_uri off the BPP\'s registered origin is refused; two BPPs answering with one message id are both taken', async () => {
    const a = bpp('bpp-a.example', 'http://127.0.0.1:9101/beckn');
    const b = bpp('bpp-b.example', 'http://127.0.0.1:9102/beckn');
    const queued: string[] = [];
    const intake = new CallbackIntake({ bapId: BAP.id, keys: new StaticKeyDirectory([a.entry, b.entry]), nowMs: () => NOW, enqueue: (_action, body) => (queued.push(body.context.bpp_id ?? ''), true) });

    const elsewhere = await intake.handle(callback(a, '0190f000-0000-7000-8000-0000000000a1', 'http://127.0.0.1:6379/'));
    assert.equal(elsewhere.body.message.ack.status, 'NACK');
    assert.match(JSON.stringify(elsewhere.body), /bpp_uri is not at the address registered for \\"bpp-a.example\\"/);
    assert.deepEqual(queued, []);

    for (const from of [a, b]) assert.equal((await intake.handle(callback(from, '0190f000-0000-7000-8000-0000000000a2', from.url))).body.message.ack.status, 'ACK');
    assert.deepEqual(queued, ['bpp-a.example', 'bpp-b.example'], "the second BPP's answer is its own, not a repeat of the first's");
    assert.equal((await intake.handle(callback(a, '0190f000-0000-7000-8000-0000000000a2', a.url))).body.message.ack.status, 'ACK');
    assert.equal(queued.length, 2, 'a true repeat is answered as before, and not queued again');

    // Over NATS: its own subject (from its verified id) is taken; another BPP's is not.
    const domain = JSON.parse(callback(a, '0190f000-0000-7000-8000-0000000000a3', a.url).body.toString('utf8')).context.domain as string;
    assert.equal((await intake.handle(callback(a, '0190f000-0000-7000-8000-0000000000a4', natsBppUri(domain, a.id)))).body.message.ack.status, 'ACK');
    assert.equal((await intake.handle(callback(a, '0190f000-0000-7000-8000-0000000000a5', natsBppUri(domain, b.id)))).body.message.ack.status, 'NACK');
  });

  test('a callback whose context names another BPP than its signer is refused: the deciders take context.bpp_id as the verified signer', async () => {
    const a = bpp('bpp-a.example', 'http://127.0.0.1:9101/beckn');
    const b = bpp('bpp-b.example', 'http://127.0.0.1:9102/beckn');
    const queued: string[] = [];
    const intake = new CallbackIntake({ bapId: BAP.id, keys: new StaticKeyDirectory([a.entry, b.entry]), nowMs: () => NOW, enqueue: (_action, body) => (queued.push(body.context.bpp_id ?? ''), true) });
    const posing = await intake.handle(callback(b, '0190f000-0000-7000-8000-0000000000b1', a.url, a.id));
    assert.equal(posing.statusCode, 401);
    assert.match(JSON.stringify(posing.body), /signed by \\"bpp-b.example\\" but the context names \\"bpp-a.example\\"/);
    assert.deepEqual(queued, []);
  });

  test('a callback is checked for text, nesting and dates as the BPP checks requests: a timestamp ahead of the clock, a ttl of days', async () => {
    const a = bpp('bpp-a.example', 'http://127.0.0.1:9101/beckn');
    const queued: string[] = [];
    const intake = new CallbackIntake({ bapId: BAP.id, keys: new StaticKeyDirectory([a.entry]), nowMs: () => NOW, enqueue: (_action, body) => (queued.push(body.context.message_id), true) });
    const signed = (mutate: (body: Record<string, unknown> & { context: Record<string, unknown> }) => void) => {
      const request = buildContext({ action: 'support', bap: BAP, bpp: { id: a.id, uri: a.url }, transactionId: '0190f000-0000-7000-8000-000000000002', messageId: '0190f000-0000-7000-8000-0000000000c1', nowMs: NOW });
      const body = JSON.parse(JSON.stringify(onSupportResponse(callbackContext(request, { bpp: { id: a.id, uri: a.url }, nowMs: NOW }), { ref_id: 'order-1' }))) as Record<string, unknown> & { context: Record<string, unknown> };
      mutate(body);
      const text = JSON.stringify(body);
      const sig = signRequest(text, a.key, NOW / 1000, 30);
      return { action: 'on_support', body: Buffer.from(text), headers: { authorization: sig.authorization, digest: sig.digest } };
    };
    // Before, taken: nothing on this side checked a callback's dates (a catalogue window to the year 2226 was planned over).
    const ahead = await intake.handle(signed((b) => (b.context.timestamp = '2025-07-03T12:00:00.000Z')));
    assert.equal(ahead.body.message.ack.status, 'NACK');
    assert.match(JSON.stringify(ahead.body), /ahead of this BAP's clock/);
    const days = await intake.handle(signed((b) => (b.context.ttl = 'P30D')));
    assert.match(JSON.stringify(days.body), /ttl P30D is longer than the \d+ h this BAP accepts/);
    assert.deepEqual(queued, []);
    assert.equal((await intake.handle(signed(() => undefined))).body.message.ack.status, 'ACK');
  });
});
