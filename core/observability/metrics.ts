import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { setMetricsSink, type MetricsSink } from './hooks.ts';
import type { RuntimeHealth } from './health.ts';

export const FORECAST_TYPE = 'grid.forecast.published';

/**
 * The `type` label of an event counter. Outside agents name their own types (`ext.<name>.…`, up
 * to 64 new ones an announcement, as often as they announce): each would be a series of its own,
 * never removed, so they are all counted as `ext.*`. The site's own types (its registry's, and the
 * `onsite.*` outside-fact types) keep their names.
 */
export const EXT_TYPE_LABEL = 'ext.*';
function typeLabel(type: string): string {
  return type.startsWith('ext.') ? EXT_TYPE_LABEL : type;
}

export interface CacoMetricsOptions {
  /** Milliseconds now, for the forecast's age at scrape time (the site's Clock). */
  readonly now: () => number;
  /** Node's process metrics (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
}

/** Something whose subscriptions can be asked for their lag at scrape time (a Runtime). */
export interface HealthSource {
  health(): Promise<RuntimeHealth>;
}

/**
 * CACO's Prometheus metrics, in a registry of their own (never prom-client's global one, so
 * two sites or two tests in one process do not share counts). Counters move through the
 * process-wide hooks (`install()`); lag and forecast age are computed when scraped, so nothing
 * runs between scrapes and no decider ever reads the wall clock for them.
 */
export class CacoMetrics implements MetricsSink {
  readonly registry = new Registry();
  readonly appendedTotal: Counter<'site' | 'source' | 'type'>;
  readonly relayedTotal: Counter<'site' | 'source' | 'type'>;
  readonly deadLettersTotal: Counter<'site' | 'agent'>;
  readonly commandsTotal: Counter<'site' | 'agent' | 'outcome' | 'code'>;
  readonly quarantinedTotal: Counter<'reason'>;
  readonly checkpointThreadLostTotal: Counter;
  readonly solveSeconds: Histogram<'status'>;
  readonly forecastAge: Gauge;
  readonly unplacedJobs: Gauge;
  readonly lag: Gauge<'site' | 'subscriber'>;
  readonly up: Gauge<'site' | 'subscriber'>;
  private lastForecastMs: number | undefined;
  private readonly sources: HealthSource[] = [];
  private uninstall: (() => void) | undefined;
  private pendingHealth: Promise<void> | undefined;

