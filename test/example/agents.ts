import { defineAgent, type AgentDefinition } from '../../core/runtime/agent.ts';
import { SeededRandom } from '../../core/ids/ids.ts';

/**
 * A two-agent example that runs the same on both stacks: a meter agent reads a (seeded,
 * pseudo-random) meter every half-hour; a tally agent reacts to each reading and keeps a
 * running total, and accepts a reset command.
 */
const HALF_HOUR = 30 * 60 * 1000;

export interface MeterState {
  readonly readings: number;
}

export function meterAgent(seed: string, untilMs: number): AgentDefinition<MeterState> {
  const rng = new SeededRandom(`meter:${seed}`);
  return defineAgent<MeterState>({
    name: 'meter',
    version: '1.0.0',
    categories: ['meter'],
    initialState: () => ({ readings: 0 }),
    evolve: (s, e) => (e.type === 'example.meter.read' ? { readings: s.readings + 1 } : s),
    onStart: (ctx) => ctx.setTimer(Math.ceil(ctx.now() / HALF_HOUR) * HALF_HOUR, 'read'),
    decide: (input, _s, ctx) => {
      if (input.kind !== 'timer') return [];
      const next = input.atMs + HALF_HOUR;
      if (next < untilMs) ctx.setTimer(next, 'read');
      const energyKwh = Math.round(rng.next() * 5000) / 10;
      return [{ stream: 'meter-main', events: [{ type: 'example.meter.read', data: { meter: 'main', periodStart: new Date(input.atMs).toISOString(), energyKwh } }] }];
    },
  });
}

export interface TallyState {
  readonly totalKwh: number;
  readonly readings: number;
  readonly revision: number;
}

export function tallyAgent(opts: { failOnce?: () => boolean } = {}): AgentDefinition<TallyState> {
  return defineAgent<TallyState>({
    name: 'tally',
    version: '1.0.0',
    categories: ['tally'],
    subscriptions: ['example.meter.*'],
    commands: { reset: 'example.tally.reset' },
    initialState: () => ({ totalKwh: 0, readings: 0, revision: -1 }),
    evolve: (s, e) => {
      if (e.type === 'example.energy.totalled') {
        const d = e.data as { totalKwh: number; readings: number };
        return { totalKwh: d.totalKwh, readings: d.readings, revision: e.revision };
      }
      if (e.type === 'example.total.reset') return { totalKwh: 0, readings: 0, revision: e.revision };
      return s;
    },
    decide: (input, s) => {
      if (opts.failOnce?.()) throw new Error('simulated crash');
      if (input.kind === 'command') {
        const d = input.command.data as { meter: string; reason: string };
        return [{ stream: 'tally-main', expected: s.revision < 0 ? 'no-stream' : s.revision, events: [{ type: 'example.total.reset', data: d }] }];
      }
      if (input.kind !== 'event') return [];
      const d = input.event.data as { energyKwh: number; meter: string };
      const totalKwh = Math.round((s.totalKwh + d.energyKwh) * 10) / 10;
      return [{ stream: 'tally-main', expected: s.revision < 0 ? 'no-stream' : s.revision, events: [{ type: 'example.energy.totalled', data: { meter: d.meter, readings: s.readings + 1, totalKwh } }] }];
    },
  });
}
