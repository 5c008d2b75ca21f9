// test-file-timeout: 60
/**
 * Log lines carry outside parties' text. Written through the site's logger, a line must parse
 * back to exactly what was logged and hold none of the characters a terminal or viewer acts on
 * (DEL, C1 controls, line separators, bidirectional overrides), whatever the text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createLogger } from '../../../core/log/index.ts';
import { inertJsonLine } from '../../../core/log/inert-json.ts';

// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

test('the site logger writes a party name holding a CSI, an override and a separator as escapes, and it parses back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-log-'));
  const fd = openSync(join(dir, 'log.jsonl'), 'w');
  try {
    const party = 'mallory\u009b2J\u202egnp.exe\u2028forged line\u0085';
    createLogger({ level: 'info', destination: fd }).warn({ party }, `refused ${party}`);
    const line = readFileSync(join(dir, 'log.jsonl'), 'utf8').trimEnd();
    assert.equal(ACTIVE.test(line), false, `raw control or override in ${JSON.stringify(line)}`);
    assert.match(line, /\\u009b2J\\u202egnp\.exe\\u2028forged line\\u0085/);
    const parsed = JSON.parse(line) as { party: string; msg: string };
    assert.equal(parsed.party, party);
    assert.equal(parsed.msg, `refused ${party}`);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('property: any JSON line made inert parses to the same value and holds nothing active', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
      const line = JSON.stringify({ v, s });
      const out = inertJsonLine(line);
      assert.equal(ACTIVE.test(out), false);
      assert.deepEqual(JSON.parse(out), JSON.parse(line));
    }),
    { numRuns: 500 },
  );
});

test('a line with nothing to escape is returned as it is', () => {
  const line = '{"level":30,"msg":"plain café ✓"}';
  assert.equal(inertJsonLine(line), line);
});
