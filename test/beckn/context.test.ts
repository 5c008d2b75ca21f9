import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authFailure,
  becknTimestamp,
  buildContext,
  callbackContext,
  checkCancel,
  checkQuote,
  checkUpdate,
  expectedSigner,
  formatIsoDuration,
  isExpired,
  nack,
  parseIsoDuration,
  quoteFor,
  schemaFault,
  timeFault,
} from '../../beckn/index.ts';
import { decodeBecknBody, FULL_SCHEMA_REPORT_BYTES } from '../../schemas/beckn/index.ts';
import { BAP, BPP, sampleOffer } from './flow.ts';

const now = Date.parse('2026-01-15T16:03:00Z');
const ids = { transactionId: '0b7f5a8e-3c1d-4f52-9a0e-6d2b8c4e1f70', messageId: '3b3c9e5a-0f1d-4c83-a2b4-9d8e7f6a5b04' };

describe('context', () => {
  test('buildContext fills version 1.1.0, the default domain, London and a UTC timestamp', () => {
    const c = buildContext({ action: 'confirm', bap: BAP, bpp: BPP, nowMs: now, ...ids });
    assert.deepEqual(c, {
      domain: 'deg:compute-flexibility',
      location: { country: { code: 'GBR' }, city: { code: 'std:020' } },
      action: 'confirm',
      version: '1.1.0',
      bap_id: BAP.id,
      bap_uri: BAP.uri,
      transaction_id: ids.transactionId,
      message_id: ids.messageId,
      timestamp: '2026-01-15T16:03:00Z',
      ttl: 'PT30S',
      bpp_id: BPP.id,
      bpp_uri: BPP.uri,
    });
    const other = buildContext({ action: 'search', bap: BAP, nowMs: now + 5, ...ids, domain: 'deg:flex-test', ttl: 'PT1M', location: null });
    assert.equal(other.domain, 'deg:flex-test');
    assert.equal(other.location, undefined);
    assert.equal(other.bpp_id, undefined);
    assert.equal(other.timestamp, '2026-01-15T16:03:00.005Z');
  });

  test('a callback keeps the transaction and message ids unless it is unsolicited', () => {
    const req = buildContext({ action: 'status', bap: BAP, bpp: BPP, nowMs: now, ...ids });
    const cb = callbackContext(req, { bpp: BPP, nowMs: now + 1000 });
    assert.equal(cb.action, 'on_status');
    assert.equal(cb.message_id, ids.messageId);
    assert.equal(cb.transaction_id, ids.transactionId);
    assert.equal(cb.timestamp, '2026-01-15T16:03:01Z');
    const push = callbackContext(req, { bpp: BPP, nowMs: now + 60_000, messageId: '11111111-2222-4333-8444-555555555555' });
    assert.equal(push.message_id, '11111111-2222-4333-8444-555555555555');
    assert.equal(expectedSigner(req), BAP.id);
    assert.equal(expectedSigner(cb), BPP.id);
  });

  test('ISO durations', () => {
    assert.equal(parseIsoDuration('PT30S'), 30_000);
    assert.equal(parseIsoDuration('PT15M'), 900_000);
    assert.equal(parseIsoDuration('P1DT2H'), 26 * 3_600_000);
    assert.equal(parseIsoDuration('PT0.5S'), 500);
    assert.equal(parseIsoDuration('P1M'), 30 * 86_400_000);
    assert.equal(parseIsoDuration('30 seconds'), undefined);
    assert.equal(parseIsoDuration('P'), undefined);
    assert.equal(parseIsoDuration('PT'), undefined);
    for (const ms of [0, 1000, 59_000, 900_000, 5_400_000, 86_400_000, 93_784_000]) assert.equal(parseIsoDuration(formatIsoDuration(ms)), ms);
    assert.equal(formatIsoDuration(5_400_000), 'PT1H30M');
  });

  test('a message past timestamp + ttl is expired', () => {
    const c = { timestamp: '2026-01-15T16:03:00Z', ttl: 'PT30S' };
    assert.equal(isExpired(c, now + 30_000), false);
    assert.equal(isExpired(c, now + 30_001), true);
    assert.equal(isExpired(c, now + 31_000, 2000), false);
    // Issue 15.5: a message without ttl used to be valid for ever; it gets the default PT30S.
    assert.equal(isExpired({ timestamp: c.timestamp }, now + 30_000), false, 'no ttl: valid for the default 30 s');
    assert.equal(isExpired({ timestamp: c.timestamp }, now + 30_001), true, 'no ttl: expired after the default');
  });

  test('a message whose expiry cannot be read is expired, and the intake refuses it naming the field', () => {
    // Seconds "60" pass the schema's pattern, but Date.parse gives NaN: before, such a message never expired.
    const leap = { timestamp: '2026-01-15T16:02:60Z', ttl: 'PT30S' };
    assert.equal(isExpired(leap, now), true);
    assert.equal(isExpired({ timestamp: '2026-01-15T16:03:00Z', ttl: 'PT30 seconds' }, now), true, 'an unreadable ttl too');
    const at = (context: { timestamp: string; ttl?: string }, message: Record<string, unknown> = {}) => {
      // The whole body is walked for date-times, not only the context.
      const body = { context, message };
      return timeFault(body, now);
    };
    assert.deepEqual(at(leap), { code: '30000', message: 'Invalid request error: timestamp 2026-01-15T16:02:60Z is not a valid instant', path: 'context.timestamp' });
    assert.deepEqual(at({ timestamp: '2026-01-15T16:03:00Z', ttl: 'PT30 seconds' }), { code: '30000', message: 'Invalid request error: ttl PT30 seconds is not an ISO 8601 duration', path: 'context.ttl' });
    const window = at({ timestamp: '2026-01-15T16:03:00Z' }, { order: { fulfillments: [{ stops: [{ time: { timestamp: '2026-01-15T25:00:00Z' } }] }] } });
    assert.deepEqual(window, { code: '30000', message: 'Invalid request error: date 2026-01-15T25:00:00Z is not a valid instant', path: 'message.order.fulfillments[0].stops[0].time.timestamp' });
    assert.equal(at({ timestamp: '2026-01-15T16:02:59Z', ttl: 'PT30S' }), undefined);
  });

  test('only a string that is a whole RFC 3339 date-time is checked as one: free text and intervals that begin like one pass', () => {
    const at = (message: Record<string, unknown>) => {
      const body = { context: { timestamp: '2026-01-15T16:03:00Z', ttl: 'PT30S' }, message };
      return timeFault(body, now);
    };
    const stop = (time: Record<string, unknown>, tags: string[] = []) => ({
      intent: { fulfillment: { stops: [{ type: 'start', time }], tags: [{ descriptor: { code: 'notes' }, list: tags.map((value) => ({ descriptor: { code: 'note' }, value })) }] } },
    });
    // Before, each was refused as "not a valid instant": the check took any string starting like a date-time.
    assert.equal(at(stop({ label: '2026-01-15T16:03:01 UTC' })), undefined, 'free text');
    assert.equal(at(stop({ label: '2026-01-15T16:03:01Z is when the window opens' })), undefined, 'free text after a date-time');
    assert.equal(at(stop({}, ['2026-01-15T16:00:00Z/2026-01-15T17:00:00Z'])), undefined, 'an ISO 8601 interval');
    assert.equal(at(stop({}, ['2026-01-15T16:00:00Z/PT1H'])), undefined, 'an interval with a duration');
    // What is a date-time (a leap second, an offset, lower case, a fraction) is still read, and refused when it is no instant or far ahead.
    const path = 'message.intent.fulfillment.stops[0].time.timestamp';
    for (const bad of ['2026-01-15T16:02:60Z', '2026-01-15T16:02:60+00:00', '2026-01-15T16:02:60.5-01:30', '2026-01-15t16:02:60z', '2026-01-15 16:02:60Z', '2026-01-15T24:00:01Z']) {
      assert.deepEqual(at(stop({ timestamp: bad })), { code: '30000', message: `Invalid request error: date ${bad} is not a valid instant`, path }, bad);
    }
    for (const far of ['2099-06-01T17:00:00Z', '2099-06-01T17:00:00.123456+05:30', '2099-06-01t17:00:00z']) {
      assert.deepEqual(at(stop({ timestamp: far })), { code: '30000', message: `Invalid request error: date ${far} is more than 366 days ahead`, path }, far);
    }
    assert.deepEqual(at(stop({}, ['ok', '2026-01-15T16:02:60Z'])), {
      code: '30000',
      message: 'Invalid request error: date 2026-01-15T16:02:60Z is not a valid instant',
      path: 'message.intent.fulfillment.tags[0].list[1].value',
    });
    assert.equal(at(stop({ timestamp: '2026-01-15T17:00:00+01:00', range: { start: '2026-01-15T18:00:00.250Z', end: '2026-01-15T19:00:00-00:00' } })), undefined);
  });

  test('a day its month does not have is no instant: Date.parse would roll it over to another day', () => {
    const body = (timestamp: string, message: Record<string, unknown> = {}) => {
      const b = { context: { timestamp, ttl: 'PT30S' }, message };
      return timeFault(b, now);
    };
    // Before, 2026-02-30 was read as 2 March, and 2025-11-31 as 1 December.
    assert.deepEqual(body('2026-01-15T16:03:00Z', { time: { timestamp: '2026-02-30T10:00:00Z' } }), { code: '30000', message: 'Invalid request error: date 2026-02-30T10:00:00Z is not a valid instant', path: 'message.time.timestamp' });
    assert.deepEqual(body('2026-01-15T16:03:00Z', { time: { timestamp: '2026-04-31T00:00:00+01:00' } }), { code: '30000', message: 'Invalid request error: date 2026-04-31T00:00:00+01:00 is not a valid instant', path: 'message.time.timestamp' });
    assert.deepEqual(body('2025-11-31T16:03:00Z'), { code: '30000', message: 'Invalid request error: timestamp 2025-11-31T16:03:00Z is not a valid instant', path: 'context.timestamp' });
    // 29 February where the year has one; an offset that crosses into the next day is still that instant.
    assert.equal(body('2026-01-15T16:03:00Z', { a: '2024-02-29T10:00:00Z', b: '2026-02-28T23:00:00-02:00' }), undefined);
    assert.deepEqual(body('2026-01-15T16:03:00Z', { a: '2026-02-29T10:00:00Z' }), { code: '30000', message: 'Invalid request error: date 2026-02-29T10:00:00Z is not a valid instant', path: 'message.a' });
  });

  test('becknTimestamp drops zero milliseconds only', () => {
    assert.equal(becknTimestamp(Date.parse('2026-01-15T16:03:01Z')), '2026-01-15T16:03:01Z');
    assert.equal(becknTimestamp(Date.parse('2026-01-15T16:03:01.250Z')), '2026-01-15T16:03:01.250Z');
  });
});

