/**
 * The site's composition root: which agents a site runs and how they are wired, for
 * `caco simulate` (simulated clock, recorded signals, the simulated market), `caco run` (wall
 * clock, live or replayed signals, a BPP on HTTP and NATS) and `caco bpp` (a BPP on HTTP).
 *
 * ```ts
 * const { source } = siteSignals({ kind: 'live' });
 * const agents = await buildSite({ runtime, bus, site, signals: source, forecaster: 'ensemble', compute: { runtimeModel: true }, market: { kind: 'none' } });
 * ```
 */
export { buildSite, type BuildSiteParams, type SiteAgents, type SiteMarket } from './build-site.ts';
export { siteSignals, type SiteSignals } from './signals.ts';
export { loadRuntimePrediction } from './runtime-prediction.ts';
