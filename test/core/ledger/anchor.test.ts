import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { AnchorAuditor, ANCHOR_SIGNER, checkAnchorChain, positionGap, sealCheckpoint, type AnchorCheckpoint } from '../../../core/anchor/index.ts';
import { anchorOf, h, ledgerOf, type Ev } from '../../support/synthetic-anchor.ts';

function audit(events: ReadonlyArray<Ev>, checkpoints: ReadonlyArray<AnchorCheckpoint>, layout: 'sqlite' | undefined = 'sqlite') {
  const a = new AnchorAuditor(layout, { where: 'test', checkpoints });
  const gaps = events.map((e) => a.observe(e)).filter((g) => g !== null);
  return { gaps, fold: a.finish() };
}

const streamsArb = fc.array(fc.constantFrom('job-a', 'job-b', 'job-c', 'grid'), { minLength: 4, maxLength: 60 });

describe('anchor: pure checks', { timeout: 60_000 }, () => {
  const keyring = new MemoryKeyring();
  keyring.signingKey(ANCHOR_SIGNER);

  test('an untouched ledger matches every checkpoint of its anchor', () => {
    fc.assert(
      fc.property(streamsArb, fc.integer({ min: 1, max: 10 }), (streams, every) => {
        const events = ledgerOf(streams);
        const cps = anchorOf(events, keyring, every);
        const { gaps, fold } = audit(events, cps);
        assert.deepEqual(gaps, []);
        assert.equal(fold.anchor?.ok, true, fold.anchor?.problem);
        assert.equal(fold.anchor?.matched, cps.length);
        assert.equal(fold.root, cps.at(-1)!.root);
      }),
    );
  });

  test('removing any one event is found: a hole at its exact position, and the anchor no longer matches', () => {
    fc.assert(
      fc.property(streamsArb, fc.nat(), fc.integer({ min: 1, max: 10 }), (streams, k, every) => {
        const events = ledgerOf(streams);
        const cps = anchorOf(events, keyring, every);
        const i = k % events.length;
        const tampered = events.filter((_, j) => j !== i);
        const { gaps, fold } = audit(tampered, cps);
        assert.equal(fold.anchor?.ok, false);
        if (i < events.length - 1) assert.equal(gaps[0]?.from, events[i]!.position, 'the hole is where the event was');
        else assert.match(fold.anchor!.problem!, /the ledger ends at position \d+ with \d+ events, but the anchor holds \d+ events up to position \d+: 1 event was deleted/);
        // Renumbered so that no hole shows: the anchor alone still sees it.
        const compact = tampered.map((e, j) => ({ ...e, position: j + 1 }));
        assert.equal(audit(compact, cps).fold.anchor?.ok, false);
      }),
    );
  });

  test('swapping two neighbouring events of different streams keeps every stream chain and head, and the anchor calls it a reorder', () => {
    fc.assert(
      fc.property(streamsArb, fc.nat(), (streams, k) => {
        const events = ledgerOf(streams);
        const pairs = events.slice(1).flatMap((e, j) => (e.stream !== events[j]!.stream ? [j] : []));
        fc.pre(pairs.length > 0);
        const j = pairs[k % pairs.length]!;
        const cps = anchorOf(events, keyring, 1000);
        const swapped = events.map((e) => ({ ...e }));
        [swapped[j]!.position, swapped[j + 1]!.position] = [swapped[j + 1]!.position, swapped[j]!.position];
        swapped.sort((a, b) => a.position - b.position);
        const { gaps, fold } = audit(swapped, cps);
        assert.deepEqual(gaps, []);
        assert.equal(fold.anchor?.ok, false);
        assert.match(fold.anchor!.problem!, /in another order: .* reordered/);
      }),
    );
  });

  test('a changed, re-sealed event (same count, same order) is called a change', () => {
    const events = ledgerOf(['job-a', 'job-b', 'job-a', 'job-b', 'job-a']);
    const cps = anchorOf(events, keyring, 2);
    const changed = events.map((e) => (e.stream === 'job-a' && e.revision >= 1 ? { ...e, hash: h(`forged ${e.revision}`) } : e));
    const { fold } = audit(changed, cps);
    assert.match(fold.anchor!.problem!, /checkpoint #2 \(position 4, 4 events.*an event between position 2 and position 4 was changed and re-sealed/);
    assert.equal(fold.anchor!.lastMatched?.seq, 1);
  });

  test('an anchor with no checkpoint yet holds the ledger to nothing, and says so', () => {
    const { fold } = audit(ledgerOf(['a', 'b']), []);
    assert.deepEqual([fold.anchor?.ok, fold.anchor?.checkpoints, fold.anchor?.lastMatched], [true, 0, undefined]);
  });

  test('JetStream positions: a missing sequence is reported at its own position', () => {
    assert.equal(positionGap('jetstream', 0, 1024), null);
    assert.equal(positionGap('jetstream', 1024, 1025), null);
    assert.equal(positionGap('jetstream', 1025, 2048), null);
    const g = positionGap('jetstream', 10 * 1024, 12 * 1024);
    assert.equal(g?.from, 11 * 1024);
    assert.match(g!.reason, /^JetStream sequence 11 missing \(position 11264\)/);
    assert.match(positionGap('jetstream', 10 * 1024, 14 * 1024)!.reason, /^JetStream sequence 11–13 missing \(position 11264 to 13312\)/);
    assert.match(positionGap('sqlite', 0, 3)!.reason, /^position 1–2 missing: 2 events were removed between position \(start\) and 3/);
  });

  test('the anchor chain itself: an edited, removed or foreign-signed checkpoint is refused, and the ones before it kept', () => {
    const cps = anchorOf(ledgerOf(['a', 'b', 'a', 'b', 'a', 'b']), keyring, 2);
    assert.equal(checkAnchorChain(cps, keyring).problem, undefined);
    const edited = cps.map((c, i) => (i === 1 ? { ...c, events: c.events - 1 } : c));
    assert.match(checkAnchorChain(edited, keyring).problem!, /#2: its root does not recompute/);
    assert.equal(checkAnchorChain(edited, keyring).valid.length, 1);
    assert.match(checkAnchorChain([cps[0], cps[2]], keyring).problem!, /#2: numbered 3, expected 2/);
    // Re-signed with an agent's key: the signer name is right, the key is not.
    const agent = new MemoryKeyring();
    const forged = sealCheckpoint({ ...cps[0]!, events: 99 }, (b) => agent.sign('compute', b));
    assert.match(checkAnchorChain([forged], keyring).problem!, /#1: bad signature/);
    assert.match(checkAnchorChain([{ ...cps[0], signer: 'compute' }], keyring).problem!, /#1: its hash does not recompute|signed by "compute"/);
    assert.match(checkAnchorChain([cps[0]], new MemoryKeyring()).problem!, /no public key for "site-anchor"/);
  });
});
