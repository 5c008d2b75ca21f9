import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { exportSchemas } from '../../schemas/export.ts';
import { ALL_MESSAGES, cacoRegistry } from '../../schemas/index.ts';

const committed = join(import.meta.dirname, '../../schemas/json');

test('the committed JSON Schemas are up to date (run `npm run schemas` when this fails)', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'caco-schemas-'));
  const files = exportSchemas(fresh);
  assert.deepEqual(readdirSync(committed).filter((f) => f.endsWith('.json')).sort(), files, 'the set of schema files differs');
  for (const f of files) {
    assert.equal(readFileSync(join(committed, f), 'utf8'), readFileSync(join(fresh, f), 'utf8'), `schemas/json/${f} is out of date`);
  }
});

test('every exported schema compiles, and accepts/rejects like the Effect schema on a sample', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  for (const def of ALL_MESSAGES) {
    const schema = JSON.parse(readFileSync(join(committed, `${def.type}.v${def.version}.json`), 'utf8')) as object;
    ajv.compile(schema);
  }
  const validate = ajv.getSchema('https://caco.energy/schemas/compute.job.rejected/v1.json')!;
  const envelope = { id: 'x', type: 'compute.job.rejected', version: 1, time: '2023-07-01T00:00:00Z', source: 'compute', correlationId: 'c', causationId: null, stream: 'job-1', revision: 0, position: 1, prevHash: '0'.repeat(64), hash: 'a'.repeat(64), sig: 's' };
  assert.equal(validate({ ...envelope, data: { jobId: 'j', problems: [{ field: 'deadline', reason: 'before release' }] } }), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...envelope, data: { jobId: 'j', problems: [{ field: 'deadline' }] } }), false);
  assert.equal(validate({ ...envelope, type: 'compute.job.submitted', data: { jobId: 'j', problems: [] } }), false);
});

test('decoding an invalid payload names the path and the reason', () => {
  const reg = cacoRegistry();
  const r = reg.decode('compute.job.submit', 1, {
    jobId: 'j1',
    class: 'training',
    powerKw: 'lots',
    earliestStart: '2023-07-01 10:00',
    deadline: '2023-07-01T12:00:00Z',
    slaClass: 'platinum',
    preemptible: true,
    colour: 'red',
  });
  assert.equal(r.ok, false);
  const problems = r.ok ? [] : r.problems;
  const byPath = Object.fromEntries(problems.map((p) => [p.path, p.reason]));
  assert.match(byPath['data.powerKw'] ?? '', /number/);
  assert.match(byPath['data.earliestStart'] ?? '', /ISO 8601 UTC/);
  assert.match(byPath['data.slaClass'] ?? '', /gold|silver|bronze/);
  assert.match(byPath['data.colour'] ?? '', /excess/);
  assert.deepEqual(reg.decode('compute.job.exploded', 1, {}), { ok: false, problems: [{ path: 'type', reason: 'unknown message type "compute.job.exploded"' }] });
  assert.deepEqual(reg.decode('compute.job.submit', 9, {}), { ok: false, problems: [{ path: 'version', reason: 'no version 9 of message type "compute.job.submit"' }] });
});

test('every message type follows <area>.<entity>.<verb> and has a description', () => {
  for (const d of ALL_MESSAGES) {
    // The entity may take two words (onsite.battery.state.reported, as the outside-agent protocol names it).
    assert.match(d.type, /^[a-z]+\.[a-z-]+(\.[a-z-]+)?\.[a-z-]+$/);
    assert.ok(d.description.length > 10, d.type);
  }
});

test('export into a folder removes only the schemas an earlier export wrote, never anyone else\'s .json', () => {
  // Found by a helper's review, run there: `caco schema export <dir>` deleted every .json in the
  // folder that was not one of its schemas (package.json, a site's keys.json).
  const dir = mkdtempSync(join(tmpdir(), 'caco-schema-prune-'));
  const theirs = { 'package.json': '{"name":"x"}', 'keys.json': '{"keys":[]}', 'a.b.v1.json': '{"$id":"https://example.org/a"}', 'notes.txt': 'hi' };
  for (const [f, body] of Object.entries(theirs)) writeFileSync(join(dir, f), body);
  const stale = 'compute.job.retired.v1.json';
  writeFileSync(join(dir, stale), readFileSync(join(import.meta.dirname, '../../schemas/json/compute.job.completed.v1.json'), 'utf8').replace('compute.job.completed/v1', 'compute.job.retired/v1'));
  const files = exportSchemas(dir);
  const left = readdirSync(dir);
  for (const f of Object.keys(theirs)) assert.ok(left.includes(f), `${f} kept`);
  assert.ok(!left.includes(stale), 'a schema of a message that no longer exists is removed');
  assert.equal(left.length, files.length + Object.keys(theirs).length);
});
