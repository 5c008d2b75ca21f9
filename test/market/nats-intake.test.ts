// test-file-timeout: 180
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BECKN_STATUS_HEADER, bppSubject, DEFAULT_DOMAIN, natsBapUri, publicKeyToBase64, requestSubject, searchRequest, signRequest, subjectOfNatsUri } from '../../beckn/index.ts';
import { seededSigningKey } from '../../agents/coordination/index.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { natsServerInstalled, NatsServerProcess } from '../../deploy/local/nats-server.ts';
import { contextFor, postRaw } from './client.ts';
import { BPP_ID, dataOf, flexibility, HOUR, ofType, startMarket, T0, TEST_BAP } from './harness.ts';
import type { Rejected } from './rejection.ts';

/**
 * The NATS door of the BPP is the HTTP door's intake: the same refusals with the same bodies
 * (the HTTP status in `Beckn-Status`), each recorded once on the ledger, and one memory of
 * message ids across both transports.
 */

const skip = !natsServerInstalled() && process.env['CI'] !== 'true' ? 'nats-server not installed' : false;
const enc = (s: string) => Buffer.from(s, 'utf8');
type Reply = { status: number; headers: Readonly<Record<string, string>>; body: { message: { ack: { status: string } }; error?: { code: string; message?: string; paths?: string } } };

