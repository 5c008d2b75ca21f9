import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_MESSAGES, CACO_COMMANDS, CACO_EVENTS, cacoRegistry, type MessageDef } from '../../schemas/index.ts';

const key = (d: MessageDef) => `${d.type}@${d.version}`;

test('every message definition has a type and version of its own, and a type keeps its kind across versions', () => {
  const seen = new Map<string, MessageDef>();
  const kindOf = new Map<string, MessageDef['kind']>();
  for (const d of ALL_MESSAGES) {
    assert.equal(seen.has(key(d)), false, `${key(d)} is defined twice`);
    seen.set(key(d), d);
    const kind = kindOf.get(d.type);
    assert.ok(kind === undefined || kind === d.kind, `${d.type} is a ${kind} in one version and a ${d.kind} in another`);
    kindOf.set(d.type, d.kind);
  }
  assert.equal(cacoRegistry().all().length, ALL_MESSAGES.length);
});

/** The registry's latest version of each type of one kind, as `type@version`. */
function latestOfKind(kind: MessageDef['kind']): string[] {
  const reg = cacoRegistry();
  return reg
    .all()
    .filter((d) => d.kind === kind && reg.latestVersion(d.type) === d.version)
    .map(key)
    .sort();
}

for (const [kind, union] of [
  ['event', CACO_EVENTS],
  ['command', CACO_COMMANDS],
] as const) {
  test(`the ${kind} unions of schemas/messages.ts hold every latest ${kind} of the registry, once, and nothing older`, () => {
    const listed = union.map(key);
    assert.deepEqual([...listed].sort(), [...new Set(listed)].sort(), `a ${kind} is listed twice`);
    assert.deepEqual([...listed].sort(), latestOfKind(kind));
    // The very definitions the registry decodes with, not look-alikes.
    const reg = cacoRegistry();
    for (const d of union) assert.equal(reg.get(d.type, d.version), d, `${key(d)} is not the registered definition`);
  });
}

test('every registered message is an event or a command, so the two lists above cover the registry', () => {
  assert.deepEqual(cacoRegistry().all().filter((d) => d.kind !== 'event' && d.kind !== 'command').map(key), []);
});
