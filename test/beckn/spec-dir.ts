import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Beckn spec files and fixtures are CC BY-NC-SA and stay outside the project: tests read
 * them from `BECKN_SPEC_DIR` or `../shared/specs/beckn/` beside the checkout.
 */
const here = dirname(fileURLToPath(import.meta.url));
// An explicit BECKN_SPEC_DIR is the only place looked at, so a wrong path is noticed.
const candidates = process.env.BECKN_SPEC_DIR ? [process.env.BECKN_SPEC_DIR] : [resolve(here, '../../../shared/specs/beckn')];

export const SPEC_DIR: string | undefined = candidates.find((d) => existsSync(join(d, 'core-v1.1.1', 'transaction.yaml')));

/**
 * `skip` option for node:test: a reason when the spec is missing on a laptop. Under CI the
 * spec must be there, so the test runs and fails instead of skipping.
 */
export const skipWithoutSpec: string | false =
  SPEC_DIR !== undefined || process.env.CI === 'true' ? false : `Beckn spec not found (set BECKN_SPEC_DIR or put it in ../shared/specs/beckn): looked in ${candidates.join(', ')}`;

export function specDir(): string {
  if (SPEC_DIR === undefined) throw new Error(`Beckn spec directory not found; looked in ${candidates.join(', ')} (set BECKN_SPEC_DIR)`);
  return SPEC_DIR;
}

export function readSpecJson<T = unknown>(relPath: string): T {
  return JSON.parse(readFileSync(join(specDir(), relPath), 'utf8')) as T;
}

export function readSpecText(relPath: string): string {
  return readFileSync(join(specDir(), relPath), 'utf8');
}

export const FIXTURES = 'fixtures/caco-examples-v1.1.0';
