import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacoError, ConcurrencyError, ConfigError } from '../../../core/errors/errors.ts';

test('CacoError subclasses carry their own name and an optional cause', () => {
  const c = new ConcurrencyError('job-a', 'revision 3', 4);
  assert.equal(c.name, 'ConcurrencyError');
  assert.match(String(c), /^ConcurrencyError: stream "job-a"/);
  assert.ok(c instanceof CacoError);
  const root = new Error('ECONNREFUSED');
  const wrapped = new CacoError('cannot reach the ledger', { cause: root });
  assert.equal(wrapped.name, 'CacoError');
  assert.equal(wrapped.cause, root);
  assert.equal(new ConfigError('site', 'must be set').name, 'ConfigError');
});
