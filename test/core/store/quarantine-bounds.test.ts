// test-file-timeout: 30
/**
 * Refusals cost the reader nothing without end: anyone who can append to the store (no key
 * needed) can write refused events by the hundred thousand. The log says what happened in a
 * bounded number of lines, and an in-memory quarantine keeps a bounded number of records and
 * counts the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MemoryQuarantineStore } from '../../../core/store/memory-quarantine.ts';
import { VerifiedEventStore } from '../../../core/store/verified-store.ts';
import { embeddedStack } from '../../support/embedded.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

test('an in-memory quarantine keeps its first records and counts the rest; a repeat is neither', async () => {
  const q = new MemoryQuarantineStore(3);
  for (const position of [5, 1, 9, 1, 7, 2]) await q.quarantine({ position, reason: 'forged', detectedAt: '2026-12-05T00:00:00Z' });
  assert.deepEqual((await q.quarantined()).map((r) => r.position), [1, 5, 9]);
  assert.equal(q.unlisted, 2);
});

test('2,500 refusals: the first 100 logged a line each, then one line a thousand with the count; all 2,500 counted', async () => {
  const out: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) out.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const s = embeddedStack('quarantine-bounds');
  try {
    const q = new MemoryQuarantineStore();
    const view = new VerifiedEventStore(s.store, { keys: s.keyring, quarantine: q, log: pino({ level: 'warn' }, sink) });
    for (let i = 1; i <= 2500; i++) await view.refuse({ id: `e${i}`, type: 't', version: 1, stream: 's', revision: i, position: i, time: '2026-12-05T00:00:00Z', source: 'x', correlationId: 'c', causationId: null, data: {}, prevHash: '', hash: '', sig: '' } as Envelope, 'not covered by a signature');
    assert.equal(out.filter((l) => l['msg'] === 'ledger event quarantined: it failed verification and is skipped').length, 100);
    const counted = out.filter((l) => typeof l['refused'] === 'number').map((l) => l['refused']);
    assert.deepEqual(counted, [1000, 2000]);
    assert.equal((await q.quarantined()).length, 2500);
  } finally {
    await s.close();
  }
});
