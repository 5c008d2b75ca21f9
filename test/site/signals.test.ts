// test-file-timeout: 30
/**
 * The live site's grid signals offer the operator's national forecast, which the grid agent
 * takes as its carbon P50 (agents/grid/operator-forecast.ts); a region's would be ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteSignals } from '../../site/signals.ts';
import type { LiveSignalSource } from '../../agents/grid/index.ts';

test("caco run's live source offers the operator's national 48 h forecast, not a region's", () => {
  const { source } = siteSignals({ kind: 'live' });
  const live = source as LiveSignalSource;
  assert.equal(typeof live.publishedForecast, 'function', 'a published forecast is offered');
  assert.equal(live.forecastRegionId, undefined, 'national, so the grid agent uses it');
});
