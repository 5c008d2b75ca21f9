// test-file-timeout: 20
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteCheckpointTag, storedHashAt, TaggedCheckpoint } from '../../../core/runtime/tagged-checkpoint.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { InvalidArgumentError } from '../../../core/errors/errors.ts';
import { silentLogger } from '../../../core/log/logger.ts';
import type { CheckpointStore } from '../../../core/store/event-store.ts';
import { embeddedStack } from '../../support/embedded.ts';

/** Checkpoints in a map; a value that is not a position reads as the stores' own check refuses it. */
function memoryCheckpoints(): CheckpointStore & { raw: Map<string, unknown> } {
  const raw = new Map<string, unknown>();
  return {
    raw,
    async get(name) {
      const v = raw.get(name) ?? 0;
      if (typeof v !== 'number') throw new InvalidArgumentError(`checkpoint "${name}"`, 'not a position');
      return v;
    },
    async put(name, position) {
      raw.set(name, position);
    },
  };
}

const keys = new MemoryKeyring('tagged');
const tagOf = siteCheckpointTag(keys, 't');

test("the site's own checkpoint is resumed from; a moved, untagged or junk-tagged one reads as the start", async () => {
  const store = memoryCheckpoints();
  const cp = new TaggedCheckpoint(store, 'effects', { tagOf, log: silentLogger() });
  assert.equal(await cp.get(), 0, 'none yet');
  await cp.put(4096);
  assert.equal(await cp.get(), 4096);
  assert.ok(Number.isSafeInteger(store.raw.get('effects.tag')));
  store.raw.set('effects', 9000);
  assert.equal(await cp.get(), 0, 'moved forward without the key');
  store.raw.set('effects', 4096);
  assert.equal(await cp.get(), 4096, 'put back, it holds again');
  // A position being written has its tag in a second slot first (see the crash test below).
  assert.equal(store.raw.get('effects.next.tag'), store.raw.get('effects.tag'));
  store.raw.set('effects.tag', 'junk');
  store.raw.set('effects.next.tag', 'junk');
  assert.equal(await cp.get(), 0, 'a tag that is not a number');
  store.raw.delete('effects.tag');
  store.raw.delete('effects.next.tag');
  assert.equal(await cp.get(), 0, 'untagged (written before tags)');
  // Another name's tag does not fit this one, nor another key's.
  await cp.put(10);
  const other = new TaggedCheckpoint(store, 'effects', { tagOf: siteCheckpointTag(new MemoryKeyring('mallory'), 't'), log: silentLogger() });
  assert.equal(await other.get(), 0);
});

test('a position that is not one (text, negative) reads as the start, with a warning, instead of stopping the start', async () => {
  const store = memoryCheckpoints();
  const warned: string[] = [];
  const log = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) } as ReturnType<typeof silentLogger>;
  const cp = new TaggedCheckpoint(store, 'effects', { tagOf, log });
  await cp.put(4096);
  store.raw.set('effects', 'abc');
  assert.equal(await cp.get(), 0);
  assert.match(warned.at(-1) ?? '', /does not hold a position this site wrote/);
});

test('a get while a put is between its two writes waits for it: it never sees the new position with the old tag', async () => {
  const inner = memoryCheckpoints();
  const slow: CheckpointStore = {
    get: (name) => inner.get(name),
    async put(name, position) {
      await new Promise((r) => setTimeout(r, 20));
      await inner.put(name, position);
    },
  };
  const warned: string[] = [];
  const log = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) } as ReturnType<typeof silentLogger>;
  let fellBack = 0;
  const cp = new TaggedCheckpoint(slow, 'agent:x', { tagOf, log, fallback: { position: async () => (fellBack++, 1), means: 'test' } });
  await cp.put(100);
  const writing = cp.put(200);
  await new Promise((r) => setTimeout(r, 30)); // the position is written, the tag not yet
  assert.equal(await cp.get(), 200);
  await writing;
  assert.deepEqual(warned, []);
  assert.equal(fellBack, 0);
  assert.equal(await cp.get(), 200);
});

test('with a fallback, an untrusted position resumes where the fallback says and is written back tagged; 0 is asked of the fallback too', async () => {
  const store = memoryCheckpoints();
  let asked = 0;
  const cp = new TaggedCheckpoint(store, 'agent:x', { tagOf, log: silentLogger(), fallback: { position: async () => (asked++, 70), means: 'test' } });
  assert.equal(await cp.get(), 70, 'none stored: the fallback');
  assert.equal(await cp.get(), 70, 'written back tagged: trusted now');
  assert.equal(asked, 1);
  store.raw.set('agent:x', 5000);
  assert.equal(await cp.get(), 70);
  assert.equal(asked, 2);
  const fresh = new TaggedCheckpoint(memoryCheckpoints(), 'agent:y', { tagOf, log: silentLogger(), fallback: { position: async () => 0, means: 'test' } });
  assert.equal(await fresh.get(), 0, 'a fallback of 0 for none stored (a new agent): no write, no warning');
});

