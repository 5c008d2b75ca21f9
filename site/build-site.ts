import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../core/bus/index.ts';
import { HALF_HOUR_MS } from '../core/time/index.ts';
import type { Runtime } from '../core/runtime/index.ts';
import { FileKeyDirectory, type BecknSigningKey } from '../beckn/index.ts';
import type { SiteConfig } from '../agents/compute/jobs/index.ts';
import type { PlanOptions } from '../agents/compute/planner/index.ts';
import { createComputeAgent, type ComputeState, type SlaCeiling } from '../agents/compute/index.ts';
import { createGridAgent, loadGridForecaster, TRACKED_BAND_OPTIONS, type SignalSource } from '../agents/grid/index.ts';
import { createCoordinationAgent, loopbackTransport, LoopbackResolver, SIM_BPP, writeKeyDirectoryFile, type CoordinationDeps } from '../agents/coordination/index.ts';
import { createGridOperatorAgent, SIM_BAP } from '../agents/grid-operator/index.ts';
import { loadRuntimePrediction } from './runtime-prediction.ts';

/** Which market the site takes part in. */
export type SiteMarket =
  /** No coordination agent: the site plans its jobs and sells nothing. */
  | { readonly kind: 'none' }
  /**
   * The simulation's market: the site's BPP and a simulated grid operator (BAP) trading over
   * loopback HTTP with keys made for the run; callbacks are delivered inline, so a seeded run
   * on the simulated clock repeats exactly.
   */
  | { readonly kind: 'simulated' }
  /**
   * A live BPP for outside buyers: the coordination agent with the given key, key directory,
   * HTTP address (`listen: false` for none) and config; with `overNats`, also on the
   * Beckn-over-NATS binding when the site's bus is NATS.
   */
  | { readonly kind: 'bpp'; readonly coordination: Omit<CoordinationDeps, 'runtime' | 'nats' | 'resolver'>; readonly overNats: boolean };

export interface BuildSiteParams {
  /** The runtime the agents join: lockstep on a simulated clock, or independent on the wall clock. */
  readonly runtime: Runtime;
  /** The site's bus; a `bpp` market with `overNats` serves the NATS binding on it when it is NATS. */
  readonly bus: Bus;
  readonly site: SiteConfig;
  /** Where the grid agent's signals come from (see `siteSignals`). */
  readonly signals: SignalSource;
  /** The grid agent's forecaster (config `forecaster`): the online ensemble unless `lstm` (the bare LSTMs) or `ensemble-tracked`. */
  readonly forecaster: 'lstm' | 'ensemble' | 'ensemble-tracked' | undefined;
  readonly compute: {
    /** The planner's options (the simulation plans deterministically). */
    readonly planOptions?: PlanOptions;
    /** Predict the runtime of a job submitted without one with the runtime model (live sites). */
    readonly runtimeModel: boolean;
    /** Jobs not yet done one third party may have open (default the compute agent's). */
    readonly maxOpenJobsPerParty?: number;
    /** kW of jobs not yet done one third party may have open, or 'off' (default the compute agent's: half the site's IT capacity). */
    readonly maxOpenKwPerParty?: number | 'off';
    /** Live energy offers one outside operator may have planned on (default the compute agent's). */
    readonly maxOnsiteOffersPerSource?: number;
    /** The highest service class each third party may ask for (default: any). */
    readonly slaCeiling?: SlaCeiling;
  };
  readonly market: SiteMarket;
}

export interface SiteAgents {
  /** Jobs submitted and not yet finished. */
  activeJobs(): number;
  /** What the start-up log says about the agents (forecaster, runtime model). */
  readonly notes: ReadonlyArray<string>;
  /** History the grid agent's forecaster wants before a forecast (the ensemble's full error window), 0 if no more than its minimum. */
  readonly forecastHistoryMs: number;
  /** Whether the BPP also serves the Beckn-over-NATS binding. */
  readonly marketOverNats: boolean;
  close(): Promise<void>;
}

