import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { verifyLedger } from '../../core/ledger/index.ts';
import { auditSummary, evolveAudit, initialAudit, auditProjection, MAX_TYPES_COUNTED, OTHER_TYPES } from '../../projections/audit/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { writeFixtureLedger } from '../sim/report/fixture.ts';
import { fold } from '../../projections/index.ts';

describe('audit projection', () => {
  test('types counted by name are bounded; the rest are counted together, and every event is counted', () => {
    // From a helper's review, run there: one registered party may name a new ext.* type per
    // fact (50,000 a day), and each event copied the whole count map: 50,000 such events took
    // ~5 minutes to fold and 11 ms per later event.
    const n = MAX_TYPES_COUNTED + 500;
    let s = initialAudit;
    for (let i = 0; i < n; i++) {
      s = evolveAudit(s, { id: `e${i}`, type: `ext.mal.t${i}.made`, version: 1, stream: 'ext-mal', revision: i, position: i + 1, time: '2023-07-03T00:00:00.000Z', prevHash: s.streams.get('ext-mal')?.hash ?? '0'.repeat(64), hash: `h${i}`, data: {} } as unknown as Envelope);
    }
    const byType = auditSummary(s).byType;
    assert.equal(Object.keys(byType).length, MAX_TYPES_COUNTED + 1);
    assert.equal(byType[OTHER_TYPES], 500);
    assert.equal(Object.values(byType).reduce((x, y) => x + y, 0), n);
    assert.equal(auditSummary(evolveAudit(s, { id: 'again', type: 'ext.mal.t0.made', version: 1, stream: 'ext-mal', revision: n, position: n + 1, time: '2023-07-03T00:00:00.000Z', prevHash: `h${n - 1}`, hash: 'hx', data: {} } as unknown as Envelope)).byType['ext.mal.t0.made'], 2, 'a type counted by name goes on being counted by name');
  });

  test('head hash and counts equal what verifyLedger finds on a real ledger', async () => {
    const s = embeddedStack('audit');
    try {
      await writeFixtureLedger(s.store, 20);
      const events: Envelope[] = [];
      for await (const e of s.store.readAll()) events.push(e);
      const a = auditSummary(fold(auditProjection, events));
      const v = await verifyLedger(s.store, s.keyring);
      assert.ok(v.ok);
      assert.equal(a.events, v.events);
      assert.equal(a.streams, v.streams);
      assert.equal(a.headHash, v.headHash);
      assert.equal(a.chainOk, true);
      assert.equal(a.lastPosition, await s.store.headPosition());
      assert.equal(Object.values(a.byType).reduce((x, y) => x + y, 0), events.length);
      // Folding in two halves gives the same as folding at once.
      const half = fold(auditProjection, events.slice(0, 50));
      assert.equal(auditSummary(fold(auditProjection, events.slice(50), half)).headHash, a.headHash);
    } finally {
      await s.close();
    }
  });

  test('a skipped revision or a wrong prevHash is a chain break', () => {
    const e = (stream: string, revision: number, prevHash: string, hash: string): Envelope =>
      ({ id: `${stream}-${revision}`, type: 't.x.y', version: 1, stream, revision, position: revision + 1, time: '2023-07-03T00:00:00Z', source: 's', correlationId: 'c', causationId: null, data: {}, prevHash, hash, sig: 'x' });
    const z = '0'.repeat(64), a = 'a'.repeat(64), b = 'b'.repeat(64);
    const ok = fold(auditProjection, [e('s', 0, z, a), e('s', 1, a, b)]);
    assert.equal(ok.chainBreaks.length, 0);
    assert.equal(evolveAudit(ok, e('s', 3, b, a)).chainBreaks[0]!.reason, 'revision 3, expected 2');
    assert.match(evolveAudit(ok, e('s', 2, a, a)).chainBreaks[0]!.reason, /prevHash/);
    assert.equal(auditSummary(initialAudit).events, 0);
  });
});
