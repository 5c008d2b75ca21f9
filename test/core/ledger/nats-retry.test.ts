import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JetStreamApiError, type ApiError } from '@nats-io/jetstream';
import { isTransientNatsError, retryWhileUnavailable } from '../../../core/store/nats-retry.ts';

/** What nats.js throws for a JetStream API error reply: `code` is err_code, `status` the HTTP-like code. */
function apiError(status: number, errCode: number, description: string): JetStreamApiError {
  return new JetStreamApiError({ code: status, err_code: errCode, description });
}

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

  test('JetStream API errors are told apart by their error number, not their HTTP-like status', () => {
    // Asked a server that is not the stream's leader, mid-election: its text names no leader.
    assert.equal(isTransientNatsError(apiError(500, 10009, 'JetStream cluster can not handle request')), true);
    assert.equal(isTransientNatsError(apiError(503, 10008, 'JetStream system temporarily unavailable')), true);
    assert.equal(isTransientNatsError(apiError(500, 10007, 'JetStream cluster not assigned to this server')), true);
    assert.equal(isTransientNatsError(apiError(503, 10004, 'incomplete results')), true);
    // Status 503 with a refusal no election changes: retrying would only delay the error.
    assert.equal(isTransientNatsError(apiError(503, 10036, 'not currently supported in clustered mode')), false);
    assert.equal(isTransientNatsError(apiError(503, 10023, 'insufficient resources')), false);
    // A lost optimistic-concurrency race is an answer, not an outage.
    assert.equal(isTransientNatsError(apiError(400, 10071, 'wrong last sequence: 41')), false);
    assert.equal(isTransientNatsError(apiError(404, 10059, 'stream not found')), false);
    // The server's own 503 for a proposal its raft group refused carries no error number (Go's
    // omitempty drops a zero err_code from the reply).
    const wire = JSON.parse('{"code":503,"description":"raft: not leader"}') as ApiError;
    assert.equal(isTransientNatsError(new JetStreamApiError(wire)), true);
    assert.equal(isTransientNatsError(apiError(503, 10077, 'raft: not leader')), true);
    assert.equal(isTransientNatsError(apiError(503, 10077, 'maximum messages exceeded')), false);
    // Creating a stream while the meta group has no leader: its number wraps the server's words.
    assert.equal(isTransientNatsError(apiError(500, 10049, 'JetStream cluster no leader')), true);
    // Placement with a node down is retried; the same number for another placement failure is not.
    assert.equal(isTransientNatsError(apiError(400, 10005, 'no suitable peers for placement')), true);
    assert.equal(isTransientNatsError(apiError(400, 10005, 'replicas > 1 not supported in non-clustered mode')), false);
  });

  test('a not-the-leader API error is retried until the leader answers', async () => {
    let calls = 0;
    const v = await retryWhileUnavailable(
      async () => {
        if (++calls < 3) throw apiError(500, 10009, 'JetStream cluster can not handle request');
        return 'ok';
      },
      { budgetMs: 5_000 },
    );
    assert.equal(v, 'ok');
    assert.equal(calls, 3);
  });
});
