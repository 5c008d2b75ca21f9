import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BecknSpecValidator, ack, nack, nackOf, schemaFault } from '../../beckn/index.ts';
import { AckOrNack, BECKN_ACTIONS, CALLBACK_ACTIONS, REQUEST_ACTIONS, decodeBecknBody, type BecknAction } from '../../schemas/beckn/index.ts';
import { decodeWith } from '../../schemas/registry.ts';
import { buildFlow, sampleOffer } from './flow.ts';
import { FIXTURES, readSpecJson, skipWithoutSpec, specDir } from './spec-dir.ts';

/**
 * Conformance with the official Beckn core 1.1.1 OpenAPI file (read from outside the project):
 * strictly for what CACO sends, leniently for what it receives, plus CACO's own strict
 * schemas to catch what the spec lets through.
 */
describe('Beckn spec conformance', { skip: skipWithoutSpec }, () => {
  let validator: BecknSpecValidator | undefined;
  const spec = (): BecknSpecValidator => (validator ??= BecknSpecValidator.fromFile(join(specDir(), 'core-v1.1.1', 'transaction.yaml')));

  test('the spec defines every action CACO speaks', () => {
    for (const a of BECKN_ACTIONS) assert.ok(spec().actions.includes(a), a);
  });

  test('every message the builders produce passes the spec strictly and our schemas', () => {
    const flows = [buildFlow(), buildFlow(sampleOffer({ windowStartMs: Date.parse('2023-10-28T22:30:00Z'), windowEndMs: Date.parse('2023-10-29T02:00:00Z'), forecastGco2PerKwh: undefined, kw: 1234.5, minKw: 100 }))];
    for (const flow of flows) {
      assert.deepEqual(flow.map((m) => m.action).sort(), [...REQUEST_ACTIONS, ...CALLBACK_ACTIONS].sort(), 'the flow covers all 18 actions');
      for (const { action, body } of flow) {
        assert.deepEqual(spec().validateRequest(action, body, 'strict'), [], `${action} (strict spec)`);
        const ours = decodeBecknBody(action, body);
        assert.ok(ours.ok, `${action} (CACO schema): ${ours.ok ? '' : JSON.stringify(ours.problems)}`);
      }
    }
  });

  test('ACK and NACK bodies pass the spec strictly', () => {
    const bodies = [ack(), nack('30004', 'Item not found', 'message.order.items[0].id'), nack('401'), nackOf(schemaFault([{ path: 'message.order', reason: 'Missing key' }]))];
    for (const b of bodies) {
      assert.deepEqual(spec().validateAck(b, 'strict'), []);
      assert.ok(decodeWith(AckOrNack, b).ok);
    }
  });

  test('every fixture CACO accepts passes the spec leniently and our strict schemas', () => {
    const files = readdirSync(join(specDir(), FIXTURES)).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 20);
    for (const f of files) {
      const name = f.replace(/\.json$/, '');
      const body = readSpecJson(`${FIXTURES}/${f}`);
      if (name === 'ack' || name === 'nack') {
        assert.deepEqual(spec().validateAck(body, 'lenient'), [], f);
        assert.ok(decodeWith(AckOrNack, body).ok, f);
        continue;
      }
      const action = name as BecknAction;
      assert.deepEqual(spec().validateRequest(action, body, 'lenient'), [], f);
      const ours = decodeBecknBody(action, body);
      assert.ok(ours.ok, `${f}: ${ours.ok ? '' : JSON.stringify(ours.problems)}`);
    }
  });

  test('a misspelt field passes the spec but not our schemas (nor the strict spec)', () => {
    const body = readSpecJson<{ message: { order: { items: Array<Record<string, unknown>> } } }>(`${FIXTURES}/select.json`);
    const item = body.message.order.items[0]!;
    item.quantty = item.quantity;
    delete item.quantity;
    assert.deepEqual(spec().validateRequest('select', body, 'lenient'), [], 'the published spec lets the typo through');
    const ours = decodeBecknBody('select', body);
    assert.equal(ours.ok, false);
    const paths = ours.ok ? [] : ours.problems.map((p) => p.path);
    assert.ok(paths.includes('message.order.items[0].quantty'), JSON.stringify(paths));
    assert.ok(paths.includes('message.order.items[0].quantity'), 'and the real field is reported missing');
    assert.deepEqual(spec().validateRequest('select', body, 'strict').map((p) => p.path), ['message.order.items[0].quantty']);
  });

  test('an unknown context field and a wrong version: spec lenient accepts, ours rejects with the path', () => {
    const body = readSpecJson<{ context: Record<string, unknown> }>(`${FIXTURES}/confirm.json`);
    body.context.core_version = '1.1.0';
    body.context.version = '1.0.0';
    assert.deepEqual(spec().validateRequest('confirm', body, 'lenient'), []);
    const ours = decodeBecknBody('confirm', body);
    assert.equal(ours.ok, false);
    assert.deepEqual((ours.ok ? [] : ours.problems.map((p) => p.path)).sort(), ['context.core_version', 'context.version']);
  });

  test('the spec does catch what it does define: types and formats', () => {
    const body = readSpecJson<{ context: Record<string, unknown>; message: { order: { payments: Array<Record<string, unknown>> } } }>(`${FIXTURES}/confirm.json`);
    body.context.message_id = 'not-a-uuid';
    body.message.order.payments[0]!.type = 'WHENEVER';
    const paths = spec().validateRequest('confirm', body, 'lenient').map((p) => p.path);
    assert.ok(paths.includes('context.message_id'), JSON.stringify(paths));
    assert.ok(paths.includes('message.order.payments[0].type'), JSON.stringify(paths));
    const ours = decodeBecknBody('confirm', body);
    assert.deepEqual((ours.ok ? [] : ours.problems.map((p) => p.path)).sort(), ['context.message_id', 'message.order.payments[0].type']);
  });

  test('the context action must be the endpoint\'s action', () => {
    const body = readSpecJson(`${FIXTURES}/init.json`);
    assert.notDeepEqual(spec().validateRequest('select', body, 'lenient'), []);
    const ours = decodeBecknBody('select', body);
    assert.ok(!ours.ok && ours.problems.some((p) => p.path === 'context.action'));
  });
});
