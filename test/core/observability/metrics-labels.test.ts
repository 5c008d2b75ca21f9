/**
 * The event counters are labelled by type, and an outside agent chooses its own types (`ext.*`,
 * up to 64 new ones an announcement): those are counted under one label value, `ext.*`, so an
 * outsider cannot add series to the site's metrics; CACO's own types keep theirs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacoMetrics } from '../../../core/observability/index.ts';
import { sample } from './support.ts';

test("outside agents' ext.* types are counted under one label value; the site's own types each under theirs", async () => {
  const metrics = new CacoMetrics({ now: () => 0, processMetrics: false });
  const time = '2023-07-03T00:00:00Z';
  for (let i = 0; i < 100; i++) {
    metrics.relayed('london', 'acme', `ext.acme.kind${i}.read`, time);
    metrics.appended('london', 'acme', `ext.acme.kind${i}.read`);
  }
  metrics.relayed('london', 'compute', 'compute.job.planned', time);
  metrics.relayed('london', 'acme', 'onsite.battery.state.reported', time);
  const text = (await metrics.scrape()).body;
  const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
  // Before: 100 series of outside types, one per type announced.
  assert.equal(series('caco_events_relayed_total').length, 3, series('caco_events_relayed_total').join('\n'));
  assert.equal(sample(text, 'caco_events_relayed_total', { site: 'london', source: 'acme', type: 'ext.*' }), 100);
  assert.equal(sample(text, 'caco_events_relayed_total', { site: 'london', source: 'compute', type: 'compute.job.planned' }), 1);
  assert.equal(sample(text, 'caco_events_relayed_total', { site: 'london', source: 'acme', type: 'onsite.battery.state.reported' }), 1);
  assert.equal(series('caco_events_appended_total').length, 1);
  assert.equal(sample(text, 'caco_events_appended_total', { site: 'london', source: 'acme', type: 'ext.*' }), 100);
});