test('over NATS: refusals as over HTTP, recorded once each; a message sent over HTTP is a repeat over NATS', { skip }, async () => {
  const server = await NatsServerProcess.start();
  const m = await startMarket({ transport: 'nats', natsUrl: server.url, gridOperator: false });
  const client = await NatsBus.connect({ servers: server.url, name: 'caco-test-bap' });
  try {
    const ask = async (action: string, text: string, headers: Record<string, string>): Promise<Reply> => {
      const r = await client.request(requestSubject(DEFAULT_DOMAIN, action), enc(text), { timeoutMs: 5000, headers });
      return { status: Number(r.headers[BECKN_STATUS_HEADER]), headers: r.headers, body: JSON.parse(Buffer.from(r.data).toString('utf8')) as Reply['body'] };
    };
    const added = async (run: () => Promise<unknown>): Promise<Envelope[]> => {
      const before = (await m.events()).length;
      await run();
      await m.runtime.settle();
      return (await m.events()).slice(before);
    };
    const signed = (body: unknown) => {
      const text = JSON.stringify(body);
      const sig = signRequest(text, m.testBapKey, m.clock.now() / 1000, 30);
      return { text, headers: { Authorization: sig.authorization, Digest: sig.digest } };
    };

    // Unsigned: 401 with WWW-Authenticate, as over HTTP.
    let reply: Reply | undefined;
    let ev = await added(async () => (reply = await ask('search', JSON.stringify({ context: contextFor(m, 'search'), message: { intent: {} } }), {})));
    assert.equal(reply!.status, 401);
    assert.deepEqual([reply!.body.message.ack.status, reply!.body.error?.code], ['NACK', '401']);
    assert.match(reply!.headers['www-authenticate'] ?? '', /^Signature realm="bpp\.caco\.local"/);
    assert.deepEqual(ev.map((e) => e.type), ['beckn.request.rejected']);
    assert.match(dataOf<Rejected>(ev[0]!).reason, /^signature missing/);

    // No such action: 404 at the door, recorded with what it was (never its body).
    ev = await added(async () => (reply = await ask('purchase', '{"x":1}', {})));
    assert.deepEqual([reply!.status, reply!.body.error?.code], [404, '30000']);
    const refused = dataOf<Rejected & { request: { method: string; urlPath: string; sizeBytes: number } }>(ev[0]!);
    assert.deepEqual([refused.action, refused.httpStatus, refused.request.method, refused.request.urlPath, refused.request.sizeBytes], ['(none)', 404, 'NATS', 'beckn.deg_compute-flexibility.purchase', 7]);

    // Published, not requested: nobody to answer, recorded all the same.
    ev = await added(async () => {
      await client.publish(requestSubject(DEFAULT_DOMAIN, 'search'), enc('{}'));
      await client.flush();
      await new Promise((r) => setTimeout(r, 200));
    });
    assert.deepEqual(ev.map((e) => [e.type, dataOf<Rejected>(e).httpStatus]), [['beckn.request.rejected', 400]]);

    // A nats: bap_uri the key is not registered with: refused as a callback address.
    const wrongAddress = signed({ context: { ...contextFor(m, 'search'), bap_uri: natsBapUri(DEFAULT_DOMAIN, TEST_BAP.id) }, message: { intent: {} } });
    ev = await added(async () => (reply = await ask('search', wrongAddress.text, wrongAddress.headers)));
    assert.deepEqual([reply!.status, reply!.body.error?.code, reply!.body.error?.paths], [400, '30000', 'context.bap_uri']);
    assert.equal(ev.length, 1);

    // On the market's shared subject, a request naming another BPP is not ours: no answer, nothing recorded.
    const forOther = signed({ context: { ...contextFor(m, 'status'), bpp_id: 'another-bpp.example.org' }, message: { order_id: 'ord-x' } });
    ev = await added(async () => {
      await assert.rejects(client.request(requestSubject(DEFAULT_DOMAIN, 'status'), enc(forOther.text), { timeoutMs: 500, headers: forOther.headers }), /timed out/);
    });
    assert.deepEqual(ev, []);
    // On this BPP's own subject the same actions are taken (a status for an unknown order: refused by the rules).
    const own = signed({ context: contextFor(m, 'status'), message: { order_id: 'ord-x' } });
    const r = await client.request(`${bppSubject(DEFAULT_DOMAIN, BPP_ID)}.status`, enc(own.text), { timeoutMs: 5000, headers: own.headers });
    assert.equal(r.headers[BECKN_STATUS_HEADER], '400');

    // One memory of message ids: sent over HTTP (ACK, on_search by HTTP), then the same bytes over NATS.
    const search = signed({ context: contextFor(m, 'search'), message: { intent: {} } });
    const inbox = m.testBapInbox.length;
    ev = await added(async () => {
      const http = await postRaw(m, 'search', search.text, { authorization: search.headers.Authorization });
      assert.equal(http.body.message.ack.status, 'ACK');
    });
    assert.equal(ofType(ev, 'beckn.callback.scheduled').length, 1);
    ev = await added(async () => (reply = await ask('search', search.text, search.headers)));
    assert.deepEqual([reply!.status, reply!.body.message.ack.status], [200, 'ACK']);
    assert.deepEqual(ev.map((e) => [e.type, dataOf<Rejected>(e).code]), [['beckn.request.rejected', 'duplicate-message-id']]);
    await m.runtime.effectsSettled();
    assert.equal(m.testBapInbox.length, inbox + 1, 'one on_search, over HTTP');
  } finally {
    await client.close();
    await m.close();
    await server.dispose();
  }
});

