import type { Bus } from '../../../core/bus/bus.ts';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { tallyAgent } from '../../example/agents.ts';
import { defineAgent } from '../../../core/runtime/agent.ts';

/** An agent whose state cannot take a reset of the meter "boom": its ledger subscription then dies. */
function fragileAgent() {
  return defineAgent<number>({
    name: 'fragile',
    version: '1.0.0',
    categories: ['fragile'],
    initialState: () => 0,
    evolve: (n, e) => {
      if ((e.data as { meter?: string }).meter === 'boom') throw new Error('evolve cannot take a boom');
      return n + 1;
    },
    decide: () => [],
  });
}

/**
 * A live-style site (independent delivery: one ledger subscription per agent, and the relay)
 * with the example tally agent on the embedded stack. `wrapBus` lets a test put a traced or
 * failing bus between the runtime and the in-process one.
 */
export async function tallySite(seed: string, o: { wrapBus?: (b: Bus) => Bus; fragile?: boolean } = {}) {
  const s = embeddedStack(seed);
  const site = `obs${seed.replace(/[^a-z0-9]/g, '')}`;
  const bus = o.wrapBus ? o.wrapBus(s.bus) : s.bus;
  const rt = new Runtime({ ...s, bus, site, checkpoints: s.store, registry: exampleRegistry(), delivery: 'independent', subscriptionGiveUpMs: 1500 });
  rt.add(tallyAgent());
  if (o.fragile) rt.add(fragileAgent());
  try {
    await rt.start();
  } catch (err) {
    await s.close();
    throw err;
  }
  return {
    ...s,
    bus,
    rt,
    site,
    async close() {
      await rt.stop().catch(() => undefined);
      await s.close();
    },
  };
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Poll `check` until it returns a value, or fail after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 5000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
