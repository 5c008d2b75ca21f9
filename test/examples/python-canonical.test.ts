// test-file-timeout: 180
/**
 * The Python reference (examples/python-canonical) writes the site's bytes: RFC 8785 canonical
 * JSON, the command signing bytes and signature, an event's hash and what a ledger signature
 * covers. vectors.json is made here, from the site's own code, by a seeded generator; this
 * checks it is current, runs Debian's /usr/bin/python3 on it, and then on values fast-check
 * makes afresh each run, compared with core/ledger/canonical-json.ts.
 *
 * Rewrite the vectors after a deliberate change: CACO_WRITE_VECTORS=1 node scripts/test.mjs <this file>.
 * Skipped where /usr/bin/python3 is missing, except under CI=true, where that fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { canonicalJson } from '../../core/ledger/canonical-json.ts';
import { MemoryKeyring, privateKeyFromSeed, rawPublicKey } from '../../core/ledger/keyring.ts';
import { hashBatch, headsOf, signHeads } from '../../core/ledger/seal.ts';
import { signedMessage } from '../../core/ledger/batch-signature.ts';
import { signCommandWith } from '../../core/identity/command-signature.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';
import { sign } from 'node:crypto';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DIR = join(ROOT, 'examples/python-canonical');
const VECTORS = join(DIR, 'vectors.json');
const PYTHON = '/usr/bin/python3';
const skip = !existsSync(PYTHON) && process.env['CI'] !== 'true' ? `${PYTHON} is missing (Debian's python3; the checker needs only its standard library)` : false;

/** xorshift128+: the same doubles on every machine, so the committed vectors never drift. */
function seeded(seed: bigint): () => bigint {
  const M = (1n << 64n) - 1n;
  let s0 = seed & M || 1n;
  let s1 = (seed * 0x9e3779b97f4a7c15n) & M || 2n;
  return () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = (x ^ (x << 23n)) & M;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (s1 + y) & M;
  };
}

const view = new DataView(new ArrayBuffer(8));
const bitsToDouble = (b: bigint): number => {
  view.setBigUint64(0, b);
  return view.getFloat64(0);
};
const nextUp = (x: number): number => {
  view.setFloat64(0, x);
  const b = view.getBigUint64(0);
  view.setBigUint64(0, x >= 0 ? b + 1n : b - 1n);
  return view.getFloat64(0);
};
const nextDown = (x: number): number => -nextUp(-x);

/** A number as 17 significant digits: the same double, laid out unlike its canonical form. */
const longForm = (x: number): string => x.toPrecision(17);

interface Vector {
  readonly name: string;
  readonly input: string;
  readonly canonical: string;
}

function vector(name: string, input: string): Vector {
  return { name, input, canonical: canonicalJson(JSON.parse(input)) };
}

