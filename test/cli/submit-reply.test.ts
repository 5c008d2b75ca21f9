// test-file-timeout: 30
/**
 * Found by a helper's review, run there against a stand-in on the submit subject: `caco submit`
 * parsed whatever answered as a site's reply. Not JSON or `null` ended in a stack trace;
 * `{"ok":true,"events":"x"}` printed "undefined  undefined  event undefined" and exit 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSubmitReply } from '../../cli/commands/submit.ts';
import { UsageError } from '../../core/errors/index.ts';

const read = (text: string) => readSubmitReply(Buffer.from(text, 'utf8'));

test('what is not a site\'s reply is a UsageError saying so; a reply is read as one', () => {
  for (const junk of ['<html>not json', 'null', '[]', '{"ok":"yes"}', '{"ok":true,"events":"x"}', '{"ok":true,"events":[{"type":1}]}', '{"ok":false}', '{"ok":false,"error":{}}']) {
    assert.throws(() => read(junk), (e: unknown) => e instanceof UsageError && /is not a site's reply/.test(e.message), junk);
  }
  assert.deepEqual(read('{"ok":true,"duplicate":false,"events":[{"id":"e1","type":"compute.job.planned","stream":"job-1","revision":0,"position":3,"data":{}}]}'), { ok: true, events: [{ id: 'e1', type: 'compute.job.planned', stream: 'job-1', data: {} }] });
  assert.deepEqual(read('{"ok":false,"error":{"reason":"busy","code":"busy","problems":[{"path":"a","reason":"b"},7]}}'), { ok: false, reason: 'busy', problems: [{ path: 'a', reason: 'b' }] });
});