/**
 * The site's agents, wired in one place for `caco simulate`, `caco run` and `caco bpp`, in the
 * order their timers must fire at the same instant: the grid agent first (its observations and
 * forecast are what the compute agent plans with), then compute, then the market.
 */
export async function buildSite(p: BuildSiteParams): Promise<SiteAgents> {
  const notes: string[] = [];
  const { forecaster, notes: forecasterNotes } = await loadGridForecaster(p.forecaster === 'lstm' ? { ensemble: false } : p.forecaster === 'ensemble-tracked' ? { ensemble: TRACKED_BAND_OPTIONS } : {});
  notes.push(...forecasterNotes);
  const predictRuntime = p.compute.runtimeModel ? await loadRuntimePrediction((n) => notes.push(n)) : undefined;
  p.runtime.add(createGridAgent({ source: p.signals, forecaster }));
  const compute = p.runtime.add(
    createComputeAgent({
      site: p.site,
      ...(p.compute.planOptions ? { planOptions: p.compute.planOptions } : {}),
      ...(predictRuntime ? { predictRuntime } : {}),
      ...(p.compute.maxOpenJobsPerParty !== undefined ? { maxOpenJobsPerParty: p.compute.maxOpenJobsPerParty } : {}),
      ...(p.compute.maxOpenKwPerParty !== undefined ? { maxOpenKwPerParty: p.compute.maxOpenKwPerParty } : {}),
      ...(p.compute.maxOnsiteOffersPerSource !== undefined ? { maxOnsiteOffersPerSource: p.compute.maxOnsiteOffersPerSource } : {}),
      ...(p.compute.slaCeiling !== undefined ? { slaCeiling: p.compute.slaCeiling } : {}),
    }),
  );
  let close = async (): Promise<void> => undefined;
  let marketOverNats = false;
  const m = p.market;
  if (m.kind === 'simulated') {
    // Both market participants sign with keys made for this run (not derived from the seed,
    // which is printed: anyone could recompute them), and find each other's public keys in a
    // key directory file written for the run. The Beckn signatures travel in HTTP headers,
    // not in the ledger, so the ledger stays the same for the same seed. Their HTTP servers
    // listen on loopback ports that only the resolver knows (the ledger names logical URIs).
    const bppKey = runKey(SIM_BPP.id);
    const bapKey = runKey(SIM_BAP.id);
    const keyDir = mkdtempSync(join(tmpdir(), 'caco-beckn-'));
    const keyFile = join(keyDir, 'beckn-keys.json');
    writeKeyDirectoryFile(keyFile, [
      { ...bppKey, type: 'BPP', url: SIM_BPP.uri },
      { ...bapKey, type: 'BAP', url: SIM_BAP.uri },
    ]);
    const keyDirectory = new FileKeyDirectory(keyFile);
    const resolver = new LoopbackResolver();
    // Inline callbacks: in lockstep the BAP reacts to each callback within the same step, so a seeded run repeats exactly.
    p.runtime.add(createCoordinationAgent({ runtime: p.runtime, signingKey: bppKey, keyDirectory, resolver, config: { callbackDelivery: 'inline' } }));
    p.runtime.add(createGridOperatorAgent({ runtime: p.runtime, signingKey: bapKey, keyDirectory, transport: loopbackTransport(resolver) }));
    close = async () => rmSync(keyDir, { recursive: true, force: true });
  } else if (m.kind === 'bpp') {
    marketOverNats = m.overNats && p.bus.kind === 'nats';
    p.runtime.add(createCoordinationAgent({ ...m.coordination, runtime: p.runtime, ...(marketOverNats ? { nats: { bus: p.bus } } : {}) }));
  }
  return {
    activeJobs: () => (compute.state as ComputeState).active.size,
    notes,
    forecastHistoryMs: (forecaster.historySlots ?? 0) * HALF_HOUR_MS,
    marketOverNats,
    close,
  };
}

function runKey(subscriberId: string): BecknSigningKey {
  return { subscriberId, uniqueKeyId: 'k1', privateKey: generateKeyPairSync('ed25519').privateKey };
}
