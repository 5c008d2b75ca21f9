import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isTransientNatsError, retryWhileUnavailable } from '../../../core/store/nats-retry.ts';

describe('retrying JetStream calls through a leader election', { timeout: 10_000 }, () => {
  test('a time-out is retried until the call succeeds', async () => {
    let calls = 0;
    const v = await retryWhileUnavailable(async () => {
      if (++calls < 3) throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
      return 'ok';
    });
    assert.equal(v, 'ok');
    assert.equal(calls, 3);
  });

  test('a permissions violation fails at once, also when it comes wrapped in a request error', async () => {
    const denied = new Error('Permissions Violation for Publish to "caco.secure.ledger.job-9"');
    const wrapped = Object.assign(new Error('request failed', { cause: denied }), { name: 'RequestError' });
    assert.equal(isTransientNatsError(wrapped), false);
    let calls = 0;
    const started = Date.now();
    await assert.rejects(
      retryWhileUnavailable(async () => {
        calls++;
        throw wrapped;
      }),
      /request failed/,
    );
    assert.equal(calls, 1);
    assert.ok(Date.now() - started < 1000);
  });
});
