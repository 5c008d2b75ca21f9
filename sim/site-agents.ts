import type { Runtime } from '../core/runtime/runtime.ts';
import type { SimulatedClock } from '../core/clock/simulated-clock.ts';
import type { Keyring } from '../core/ledger/keyring.ts';
import type { SiteConfig } from '../agents/compute/jobs/index.ts';
import { createComputeAgent, type ComputeState } from '../agents/compute/index.ts';
import { createGridAgent, loadGridForecaster, RecordedSignalSource } from '../agents/grid/index.ts';
import type { SimulationInputs } from './inputs.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyDirectory } from '../beckn/index.ts';
import { generateKeyPairSync } from 'node:crypto';
import type { BecknSigningKey } from '../beckn/index.ts';
import { createCoordinationAgent, loopbackTransport, LoopbackResolver, SIM_BPP, writeKeyDirectoryFile } from '../agents/coordination/index.ts';
import { createGridOperatorAgent, SIM_BAP } from '../agents/grid-operator/index.ts';

export interface SiteAgents {
  /** Jobs submitted and not yet finished. */
  activeJobs(): number;
  readonly forecasterNotes: ReadonlyArray<string>;
  close(): Promise<void>;
}

export interface SiteAgentsParams {
  readonly runtime: Runtime;
  readonly inputs: SimulationInputs;
  readonly site: SiteConfig;
  readonly seed: string;
  readonly market: boolean;
  readonly clock: SimulatedClock;
  readonly keyring: Keyring;
  /** The grid agent's forecaster (config `forecaster`): the LSTMs unless `ensemble`. */
  readonly forecaster?: 'lstm' | 'ensemble';
}

/**
 * The site's agents for a simulation, in the order their timers must fire at the same
 * instant: the grid agent first (its observations and forecast are what the compute agent
 * plans with), then compute, then the market.
 */
export async function buildSiteAgents(p: SiteAgentsParams): Promise<SiteAgents> {
  const source = new RecordedSignalSource({ carbon: p.inputs.carbon, prices: p.inputs.prices });
  const { forecaster, notes } = await loadGridForecaster(p.forecaster === 'ensemble' ? {} : { ensemble: false });
  p.runtime.add(createGridAgent({ source, forecaster }));
  const compute = p.runtime.add(createComputeAgent({ site: p.site, planOptions: { deterministic: true } }));
  let close = async (): Promise<void> => undefined;
  if (p.market) {
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
  }
  return {
    activeJobs: () => (compute.state as ComputeState).active.size,
    forecasterNotes: notes,
    close,
  };
}

function runKey(subscriberId: string): BecknSigningKey {
  return { subscriberId, uniqueKeyId: 'k1', privateKey: generateKeyPairSync('ed25519').privateKey };
}