describe('NACKs', () => {
  test('a schema failure is 30000 with every path', () => {
    const d = decodeBecknBody('select', { context: {}, message: { order: { provider: { id: 'x' }, itemz: [] } } });
    assert.ok(!d.ok);
    const f = schemaFault(d.problems);
    assert.equal(f.code, '30000');
    assert.ok(f.path!.split(',').includes('message.order.itemz'), f.path);
    assert.ok(f.path!.split(',').includes('context.bap_id'), f.path);
    assert.deepEqual(nack(f.code, f.message, f.path).error, { code: '30000', message: f.message, paths: f.path });
  });

  test('a NACK lists at most 20 paths and says how many more; a body over 2 KiB is told its first problem only', () => {
    const itemz = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x${i}`, 1]));
    const d = decodeBecknBody('select', { context: {}, message: { order: { provider: { id: 'x' }, ...itemz } } });
    assert.ok(!d.ok);
    const paths = schemaFault(d.problems).path!.split(',');
    assert.equal(paths.length, 21, paths.join(','));
    assert.match(paths[20]!, /^\d+ more paths$/);
    assert.equal(Number(paths[20]!.split(' ')[0]), new Set(d.problems.map((p) => p.path)).size - 20);
    const big = decodeBecknBody('select', { context: {}, message: { order: { provider: { id: 'x' }, ...itemz } } }, FULL_SCHEMA_REPORT_BYTES + 1);
    assert.ok(!big.ok);
    assert.equal(big.problems.length, 1);
  });

  test('auth failures are 401 with WWW-Authenticate; an unreachable directory is 503', () => {
    const a = authFailure({ ok: false, reason: 'expired', message: 'the signature expired' }, BPP.id);
    assert.equal(a.statusCode, 401);
    assert.equal(a.headers['www-authenticate'], `Signature realm="${BPP.id}",headers="(created) (expires) digest"`);
    assert.equal(a.body.message.ack.status, 'NACK');
    assert.equal(a.body.error?.code, '401');
    const b = authFailure({ ok: false, reason: 'key-directory-unavailable', message: 'down' }, BPP.id);
    assert.equal(b.statusCode, 503);
  });
});

describe('business rules', () => {
  const offer = sampleOffer();
  const quote = quoteFor(offer, 1500);

  test('stale quote → 40003: another price, or past its ttl', () => {
    assert.equal(checkQuote({ accepted: quote, current: quote, quotedAtMs: now, nowMs: now + 60_000 }), undefined);
    assert.equal(checkQuote({ accepted: undefined, current: quote, nowMs: now }), undefined);
    const cheaper = { ...quote, price: { currency: 'GBP', value: '200.00' } };
    assert.equal(checkQuote({ accepted: cheaper, current: quote, nowMs: now })?.code, '40003');
    assert.equal(checkQuote({ accepted: quote, current: quote, quotedAtMs: now, nowMs: now + 15 * 60_000 + 1 })?.code, '40003');
  });

  test('cancel after the gate → 50001', () => {
    const gate = offer.windowStartMs - offer.noticeMin * 60_000;
    assert.equal(checkCancel({ windowStartMs: offer.windowStartMs, gateMin: offer.noticeMin, nowMs: gate - 1 }), undefined);
    assert.equal(checkCancel({ windowStartMs: offer.windowStartMs, gateMin: offer.noticeMin, nowMs: gate })?.code, '50001');
  });

  test('update outside update_target → 30013; a target CACO cannot update → 30012', () => {
    const items = [{ id: 'flex-1', quantity: { selected: { measure: { unit: 'MW' as const, value: '1.0' } } } }];
    assert.equal(checkUpdate({ update_target: 'order.items', order: { id: 'o1', items } }), undefined);
    assert.equal(checkUpdate({ update_target: 'item', order: { id: 'o1', items } }), undefined);
    const outside = checkUpdate({ update_target: 'order.items', order: { id: 'o1', items, billing: { name: 'X' } } });
    assert.equal(outside?.code, '30013');
    assert.equal(outside?.path, 'message.order.billing');
    assert.equal(checkUpdate({ update_target: 'order.billing', order: { id: 'o1', billing: { name: 'X' } } })?.code, '30012');
    assert.equal(checkUpdate({ update_target: 'order.fulfillments', order: { id: 'o1', items } })?.code, '30012');
    assert.equal(checkUpdate({ update_target: 'order.fulfillments', order: { id: 'o1', items } }, ['items'])?.code, '30012');
  });
});
