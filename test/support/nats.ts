import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';

/** The shared development/CI server, unless NATS_URL points elsewhere. */
export function natsUrl(): string {
  return process.env['NATS_URL'] || '127.0.0.1:4222';
}

/** Can we open a NATS connection (with JetStream) within `timeoutMs`? Returns the reason when not. */
export async function natsAvailable(url = natsUrl(), timeoutMs = 2500): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const nc = await connect({ servers: url, timeout: timeoutMs, maxReconnectAttempts: 0, name: 'caco-test-probe' });
    try {
      const jsEnabled = nc.info?.jetstream === true;
      if (!jsEnabled) return { ok: false, reason: `NATS at ${url} has JetStream disabled (start it with -js)` };
      return { ok: true };
    } finally {
      await nc.close();
    }
  } catch (err) {
    return { ok: false, reason: `NATS at ${url} unreachable (${err instanceof Error ? err.message : String(err)})` };
  }
}

/**
 * The `skip` option for NATS tests: a reason string on a laptop without NATS, `false` when
 * NATS is up, and also `false` when CI=true, so that in CI a missing server fails the tests
 * rather than hiding them.
 */
export async function natsSkip(): Promise<string | false> {
  const a = await natsAvailable();
  if (a.ok) return false;
  if (process.env['CI'] === 'true') {
    process.stderr.write(`CI=true and ${a.reason}: the NATS tests will run and fail\n`);
    return false;
  }
  return `${a.reason}; start nats-server -js or set NATS_URL`;
}

/** A site / subject token no other test run uses, so tests can share one server. */
export function uniqueToken(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