  constructor(private readonly o: CacoMetricsOptions) {
    const registers = [this.registry];
    this.appendedTotal = new Counter({ name: 'caco_events_appended_total', help: "Events appended to the ledger by an agent, by source (agent) and type (outside agents' own ext.* types as one, ext.*)", labelNames: ['site', 'source', 'type'], registers });
    this.relayedTotal = new Counter({ name: 'caco_events_relayed_total', help: "Ledger events the relay published on the bus, by source (agent) and type (outside agents' own ext.* types as one, ext.*)", labelNames: ['site', 'source', 'type'], registers });
    this.deadLettersTotal = new Counter({ name: 'caco_dead_letters_total', help: 'Inputs sent to the dead-letter subject, by agent', labelNames: ['site', 'agent'], registers });
    this.commandsTotal = new Counter({ name: 'caco_commands_total', help: "Commands from the bus for an agent: taken by its intake, refused there (by code: rate-limited, unknown-key, schema, …), or shed (code busy) before it because the agent's backlog was full", labelNames: ['site', 'agent', 'outcome', 'code'], registers });
    this.quarantinedTotal = new Counter({ name: 'caco_quarantined_commits_total', help: 'Ledger commits refused on read by verification, by reason', labelNames: ['reason'], registers });
    this.checkpointThreadLostTotal = new Counter({ name: 'caco_sqlite_checkpoint_thread_lost_total', help: "Times a SQLite store's checkpoint thread stopped without being asked (its checkpoints then run in the appending thread)", registers });
    this.solveSeconds = new Histogram({
      name: 'caco_planner_solve_seconds',
      help: 'Wall time of each HiGHS solve in the compute planner, by model status',
      labelNames: ['status'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    this.unplacedJobs = new Gauge({ name: 'caco_unplaced_jobs', help: 'Jobs the last plan this process made found no room for (they will miss their deadlines as things stand)', registers });
    // prom-client calls `collect` with the metric as `this`: reach the class through arrows.
    const forecastAgeS = (): number | undefined => (this.lastForecastMs === undefined ? undefined : Math.max(0, (this.o.now() - this.lastForecastMs) / 1000));
    const refresh = (): Promise<void> => this.refreshHealth();
    this.forecastAge = new Gauge({
      name: 'caco_forecast_age_seconds',
      help: `Seconds since the time of the last ${FORECAST_TYPE} this process appended or relayed (NaN until one is seen)`,
      registers,
      collect() {
        // NaN, not 0, until one is seen: a fresh process must not look like it has a fresh forecast.
        this.set(forecastAgeS() ?? NaN);
      },
    });
    this.lag = new Gauge({
      name: 'caco_subscription_lag_events',
      help: 'Ledger head position minus the position a subscriber (agent, lockstep scheduler, relay) has delivered',
      labelNames: ['site', 'subscriber'],
      registers,
      async collect() {
        await refresh();
      },
    });
    this.up = new Gauge({
      name: 'caco_subscription_up',
      help: '1 while a ledger subscription (or the relay) is alive, 0 once it has failed',
      labelNames: ['site', 'subscriber'],
      registers,
      async collect() {
        await refresh();
      },
    });
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Report the lag and liveness of `source`'s subscriptions when scraped. */
  watch(source: HealthSource): this {
    this.sources.push(source);
    return this;
  }

  /** Route the process-wide hooks here; returns a function that routes them back. */
  install(): () => void {
    const prev = setMetricsSink(this);
    const undo = () => {
      setMetricsSink(prev);
      this.uninstall = undefined;
    };
    this.uninstall = undo;
    return undo;
  }

  /** Stop counting (uninstalls the hooks if installed). */
  close(): void {
    this.uninstall?.();
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** One health read per scrape: the registry collects its metrics concurrently. */
  private refreshHealth(): Promise<void> {
    this.pendingHealth ??= this.collectHealth().finally(() => (this.pendingHealth = undefined));
    return this.pendingHealth;
  }

  private async collectHealth(): Promise<void> {
    this.lag.reset();
    this.up.reset();
    for (const s of this.sources) {
      const h = await s.health();
      for (const sub of h.subscriptions) {
        this.lag.set({ site: h.site, subscriber: sub.name }, sub.lag);
        this.up.set({ site: h.site, subscriber: sub.name }, sub.alive ? 1 : 0);
      }
    }
  }

  appended(site: string, source: string, type: string): void {
    this.appendedTotal.inc({ site, source, type: typeLabel(type) });
  }

  relayed(site: string, source: string, type: string, timeIso: string): void {
    this.relayedTotal.inc({ site, source, type: typeLabel(type) });
    this.seen(type, timeIso);
  }

  deadLettered(site: string, agent: string): void {
    this.deadLettersTotal.inc({ site, agent });
  }

  command(site: string, agent: string, outcome: 'taken' | 'refused' | 'shed', code: string): void {
    this.commandsTotal.inc({ site, agent, outcome, code });
  }

  quarantined(reason: string, count: number): void {
    this.quarantinedTotal.inc({ reason }, count);
  }

  solved(seconds: number, status: string): void {
    this.solveSeconds.observe({ status }, seconds);
  }

  checkpointThreadLost(): void {
    this.checkpointThreadLostTotal.inc();
  }

  planned(unplaced: number): void {
    this.unplacedJobs.set(unplaced);
  }

  seen(type: string, timeIso: string): void {
    if (type !== FORECAST_TYPE) return;
    const t = Date.parse(timeIso);
    if (Number.isFinite(t) && (this.lastForecastMs === undefined || t > this.lastForecastMs)) this.lastForecastMs = t;
  }
}
