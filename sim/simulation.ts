import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { SimulatedClock } from '../core/clock/index.ts';
import { SeededRandom, Uuid7Ids } from '../core/ids/index.ts';
import { createLogger } from '../core/log/index.ts';
import { Runtime } from '../core/runtime/index.ts';
import { openStack, type Stack } from '../core/stack/index.ts';
import { verifyLedger, type AuditReport } from '../core/ledger/index.ts';
import { AnchorWriter, openAnchorLog, type AnchorCheckpoint } from '../core/anchor/index.ts';
import { cacoRegistry } from '../schemas/index.ts';
import type { Job } from '../agents/compute/jobs/index.ts';
import { advanceAndSettle } from './clock-driver.ts';
import { DRAIN_MS, loadInputs, type SimulationInputs } from './inputs.ts';
import type { SimulationOptions } from './options.ts';
import { buildSite, siteSignals, type SiteAgents } from '../site/index.ts';
import { openSiteIdentity, type SiteIdentity } from '../core/identity/index.ts';
import { HALF_HOUR_MS as SLOT_MS, DAY_MS } from '../core/time/index.ts';
import { UsageError } from '../core/errors/index.ts';


export interface SimulationRun {
  readonly inputs: SimulationInputs;
  readonly stack: Stack;
  readonly runtime: Runtime;
  readonly audit: AuditReport;
  /** The last anchor checkpoint (written at the end of the run) and where the anchor is. */
  readonly anchor: { readonly checkpoint: AnchorCheckpoint | undefined; readonly where: string };
  readonly agents: SiteAgents;
  /** What to tell the user about the run's set-up: the agents' notes, and a forecaster short of history. */
  readonly notes: ReadonlyArray<string>;
  readonly wallMs: number;
  readonly events: number;
  readonly endMs: number;
  readonly submitted: number;
  close(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A run that starts with less data before it than the forecaster wants (the ensemble: its 28-day
 * error window and what its members look back on) still runs, fitted on what there is; the
 * user is told until when, since its first weeks' forecasts are not what the README measures.
 */
export function shortHistoryNote(fromMs: number, dataFromMs: number, wantedMs: number): string[] {
  const haveMs = fromMs - dataFromMs;
  if (haveMs >= wantedMs) return [];
  const days = (ms: number) => (ms / DAY_MS).toFixed(1);
  return [`forecaster history: the data holds ${days(haveMs)} days before ${iso(fromMs).slice(0, 10)}; the forecaster wants ${days(wantedMs)} days, so it fits on what there is until ${iso(dataFromMs + wantedMs).slice(0, 16)}Z`];
}

/** A job as the submit command carries it. */
function submitData(j: Job): Record<string, unknown> {
  return {
    jobId: j.id,
    class: j.class,
    powerKw: j.powerKw,
    ...(j.gpuCount !== undefined && j.perGpuKw === undefined ? { gpuCount: j.gpuCount } : {}),
    runtimeMin: j.runtimeMin,
    earliestStart: iso(j.earliestStartMs),
    deadline: iso(j.deadlineMs),
    slaClass: j.slaClass,
    preemptible: j.preemptible,
  };
}

/**
 * Run the site's agents on a simulated clock over recorded signals: every job is submitted
 * at its release, every half-hour the agents tick, and the clock moves on only when the
 * system has settled, so the same seed gives the same ledger.
 */
export async function runSimulation(o: SimulationOptions): Promise<SimulationRun> {
  const t0 = performance.now();
  o.onProgress?.({ phase: 'loading', slot: 0, slots: 0, events: 0, simTimeMs: o.fromMs, message: 'loading data and models' });
  const inputs = loadInputs(o);
  o.onInputs?.(inputs);
  mkdirSync(o.outDir, { recursive: true });
  const runTag = `${o.seed}-${o.fromMs}`.replace(/[^A-Za-z0-9]/g, '').slice(0, 24);
  // Each JetStream run gets its own ledger stream, so a rerun starts from an empty ledger.
  const natsSite = `${o.config.site}-${runTag}-${Date.now().toString(36)}`;
  // No seed here: the signing keys are made locally (random), not derived from the seed.
  const stack = await openStack(o.config, { sqlitePath: join(o.outDir, 'ledger.db'), natsSite });
  let identity: SiteIdentity | undefined;
  try {
    await refuseUsedLedger(stack);
    // The run's key registry lives with its keys in the run's folder, on either stack: every
    // command in a simulation is sent in-process, and the run leaves nothing on a server.
    identity = await openSiteIdentity({ config: { ...o.config, store: 'sqlite' }, keyring: stack.keyring, clock: new SimulatedClock(o.fromMs), dir: join(o.outDir, 'keys') });
    // On a shared NATS server the run's subjects are its own too: an agent's commands go to a
    // queue group, which other processes simulating the same site would otherwise join.
    return await simulateOn(stack, identity, o.config.bus === 'nats' ? natsSite : o.config.site, inputs, o, t0);
  } catch (err) {
    await identity?.close().catch(() => undefined);
    await stack.close().catch(() => undefined);
    throw err;
  }
}

/**
 * A run writes a ledger of its own, from empty: one that already holds events is another run's
 * (two runs mapped to one PostgreSQL schema, a reused folder), and writing into it would mix
 * two runs in one ledger.
 */
async function refuseUsedLedger(stack: Stack): Promise<void> {
  const head = await stack.store.headPosition();
  if (head === 0) return;
  const store = stack.store;
  const where =
    store.kind === 'postgres' ? `--database-url: PostgreSQL schema ${'schema' in store && typeof store.schema === 'string' ? store.schema : `of site ${stack.site}`}`
    : stack.sqlitePath ? `--out: the ledger ${stack.sqlitePath}`
    : `--store ${store.kind}: the ledger of site ${stack.site}`;
  throw new UsageError(`${where} already holds events (up to position ${head}), another run's: a simulation starts from an empty ledger; run it again, or remove that ledger`);
}

async function simulateOn(stack: Stack, identity: SiteIdentity, busSite: string, inputs: SimulationInputs, o: SimulationOptions, t0: number): Promise<SimulationRun> {
  const clock = new SimulatedClock(o.fromMs);
  const ids = new Uuid7Ids(clock, new SeededRandom(`ids:${o.seed}`));
  const log = createLogger({ level: o.config.logLevel });
  const runtime = new Runtime({
    site: busSite,
    store: stack.store,
    checkpoints: stack.checkpoints,
    bus: stack.bus,
    clock,
    ids,
    registry: cacoRegistry(),
    keyring: stack.keyring,
    log,
    delivery: 'lockstep',
    identity,
  });
  // Signed checkpoints of the ledger's head, outside the ledger: after every half-hour and at the end.
  const anchor = await AnchorWriter.open({ store: stack.store, log: await openAnchorLog(stack, { create: true }), keyring: stack.keyring, site: stack.site, clock });
  const agents = await buildSite({
    runtime,
    bus: stack.bus,
    site: o.site,
    signals: siteSignals({ kind: 'recorded', carbon: inputs.carbon, prices: inputs.prices }).source,
    forecaster: o.config.forecaster,
    compute: { planOptions: { deterministic: true }, runtimeModel: false },
    market: (o.market ?? true) ? { kind: 'simulated' } : { kind: 'none' },
  });
  // As a live site does: the registry names every party of the site (the ledger's signers too).
  await identity.ensureAdmin();
  for (const name of runtime.agentNames) await identity.ensureLocal(name);
  await runtime.start();
  await runtime.settle();

  const jobs = [...inputs.jobs].sort((a, b) => a.earliestStartMs - b.earliestStartMs || (a.id < b.id ? -1 : 1));
  const endArrivals = o.fromMs + o.days * DAY_MS;
  const slots = o.days * 48;
  let next = 0;
  let submitted = 0;
  let events = 0;
  const countEvents = async () => (events = await stack.store.headPosition());
  for (let slot = 0; slot < slots; slot++) {
    const slotEnd = o.fromMs + (slot + 1) * SLOT_MS;
    while (next < jobs.length && jobs[next]!.earliestStartMs <= slotEnd) {
      const j = jobs[next++]!;
      if (j.earliestStartMs >= endArrivals) continue;
      // Arrive before the half-hourly tick of the same instant, so the tick plans the job.
      await advanceAndSettle(clock, runtime, Math.max(clock.now(), j.earliestStartMs), { fireAtTarget: false });
      // The job's id doubles as the command id, so a resubmission is recognised.
      const reply = await runtime.send('compute', 'submit', submitData(j), { id: `submit-${j.id}`, source: 'workload' });
      if (!reply.ok) log.warn({ job: j.id, reason: reply.error.reason }, 'submission failed');
      submitted++;
    }
    await advanceAndSettle(clock, runtime, slotEnd);
    await countEvents();
    await anchor.checkpoint();
    o.onProgress?.({ phase: 'simulating', slot: slot + 1, slots, events, simTimeMs: clock.now() });
  }
  // Let the last jobs finish (as the baselines do), half-hour by half-hour.
  const drainEnd = endArrivals + DRAIN_MS;
  while (clock.now() < drainEnd && agents.activeJobs() > 0) {
    await advanceAndSettle(clock, runtime, clock.now() + SLOT_MS);
    await countEvents();
    await anchor.checkpoint();
    o.onProgress?.({ phase: 'draining', slot: slots, slots, events, simTimeMs: clock.now(), message: `${agents.activeJobs()} jobs still running` });
  }
  const endMs = clock.now();
  // Every job is due before the drain ends (loadInputs), so one still open is running late:
  // its work is missing from the CACO row but not from the baselines'.
  const open = agents.activeJobs();
  const unfinished = open > 0 ? [`${open} job${open === 1 ? ' was' : 's were'} still unfinished when the run stopped at ${new Date(endMs).toISOString()}, past every deadline: the CACO row lacks their remaining work, which the baselines include`] : [];
  await runtime.stop();
  const last = await anchor.close();
  const audit = await verifyLedger(stack.store, stack.keyring);
  return {
    inputs,
    stack,
    runtime,
    audit,
    anchor: { checkpoint: last, where: anchor.where },
    agents,
    notes: [...(inputs.gaps ?? []), ...agents.notes, ...shortHistoryNote(o.fromMs, inputs.dataFromMs, agents.forecastHistoryMs), ...unfinished],
    wallMs: performance.now() - t0,
    events: audit.events,
    endMs,
    submitted,
    close: async () => {
      await agents.close();
      await identity.close();
      await stack.close();
    },
  };
}