function makeVectors(): Record<string, unknown> {
  const v: Vector[] = [];
  // What the report named, and what RFC 8785 calls out.
  for (const [name, text] of [
    ['31.0 (Python writes 31.0)', '31.0'],
    ['1e-7 (Python writes 1e-07)', '1e-7'],
    ['1e-07', '1e-07'],
    ['1e21 (canonical 1e+21)', '1e21'],
    ['1E+21', '1E+21'],
    ['1e20: digits up to 21', '1e20'],
    ['0.000001: fixed down to 1e-6', '0.000001'],
    ['1e16 (Python writes 1e+16)', '1e16'],
    ['-0.0', '-0.0'],
    ['-0', '-0'],
    ['0.1 + 0.2', '0.30000000000000004'],
    ['333333333.3333333', '333333333.3333333'],
    ['5e-324, the least subnormal', '4.9406564584124654e-324'],
    ['the largest double', '1.7976931348623157e308'],
    ['1e23', '1e23'],
    ['2^53', '9007199254740992'],
    ['2^53 + 1: JSON.parse reads 2^53', '9007199254740993'],
    ['2^60 as an integer', '1152921504606846976'],
    ['295147905179352830000', '295147905179352825856'],
    ['-1.5e-10', '-1.5e-10'],
    ['an integer written as a float', '100.000'],
  ] as const) v.push(vector(name, text));

  // Keys: sorted by UTF-16 code unit (outside the BMP sorts before U+E000..U+FFFF), escapes.
  v.push(vector('keys beyond the BMP and above U+FF00', JSON.stringify({ '\u{1F600}': 1, '\uFB33': 2, '\uFF5E': 3, '\uFFFD': 4, '\u{10000}': 5, a: 6, '': 7, Z: 8, é: 9 })));
  v.push(vector('keys that differ in one code unit', JSON.stringify({ 'a\u{1F600}': 1, 'a\uFFFF': 2, ab: 3, a: 4, aa: 5 })));
  v.push(vector('string escapes', JSON.stringify({ s: '"\\/\b\f\n\r\t\u0000\u0001\u001f\u007f\u2028\u2029€😀' })));
  v.push(vector('lone surrogates are escaped, a pair is not', '["\\ud800","\\udc00x","\\ud83d\\ude00","\\uD83D"]'));
  v.push(vector('escaped plain characters are written plainly', '"\\u0041\\u00e9\\/"'));
  v.push(vector('nested', JSON.stringify({ z: [1, { y: null, x: [true, false, 1.5, { b: -0, a: 'é' }] }], a: { c: { b: { a: [[], {}] } } } })));
  v.push(vector('an envelope', '{"version":1,"type":"ext.acme-battery.cell.temperature-read","id":"01939a2e-5c4f-7d3a-9b1e-2f6c8d0a4b17","data":{"celsius":31.0,"cellId":"rack-3/cell-12","at":"2026-12-03T03:30:00Z"},"source":"acme-battery","keyId":"acme-battery-1"}'));
  v.push(vector('whitespace and key order do not matter', '{ "b" : [ 1 , 2 ] ,\n\t"a" : { } }'));
  v.push(vector('literals', '[null,true,false,"",0]'));

  // Doubles from a seeded generator, each written as 17 significant digits.
  const rnd = seeded(0xcac0_2026n);
  const floats: number[] = [];
  while (floats.length < 300) {
    const x = bitsToDouble(rnd());
    if (Number.isFinite(x)) floats.push(x);
  }
  for (let i = 0; i < 200; i++) {
    // Short decimals of every scale: the shapes a reading or a price has.
    const digits = Number(rnd() % 10_000_000n);
    const exp = Number(rnd() % 61n) - 30;
    floats.push(Number(`${rnd() & 1n ? '-' : ''}${digits}e${exp}`));
  }
  for (let e = -12; e <= 25; e++) {
    const p = Number(`1e${e}`);
    floats.push(p, nextUp(p), nextDown(p), 1.5 * p, nextDown(10) * p);
  }
  floats.push(nextDown(1e21), nextUp(1e21), nextDown(1e-6), nextUp(1e-7), nextDown(1e-7), 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 70, 2.2250738585072014e-308, nextDown(2.2250738585072014e-308));
  floats.forEach((x, i) => v.push(vector(`double ${i}`, longForm(x))));
  for (let i = 0; i < 40; i++) v.push(vector(`integer ${i}`, String(Number(rnd() % 9007199254740993n) * (rnd() & 1n ? -1 : 1))));

  // A seeded random document or two: keys of every plane, nesting, numbers of every form.
  const doc = fc.sample(fc.jsonValue({ maxDepth: 4, noUnicodeString: false }), { numRuns: 30, seed: 2026 });
  doc.forEach((d, i) => v.push(vector(`document ${i}`, JSON.stringify(d))));

  const refused = [
    { name: 'NaN', input: 'NaN' },
    { name: 'Infinity', input: '[Infinity]' },
    { name: 'beyond the largest double', input: '1e400' },
  ];

  return { about: 'RFC 8785 canonical JSON as a CACO site writes it (core/ledger/canonical-json.ts); made by test/examples/python-canonical.test.ts (CACO_WRITE_VECTORS=1). input: JSON text, read as JSON.parse reads it; canonical: the bytes signed and hashed.', vectors: v, refused, commands: commandVectors(), events: eventVectors() };
}

/** The signed examples of docs/identity.md and docs/external-agent.md, signed by the site's code. */
function commandVectors(): unknown[] {
  const signed = (name: string, seed: string, keyId: string, cmd: object) => {
    const key = privateKeyFromSeed(Buffer.from(seed, 'base64'));
    const s = signCommandWith(cmd, keyId, (bytes) => sign(null, bytes, key).toString('base64'));
    const { sig: _sig, ...unsigned } = s;
    return { name, seed, publicKey: rawPublicKey(key).toString('base64'), signed: JSON.stringify(s), signingBytes: canonicalJson(unsigned) };
  };
  return [
    signed('docs/identity.md worked example', 'D0f/A8qwqf9XNdLBJizX78kGIPlStA7SOsmAVaiSPfA=', 'alice-7f3a', {
      id: '0190f5c2-7d3a-7c41-9a52-3e1f0b6d8a11', type: 'compute.job.submit', version: 1, time: '2026-12-02T21:00:00Z', source: 'alice',
      correlationId: '0190f5c2-7d3a-7c41-9a52-3e1f0b6d8a11', causationId: null,
      data: { jobId: 'train-42', class: 'training', gpuCount: 64, runtimeMin: 240, earliestStart: '2026-12-02T22:00:00Z', deadline: '2026-12-03T12:00:00Z', slaClass: 'silver', preemptible: true },
    }),
    signed('docs/external-agent.md append, bound to a site and a time', '1yazBttoeKs6VCRhwxJ1zvazXQMfqmr4c3LKcXDE8rE=', 'acme-battery-1', {
      id: '01939a2e-5c4f-7d3a-9b1e-2f6c8d0a4b17', type: 'ext.acme-battery.cell.temperature-read', version: 1,
      data: { cellId: 'rack-3/cell-12', celsius: 31, at: '2026-12-03T03:30:00Z', ratio: 1e-7, big: 1e21, '\u{1F600}': '\uFB33' },
      source: 'acme-battery', site: 'london', expiresAt: '2026-12-03T03:35:00.000Z',
    }),
  ];
}