test('over NATS, a BAP that never answers its callbacks delays no other BAP, and its backlog is bounded', { skip }, async () => {
  const server = await NatsServerProcess.start();
  const m = await startMarket({ transport: 'nats', natsUrl: server.url, gridOperator: false, coordination: { callbackDelivery: 'background', callbackTimeoutMs: 3_000, maxPendingPerBap: 5 } });
  const client = await NatsBus.connect({ servers: server.url, name: 'caco-test-baps' });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: T0 + 4 * HOUR, kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
    const bap = (id: string) => {
      const key = seededSigningKey('nats-fairness', id);
      const uri = natsBapUri(DEFAULT_DOMAIN, id);
      m.keys.add({ subscriber_id: id, key_id: key.uniqueKeyId, signing_public_key: publicKeyToBase64(key.privateKey), url: uri });
      return {
        uri,
        search: async () => {
          const text = JSON.stringify(searchRequest({ ...contextFor(m, 'search'), bap_id: id, bap_uri: uri }, {}));
          const sig = signRequest(text, key, m.clock.now() / 1000, 30);
          const r = await client.request(requestSubject(DEFAULT_DOMAIN, 'search'), enc(text), { timeoutMs: 5000, headers: { Authorization: sig.authorization } });
          return { status: Number(r.headers[BECKN_STATUS_HEADER]), body: JSON.parse(Buffer.from(r.data).toString('utf8')) as Reply['body'] };
        },
      };
    };
    const slow = bap('slow-bap.example.org');
    const fast = bap('fast-bap.example.org');
    // The slow BAP takes its callbacks and never answers; the fast one answers at once.
    await client.subscribe(`${subjectOfNatsUri(slow.uri)}.*`, () => undefined);
    const arrived: string[] = [];
    await client.subscribe(`${subjectOfNatsUri(fast.uri)}.*`, async (msg) => {
      arrived.push(msg.subject);
      await client.respond(msg, enc('{"message":{"ack":{"status":"ACK"}}}'));
    });
    for (let i = 0; i < 3; i++) assert.equal((await slow.search()).body.message.ack.status, 'ACK');
    await m.runtime.settle();

    const started = performance.now();
    assert.equal((await fast.search()).body.message.ack.status, 'ACK');
    while (arrived.length === 0 && performance.now() - started < 5_000) await new Promise((r) => setTimeout(r, 5));
    const tookMs = performance.now() - started;
    assert.deepEqual(arrived, [`${subjectOfNatsUri(fast.uri)}.on_search`]);
    assert.ok(tookMs < 1_000, `the other BAP's on_search took ${Math.round(tookMs)} ms`);

    // The slow BAP's backlog is its own: 5 in hand, the next is refused with 429.
    for (let i = 0; i < 2; i++) assert.equal((await slow.search()).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const refused = await slow.search();
    assert.equal(refused.status, 429);
    assert.match(refused.body.error?.message ?? '', /5 requests and callbacks are in hand for nats:beckn\.deg_compute-flexibility\.bap\.slow-bap_example_org \(at most 5\)/);
    // …and the fast BAP is still served.
    assert.equal((await fast.search()).status, 200);
  } finally {
    await client.close();
    await m.close();
    await server.dispose();
  }
});

test('over NATS: an unsigned message on the market subject is routed without parsing it, and refused on its signature', { skip }, async () => {
  const server = await NatsServerProcess.start();
  const m = await startMarket({ transport: 'nats', natsUrl: server.url, gridOperator: false });
  const client = await NatsBus.connect({ servers: server.url, name: 'caco-test-bap' });
  const parse = JSON.parse;
  let bigParses = 0;
  try {
    const big = `{"context":${JSON.stringify(contextFor(m, 'status'))},"message":{"pad":[${Array.from({ length: 100_000 }, () => '{"a":1}').join(',')}]}}`;
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      if (typeof text === 'string' && text.length > 100_000) bigParses++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    const r = await client.request(requestSubject(DEFAULT_DOMAIN, 'status'), enc(big), { timeoutMs: 5000 });
    JSON.parse = parse;
    assert.equal(r.headers[BECKN_STATUS_HEADER], '401');
    // Before: the door parsed the whole ~800 KB to see which BPP it names, then the intake again for the record.
    assert.equal(bigParses, 0, 'no parse of the unsigned body');
    // Still routed by what it names: another BPP's is not answered here.
    const other = big.replace(`"bpp_id":${JSON.stringify(BPP_ID)}`, '"bpp_id":"another-bpp.example.org"');
    assert.notEqual(other, big);
    await assert.rejects(client.request(requestSubject(DEFAULT_DOMAIN, 'status'), enc(other), { timeoutMs: 500 }), /timed out/);
  } finally {
    JSON.parse = parse;
    await client.close();
    await m.close();
    await server.dispose();
  }
});