test('a tag binds the position to the event the ledger holds there: replayed after the ledger was replaced, it does not fit', async () => {
  const store = memoryCheckpoints();
  const ledger = new Map<number, string>([[4096, 'hash-of-the-first-ledger']]);
  const cp = new TaggedCheckpoint(store, 'effects', { tagOf, log: silentLogger(), hashAt: async (p) => ledger.get(p) ?? '' });
  await cp.put(4096);
  assert.equal(await cp.get(), 4096);
  const saved = { position: store.raw.get('effects'), tag: store.raw.get('effects.tag') };
  // The ledger is started again (--init) or restored; the old pair is written back.
  ledger.set(4096, 'hash-of-another-event');
  store.raw.set('effects', saved.position);
  store.raw.set('effects.tag', saved.tag);
  assert.equal(await cp.get(), 0, 'not trusted: another event is at 4096 now');
  ledger.delete(4096);
  assert.equal(await cp.get(), 0, 'nor past the end of the ledger');
});

test('a position that is no event (just below an owed effect, on JetStream) is bound to the first event after it', async () => {
  // A ledger's events by position, as readAll({ from, limit: 1 }) gives the first after `from`.
  let events = [{ position: 3072, hash: 'a' }, { position: 4096, hash: 'b' }];
  const store = { async *readAll(o?: { from?: number; limit?: number }) { for (const e of events) if (e.position > (o?.from ?? 0)) { yield e; return; } } };
  const hashAt = storedHashAt(store as never);
  assert.equal(await hashAt(4095), '4096:b');
  assert.equal(await hashAt(4096), '4096:b');
  assert.equal(await hashAt(5000), '', 'past the end');
  const cps = memoryCheckpoints();
  const cp = new TaggedCheckpoint(cps, 'effects', { tagOf, log: silentLogger(), hashAt });
  await cp.put(4095);
  assert.equal(await cp.get(), 4095);
  events = [{ position: 3072, hash: 'a' }, { position: 4096, hash: 'other' }];
  assert.equal(await cp.get(), 0, 'another ledger now: the old pair does not fit');
});

test('a crash between any two of a put\'s writes leaves a position the site wrote: the old one or the new, never a fallback', async () => {
  for (let crashAfter = 0; crashAfter <= 3; crashAfter++) {
    const inner = memoryCheckpoints();
    await new TaggedCheckpoint(inner, 'relay', { tagOf, log: silentLogger() }).put(100);
    let writes = 0;
    const crashing: CheckpointStore = {
      get: (name) => inner.get(name),
      async put(name, position) {
        if (writes++ >= crashAfter) throw new Error('the process died here');
        await inner.put(name, position);
      },
    };
    await new TaggedCheckpoint(crashing, 'relay', { tagOf, log: silentLogger() }).put(200).catch(() => undefined);
    const warned: string[] = [];
    const log = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) } as ReturnType<typeof silentLogger>;
    const after = await new TaggedCheckpoint(inner, 'relay', { tagOf, log, fallback: { position: async () => 0, means: 'test' } }).get();
    assert.equal(after, crashAfter >= 2 ? 200 : 100, `crash after ${crashAfter} writes`);
    assert.deepEqual(warned, [], `crash after ${crashAfter} writes: no fallback`);
    // The slot for a position being written fits only the position it was written for.
    inner.raw.set('relay', 150);
    assert.equal(await new TaggedCheckpoint(inner, 'relay', { tagOf, log: silentLogger() }).get(), 0, `crash after ${crashAfter} writes, then moved`);
  }
});

test('a row at the checkpoint\'s position that cannot be read: the tag check reads it as another event, it does not throw', async () => {
  // Found by a helper's review, run there: storedHashAt read without a handler for unreadable
  // rows, so `UPDATE events SET data='not json{'` at the relay's checkpoint position made the
  // next start fail with a SyntaxError (the same edit anywhere else did not).
  const s = embeddedStack('tag-unreadable');
  try {
    for (let i = 0; i < 5; i++) await s.store.append('acct-1', [{ id: `00000000-0000-7000-8000-00000000000${i}`, type: 'acct.moved', version: 1, time: '2024-01-01T00:00:00.000Z', source: 'teller', correlationId: 'c', causationId: null, data: { amount: i } }], 'any');
    const hashAt = storedHashAt(s.store);
    const cps = memoryCheckpoints();
    const cp = new TaggedCheckpoint(cps, 'relay', { tagOf, log: silentLogger(), hashAt });
    await cp.put(3);
    assert.equal(await cp.get(), 3);
    s.store.unsafeExec('UPDATE events SET data = ? WHERE position = 3', 'not json{');
    assert.match(await hashAt(3), /^3:unreadable:[0-9a-f]{64}$/);
    assert.equal(await cp.get(), 0, 'the event the tag was over is not there as it was: not trusted, and no throw');
    await cp.put(3);
    assert.equal(await cp.get(), 3, 'a tag over the unreadable row fits while it stays as it is');
  } finally {
    await s.close();
  }
});
