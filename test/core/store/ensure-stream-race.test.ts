// test-file-timeout: 30
/**
 * Several processes opening one site's ledger at once race to add its stream. A 2.9 server
 * answered a loser "subjects overlap with an existing stream" (a fresh-clone run, four stores
 * opening together), which failed that store's start. The stream of that name being there now
 * is what was wanted; an overlap with another stream still fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamManager } from '@nats-io/jetstream';
import { ensureStream } from '../../../core/store/nats-streams.ts';

const notFound = () => Object.assign(new Error('stream not found'), { code: 10059 });

/** A manager whose stream appears (or not) between the look and the add. */
function racing(appearsMeanwhile: boolean): { jsm: JetStreamManager; looks: () => number } {
  let looks = 0;
  const jsm = {
    streams: {
      info: async () => {
        looks++;
        if (looks === 1 || !appearsMeanwhile) throw notFound();
        return {};
      },
      add: async () => {
        throw new Error('subjects overlap with an existing stream');
      },
    },
  } as unknown as JetStreamManager;
  return { jsm, looks: () => looks };
}

test('added by another process between the look and the add: taken as there, not an error', async () => {
  const r = racing(true);
  assert.equal(await ensureStream(r.jsm, { name: 'CACO_X', subjects: ['caco.x.ledger.>'] }), true);
  assert.equal(r.looks(), 2, 'looked again after the refusal');
});

test('the subjects held by another stream: the error stands', async () => {
  const r = racing(false);
  await assert.rejects(ensureStream(r.jsm, { name: 'CACO_X', subjects: ['caco.x.ledger.>'] }), /subjects overlap with an existing stream/);
});
