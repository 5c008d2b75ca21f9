/**
 * A stream deleted from a SQLite ledger and the positions after it renumbered (so no hole
 * shows): every stream chain still verifies, only the anchor sees it. The audit said "an event
 * … was changed and re-sealed", which sends the operator looking for a forged signature; it
 * now compares the streams too, and from where the ledger ends short of the last checkpoint
 * says events (a stream) were removed and the positions renumbered. A change in place keeps
 * its wording.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { AnchorAuditor, ANCHOR_SIGNER, type AnchorCheckpoint } from '../../../core/anchor/index.ts';
import { anchorOf, h, ledgerOf, type Ev } from '../../support/synthetic-anchor.ts';

function problemOf(events: ReadonlyArray<Ev>, checkpoints: ReadonlyArray<AnchorCheckpoint>) {
  const a = new AnchorAuditor('sqlite', { where: 'test', checkpoints });
  const gaps = events.map((e) => a.observe(e)).filter((g) => g !== null);
  const fold = a.finish();
  return { gaps, anchor: fold.anchor! };
}

const renumber = (events: ReadonlyArray<Ev>) => events.map((e, j) => ({ ...e, position: j + 1 }));

describe('anchor: a deleted stream with the positions renumbered', { timeout: 60_000 }, () => {
  const keyring = new MemoryKeyring();
  keyring.signingKey(ANCHOR_SIGNER);

  test('is called a removed stream and renumbered positions, not a re-sealed event', () => {
    const events = ledgerOf(['job-a', 'job-b', 'job-a', 'job-c', 'job-b', 'job-c', 'job-d', 'job-e', 'job-d', 'job-e', 'job-a', 'job-b']);
    const cps = anchorOf(events, keyring, 2);
    const { gaps, anchor } = problemOf(renumber(events.filter((e) => e.stream !== 'job-c')), cps);
    assert.deepEqual(gaps, [], 'renumbered: no hole shows');
    assert.equal(anchor.ok, false);
    assert.equal(anchor.lastMatched?.seq, 1);
    assert.equal(
      anchor.problem,
      'checkpoint #2 (position 4, 4 events, written 2023-07-03T00:00:00.000Z) does not match the ledger: a stream was removed and the positions after renumbered: 2 anchored events after position 2 are gone (the ledger ends at position 10 with 10 events in 4 streams; checkpoint #6 holds 12 events in 5 streams up to position 12)',
    );
  });

  test('events deleted from a stream (not all of it) and renumbered are called deleted', () => {
    const events = ledgerOf(['job-a', 'job-b', 'job-a', 'job-b', 'job-a', 'job-b', 'job-c', 'job-c']);
    const cps = anchorOf(events, keyring, 2);
    const { anchor } = problemOf(renumber(events.filter((e) => !(e.stream === 'job-a' && e.revision >= 1))), cps);
    assert.match(anchor.problem!, /^checkpoint #2 \(position 4, 4 events.* does not match the ledger: 2 events were deleted after position 2 and the positions after renumbered \(the ledger ends at position 6 with 6 events in 3 streams; checkpoint #4 holds 8 events in 3 streams/);
  });

  test('with more events appended after, the streams that differ at the checkpoint are named', () => {
    const events = ledgerOf(['job-a', 'job-b', 'job-c', 'job-c', 'job-d', 'job-e']);
    const cps = anchorOf(events, keyring, 4);
    const tampered = renumber([...events.filter((e) => e.stream !== 'job-c'), ...ledgerOf(['job-f', 'job-f', 'job-f'])]);
    const { anchor } = problemOf(tampered, cps);
    assert.match(anchor.problem!, /checkpoint #1 \(position 4, 4 events.*as many events up to position 4 as anchored, but in 4 streams where the anchor has 3: events between the start and position 4 were deleted or inserted and the positions after them renumbered/);
    assert.doesNotMatch(anchor.problem!, /re-sealed/);
  });

  test('property: any one stream deleted and the positions renumbered is never called a change in place', () => {
    const streamsArb = fc.array(fc.constantFrom('job-a', 'job-b', 'job-c', 'grid'), { minLength: 4, maxLength: 60 });
    fc.assert(
      fc.property(streamsArb, fc.nat(), fc.integer({ min: 1, max: 10 }), (streams, k, every) => {
        const events = ledgerOf(streams);
        const names = [...new Set(streams)];
        fc.pre(names.length > 1);
        const gone = names[k % names.length]!;
        const cps = anchorOf(events, keyring, every);
        const { gaps, anchor } = problemOf(renumber(events.filter((e) => e.stream !== gone)), cps);
        assert.deepEqual(gaps, []);
        assert.equal(anchor.ok, false);
        assert.doesNotMatch(anchor.problem!, /re-sealed/);
        assert.match(anchor.problem!, /a stream was removed and the positions after renumbered|the ledger ends at position \d+ with \d+ events, but the anchor holds/);
      }),
      { numRuns: 200 },
    );
  });

  test('an event changed in place is still called changed and re-sealed', () => {
    const events = ledgerOf(['job-a', 'job-b', 'job-a', 'job-b', 'job-a']);
    const cps = anchorOf(events, keyring, 2);
    const changed = events.map((e) => (e.stream === 'job-a' && e.revision >= 1 ? { ...e, hash: h(`forged ${e.revision}`) } : e));
    const { anchor } = problemOf(changed, cps);
    assert.match(anchor.problem!, /checkpoint #2 \(position 4, 4 events.*an event between position 2 and position 4 was changed and re-sealed/);
  });
});
