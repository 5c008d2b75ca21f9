// test-file-timeout: 60
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENSEMBLE_DIR, ensembleFitPath, ModelLoadError, readEnsembleFit } from '../../models/index.ts';

describe('ensemble fit file (models/ensemble/<signal>-fit.json) is checked before it sizes a band', () => {
  const shipped = JSON.parse(readFileSync(ensembleFitPath('carbon', ENSEMBLE_DIR), 'utf8')) as Record<string, unknown> & { buckets: Array<Record<string, unknown>> };

  function readWith(doc: unknown): ReturnType<typeof readEnsembleFit> {
    const dir = mkdtempSync(join(tmpdir(), 'caco-fit-'));
    try {
      writeFileSync(join(dir, 'carbon-fit.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
      return readEnsembleFit('carbon', dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('the shipped files load; a missing one is null', () => {
    assert.equal(readEnsembleFit('carbon')!.buckets.length, 24);
    assert.equal(readEnsembleFit('price')!.signal, 'price');
    assert.equal(readEnsembleFit('carbon', mkdtempSync(join(tmpdir(), 'caco-nofit-'))), null);
  });

  test('a damaged file is refused with the field and the reason', () => {
    const bucket = (patch: Record<string, unknown>) => ({ ...shipped, buckets: shipped.buckets.map((b, i) => (i === 3 ? { ...b, ...patch } : b)) });
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /not JSON/],
      [{ ...shipped, signal: 'wind' }, /signal/],
      [{ ...shipped, atMs: 'soon' }, /atMs/],
      [bucket({ lo: null }), /buckets\[3\]\.lo/],
      [bucket({ weights: [1, 0, 0, 0, -1] }), /buckets\[3\]\.weights\[4\]/],
      [bucket({ weights: [1, 0] }), /buckets\[3\]\.weights: 2 weights for 5 members/],
      [bucket({ samples: 1.5 }), /buckets\[3\]\.samples/],
      [bucket({ scale: { members: [0, 9], a: 1, b: 0, typical: 1 } }), /buckets\[3\]\.scale\.members/],
      [bucket({ extra: 1 }), /buckets\[3\]\.extra/],
      [{ ...shipped, signal: 'price' }, /signal: "price", expected "carbon"/],
    ];
    for (const [doc, why] of cases) assert.throws(() => readWith(doc), (e: unknown) => e instanceof ModelLoadError && why.test(e.message), `${JSON.stringify(doc).slice(0, 60)} → ${String(why)}`);
  });
});
