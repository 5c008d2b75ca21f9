// test-file-timeout: 20
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteCheckpointTag, TaggedCheckpoint } from '../../../core/runtime/tagged-checkpoint.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { InvalidArgumentError } from '../../../core/errors/errors.ts';
import { silentLogger } from '../../../core/log/logger.ts';
import type { CheckpointStore } from '../../../core/store/event-store.ts';

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
  const cp = new TaggedCheckpoint(store, 'effects', tagOf, silentLogger());
  assert.equal(await cp.get(), 0, 'none yet');
  await cp.put(4096);
  assert.equal(await cp.get(), 4096);
  assert.ok(Number.isSafeInteger(store.raw.get('effects.tag')));
  store.raw.set('effects', 9000);
  assert.equal(await cp.get(), 0, 'moved forward without the key');
  store.raw.set('effects', 4096);
  assert.equal(await cp.get(), 4096, 'put back, it holds again');
  store.raw.set('effects.tag', 'junk');
  assert.equal(await cp.get(), 0, 'a tag that is not a number');
  store.raw.delete('effects.tag');
  assert.equal(await cp.get(), 0, 'untagged (written before tags)');
  // Another name's tag does not fit this one, nor another key's.
  await cp.put(10);
  const other = new TaggedCheckpoint(store, 'effects', siteCheckpointTag(new MemoryKeyring('mallory'), 't'), silentLogger());
  assert.equal(await other.get(), 0);
});

test('a position that is not one (text, negative) reads as the start, with a warning, instead of stopping the start', async () => {
  const store = memoryCheckpoints();
  const warned: string[] = [];
  const log = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) } as ReturnType<typeof silentLogger>;
  const cp = new TaggedCheckpoint(store, 'effects', tagOf, log);
  await cp.put(4096);
  store.raw.set('effects', 'abc');
  assert.equal(await cp.get(), 0);
  assert.match(warned.at(-1) ?? '', /does not hold a position this site wrote/);
});
