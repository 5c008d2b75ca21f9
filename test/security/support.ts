import type { Envelope } from '../../core/envelope/envelope.ts';
import type { EventStore } from '../../core/store/event-store.ts';
import { Runtime, type RuntimeOptions } from '../../core/runtime/runtime.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { embeddedStack } from '../support/embedded.ts';

/** An embedded site with the compute agent: what `caco run` hosts, on the in-process bus. */
export async function computeSite(seed: string, extra: Partial<Pick<RuntimeOptions, 'rateLimit' | 'commandPartyBudget' | 'commandLimits' | 'bus' | 'delivery'>> & { site?: string } = {}) {
  const embedded = embeddedStack(seed);
  // A bus given here (NATS) replaces the in-process one, and is closed with the site.
  const s = {
    ...embedded,
    bus: extra.bus ?? embedded.bus,
    async close() {
      await embedded.close();
      await extra.bus?.close();
    },
  };
  const site = extra.site ?? `s${seed.replace(/[^a-z0-9]/g, '')}`;
  const rt = new Runtime({ ...s, site, checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', ...extra });
  rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  try {
    await rt.start();
    await rt.settle();
  } catch (err) {
    await s.close();
    throw err;
  }
  return {
    ...s,
    rt,
    site,
    async close() {
      await rt.stop();
      await s.close();
    },
  };
}

/** Events appended from `from` (exclusive) on, and their size as stored JSON. */
export async function eventsAfter(store: EventStore, from: number): Promise<{ events: Envelope[]; bytes: number }> {
  const events: Envelope[] = [];
  for await (const e of store.readAll({ from })) events.push(e);
  return { events, bytes: events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0) };
}

export const T0 = Date.parse('2023-07-03T00:00:00Z');

/** A valid `compute.job.submit` payload at the embedded stack's start time. */
export function validJob(jobId: string): Record<string, unknown> {
  return { jobId, class: 'training', powerKw: 500, runtimeMin: 60, earliestStart: '2023-07-03T01:00:00Z', deadline: '2023-07-03T09:00:00Z', slaClass: 'silver', preemptible: false };
}

type CommandOpts = { id?: string; source?: string; type?: string };

/** A command envelope as a client builds it, unsigned. */
export function commandEnvelope(data: unknown, o: CommandOpts = {}): Record<string, unknown> {
  const id = o.id ?? `c-${Math.random().toString(36).slice(2)}`;
  return { id, type: o.type ?? 'compute.job.submit', version: 1, time: '2023-07-03T00:00:00Z', source: o.source ?? 'tester', correlationId: id, causationId: null, data };
}

/** An unsigned command's bytes: what the site refuses as `unsigned` once it is within bounds. */
export function commandBytes(data: unknown, o: CommandOpts = {}): Buffer {
  return Buffer.from(JSON.stringify(commandEnvelope(data, o)));
}

/**
 * A command signed as its `source` (default `tester`) by a key the site registered for that
 * party (the runtime's identity registers the party on its first signature).
 */
export async function signedCommand(rt: Runtime, data: unknown, o: CommandOpts = {}): Promise<Record<string, unknown>> {
  return rt.identity.sign(commandEnvelope(data, o) as { source: string });
}

export async function signedCommandBytes(rt: Runtime, data: unknown, o: CommandOpts = {}): Promise<Buffer> {
  return Buffer.from(JSON.stringify(await signedCommand(rt, data, o)));
}
