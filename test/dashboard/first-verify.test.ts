// test-file-timeout: 30
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveModel } from '../../dashboard/live-model.ts';
import { embeddedStack } from '../support/embedded.ts';
import { writeFixtureLedger } from '../sim/report/fixture.ts';

test('the first check of the ledger runs at start, not a verifyEveryMs after it: a quiet site is not "pending" for ten minutes', async () => {
  const s = embeddedStack('dash-first-verify');
  await writeFixtureLedger(s.store, 6, 'fv');
  const live = await LiveModel.start({ store: s.store, keys: s.keyring, onChange: () => {}, verifyEveryMs: 600_000 });
  try {
    const v = await live.verifiedUpTo(await s.store.headPosition(), 5_000);
    assert.equal(v.state, 'ok', JSON.stringify(v));
  } finally {
    await live.close();
    await s.close();
  }
});
