/**
 * Process-wide metric hooks for code that has no metrics object at hand (the store's
 * verify-on-read, the planner's solver call, the agent host, the relay, the SQLite store's
 * checkpoint thread). Until a sink is installed each hook is a call to an empty function, so
 * the hot path and the simulation's determinism are untouched; the hooks only count, they never feed back into a decision.
 * This file must not import prom-client: the store and the planner import it.
 */

/** Where the hooks report; `CacoMetrics.install()` sets one. */
export interface MetricsSink {
  appended(site: string, source: string, type: string): void;
  relayed(site: string, source: string, type: string, timeIso: string): void;
  deadLettered(site: string, agent: string): void;
  quarantined(reason: string, count: number): void;
  solved(seconds: number, status: string): void;
  /** The compute agent published a plan that found no room for `unplaced` jobs (0: every job placed). */
  planned(unplaced: number): void;
  /** An event was stored or relayed: its type and ledger time (forecast age watches these). */
  seen(type: string, timeIso: string): void;
  /** The SQLite store's checkpoint thread stopped without being asked (see WalCheckpointer). */
  checkpointThreadLost(): void;
  /** A command from the bus for `agent`: taken by its intake, refused there (`code`), or shed `busy` before it. */
  command(site: string, agent: string, outcome: 'taken' | 'refused' | 'shed', code: string): void;
}

const NOOP: MetricsSink = {
  appended() {},
  relayed() {},
  deadLettered() {},
  quarantined() {},
  solved() {},
  planned() {},
  seen() {},
  checkpointThreadLost() {},
  command() {},
};

let sink: MetricsSink = NOOP;

/** Route the hooks to `s` (undefined: back to no-ops). Returns the sink it replaced. */
export function setMetricsSink(s: MetricsSink | undefined): MetricsSink | undefined {
  const prev = sink;
  sink = s ?? NOOP;
  return prev === NOOP ? undefined : prev;
}

export function currentMetricsSink(): MetricsSink | undefined {
  return sink === NOOP ? undefined : sink;
}

/**
 * Commits the verify-on-read check refused to hand out (a broken hash chain, a bad signature).
 * Call `quarantined.inc({ reason })` once per quarantined commit; `reason` should be a short,
 * bounded word such as `hash` or `signature` (it becomes a label: never put an id in it).
 */
export const quarantined = {
  inc(labels: { readonly reason: string }, value = 1): void {
    sink.quarantined(labels.reason, value);
  },
};

/** Hooks the runtime and the planner call; cheap no-ops until a sink is installed. */
export const metricsHooks = {
  appended(site: string, events: ReadonlyArray<{ readonly source: string; readonly type: string; readonly time: string }>): void {
    for (const e of events) {
      sink.appended(site, e.source, e.type);
      sink.seen(e.type, e.time);
    }
  },
  relayed(site: string, e: { readonly source: string; readonly type: string; readonly time: string }): void {
    sink.relayed(site, e.source, e.type, e.time);
  },
  deadLettered(site: string, agent: string): void {
    sink.deadLettered(site, agent);
  },
  /** A planner solve took `ms` (measured by the solver, off the decider's clock). */
  solved(ms: number, status: string): void {
    sink.solved(ms / 1000, status);
  },
  checkpointThreadLost(): void {
    sink.checkpointThreadLost();
  },
  /** A plan was made that found no room for `unplaced` jobs. */
  planned(unplaced: number): void {
    sink.planned(unplaced);
  },
  /** `code` is a CommandRefusal word (bounded), never an id. */
  command(site: string, agent: string, outcome: 'taken' | 'refused' | 'shed', code = ''): void {
    sink.command(site, agent, outcome, code);
  },
};