/** Stored events as a reader gets them: commits of several events, heads signed plainly and in a batch. */
function eventVectors(): unknown[] {
  const keyring = new MemoryKeyring('python-canonical-vectors');
  const ev = (i: number, source: string, data: unknown): NewEvent => ({ id: `evt-${i}`, type: 'ext.acme-battery.cell.temperature-read', version: 1, time: `2026-12-03T03:3${i % 10}:00.000Z`, source, correlationId: `c-${i}`, causationId: i > 0 ? `evt-${i - 1}` : null, data });
  // Three commits of one source signed together (an mb1 batch), then one commit alone.
  const a = hashBatch('ext-acme-battery', [ev(0, 'acme-battery', { celsius: 31.5 }), ev(1, 'acme-battery', { celsius: 1e-7, '\u{1F600}': 1, '\uFB33': 2 })], undefined);
  const b = hashBatch('ext-acme-battery', [ev(2, 'acme-battery', { celsius: 1e21 })], a[a.length - 1]);
  const c = hashBatch('ext-acme-battery', [ev(3, 'acme-battery', { celsius: -0.5, note: 'x\u2028y' })], b[b.length - 1]);
  signHeads(headsOf([a, b, c]), keyring);
  const d = hashBatch('ext-acme-battery', [ev(4, 'acme-battery', { celsius: 40 })], c[c.length - 1]);
  signHeads(headsOf([d]), keyring);
  const publicKey = keyring.publicKeys()['acme-battery']!;
  let position = 0;
  return [...a, ...b, ...c, ...d].map((e) => {
    const stored = { ...e, position: ++position };
    const m = e.sig === '' ? undefined : signedMessage(e.hash, e.sig);
    if (typeof m === 'string') throw new Error(m);
    return { name: `event ${e.id} (${e.sig === '' ? 'vouched for by its head' : e.sig.startsWith('mb1:') ? 'batch signature' : 'plain signature'})`, event: JSON.stringify(stored), signedMessageHex: m?.messageHex ?? null, publicKey };
  });
}

function python(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { cwd: DIR, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}

test('vectors.json is what the site\'s own code writes (CACO_WRITE_VECTORS=1 rewrites it)', () => {
  const made = JSON.stringify(makeVectors(), null, 1) + '\n';
  if (process.env['CACO_WRITE_VECTORS'] === '1') writeFileSync(VECTORS, made);
  assert.equal(readFileSync(VECTORS, 'utf8'), made, 'examples/python-canonical/vectors.json is stale: rewrite it with CACO_WRITE_VECTORS=1');
});

test('the Python reference passes every vector (canonical JSON, refusals, command signatures, event hashes, ledger signatures)', { skip }, () => {
  const r = python(['check_vectors.py', 'vectors.json']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^ok: \d+ canonical/);
});

/** JSON text with each number in one of three layouts that read back as the same double. */
function writeVaried(v: unknown, pick: () => number): string {
  if (typeof v === 'number') {
    const k = pick() % 3;
    return k === 0 ? JSON.stringify(v) : k === 1 ? v.toPrecision(17) : v.toExponential(16);
  }
  if (Array.isArray(v)) return '[' + v.map((x) => writeVaried(x, pick)).join(',') + ']';
  if (v !== null && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ':' + writeVaried(x, pick)).join(',') + '}';
  return JSON.stringify(v);
}

test('the Python reference equals the site\'s canonicaliser on values generated afresh (fast-check)', { skip }, () => {
  const seed = Date.now() % 2 ** 31;
  const values = [
    ...fc.sample(fc.jsonValue({ maxDepth: 5, noUnicodeString: false }), { numRuns: 1500, seed }),
    ...fc.sample(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 20 }), { numRuns: 300, seed: seed + 1 }),
    ...fc.sample(fc.dictionary(fc.string({ unit: 'binary' }), fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'binary' }))), { numRuns: 300, seed: seed + 2 }),
  ];
  let n = seed;
  const pick = () => (n = (n * 1103515245 + 12345) % 2 ** 31);
  const lines = values.map((v) => writeVaried(v, pick));
  const r = python(['check_vectors.py', '--stdin'], lines.join('\n') + '\n');
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { canonical?: string; error?: string });
  assert.equal(out.length, values.length);
  out.forEach((o, i) => {
    assert.equal(o.canonical, canonicalJson(values[i]), `fast-check seed ${seed}, value ${i}: ${lines[i]}${o.error ? ` (Python: ${o.error})` : ''}`);
  });
});
