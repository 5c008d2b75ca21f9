import { Runtime } from '../../../core/runtime/runtime.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { loadCarbonCsv, loadPriceCsv, type CarbonRow, type PriceRow } from '../../../data/index.ts';
import { embeddedStack } from '../../support/embedded.ts';
import {
  BadResponseError,
  createGridAgent,
  gridForecaster,
  naiveSeriesForecaster,
  RecordedSignalSource,
  SourceUnavailableError,
  type Forecaster,
  type GridAgentDeps,
  type GridState,
  type SignalSource,
} from '../../../agents/grid/index.ts';

/** The project's real 2023 data, loaded once per test process. */
let rows: { carbon: CarbonRow[]; prices: PriceRow[] } | undefined;
export function recordedRows(): { carbon: CarbonRow[]; prices: PriceRow[] } {
  rows ??= { carbon: loadCarbonCsv().rows, prices: loadPriceCsv().rows };
  return rows;
}

export function recordedSource(): RecordedSignalSource {
  const r = recordedRows();
  return new RecordedSignalSource({ carbon: r.carbon, prices: r.prices });
}

export interface RunResult {
  readonly events: Envelope[];
  readonly state: GridState;
  readonly headHash: string | null;
  readonly auditOk: boolean;
  readonly dlq: unknown[];
}

/**
 * Run the grid agent on the embedded stack with a simulated clock from `startMs`, handling
 * every tick due before `untilMs`; `beforeTick` runs with the clock at each tick, before it is handled.
 */
export async function runGrid(opts: {
  seed?: string;
  startMs: number;
  untilMs: number;
  deps: GridAgentDeps;
  beforeTick?: (atMs: number) => void;
}): Promise<RunResult> {
  const s = embeddedStack(opts.seed ?? 'grid', opts.startMs);
  const rt = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', backoffMs: 1, maxAttempts: 2 });
  const dlq: unknown[] = [];
  await s.bus.subscribe('caco.test.dlq', (m) => {
    dlq.push(JSON.parse(Buffer.from(m.data).toString('utf8')));
  });
  const host = rt.add(createGridAgent(opts.deps));
  try {
    await rt.start();
    for (;;) {
      const at = s.clock.nextTimerAt();
      if (at === undefined || at >= opts.untilMs) break;
      opts.beforeTick?.(at);
      s.clock.advanceToNextTimer();
      await rt.settle();
    }
    await rt.settle();
    const events: Envelope[] = [];
    for await (const e of s.store.readAll()) events.push(e);
    const audit = await verifyLedger(s.store, s.keyring);
    return { events, state: host.state, headHash: audit.headHash, auditOk: audit.ok, dlq };
  } finally {
    await rt.stop();
    await s.close();
  }
}

export const ofType = <D>(events: ReadonlyArray<Envelope>, type: string): Array<Envelope & { data: D }> =>
  events.filter((e) => e.type === type) as Array<Envelope & { data: D }>;

/** A source that fails, as an outage or a changed API would, while `failing(nowMs)` says so. */
export function flakySource(inner: SignalSource, failing: (nowMs: number) => 'unavailable' | 'bad-response' | 'bug' | null): SignalSource {
  return {
    name: inner.name,
    observed(fromMs, toMs, nowMs) {
      switch (failing(nowMs)) {
        case 'unavailable':
          return Promise.reject(new SourceUnavailableError('test /observed', 'http://127.0.0.1/observed', 'connect ECONNREFUSED', null, 4, true));
        case 'bad-response':
          return Promise.reject(new BadResponseError('test /observed', 'http://127.0.0.1/observed', [{ path: 'data[0].intensity', reason: 'expected an object' }]));
        case 'bug':
          return Promise.reject(new TypeError('a bug in the source'));
        default:
          return inner.observed(fromMs, toMs, nowMs);
      }
    },
  };
}

/** The naive forecaster for both series: deterministic and always available. */
export const naiveForecaster = (): Forecaster => gridForecaster({ carbon: naiveSeriesForecaster(), price: naiveSeriesForecaster() });
