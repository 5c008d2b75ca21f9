import { WallClock } from '../core/clock/index.ts';
import { Uuid7Ids } from '../core/ids/index.ts';
import { createLogger } from '../core/log/index.ts';
import { Runtime } from '../core/runtime/index.ts';
import { openStack, siteDir, type Stack } from '../core/stack/index.ts';
import type { CacoConfig } from '../core/config/index.ts';
import { cacoRegistry } from '../schemas/index.ts';
import type { SignalSource } from '../agents/grid/index.ts';
import { DEFAULT_SITE, type SiteConfig } from '../agents/compute/jobs/index.ts';
import { describeSlaCeiling, slaCeilingFromEnv, type SlaCeiling } from '../agents/compute/index.ts';
import { buildSite, siteSignals, type SiteAgents, type SiteMarket } from '../site/index.ts';
import { openSiteIdentity, type SiteIdentity } from '../core/identity/index.ts';
import { inputLimitsFromEnv, type InputLimitsConfig } from '../core/config/index.ts';
import { ANCHOR_SIGNER, AnchorWriter, openAnchorLog } from '../core/anchor/index.ts';
import { keyFingerprint } from '../core/ledger/index.ts';
import { CacoMetrics, enableTracingFromEnv, tracedBus } from '../core/observability/index.ts';
import { GATEWAY_PARTY } from '../core/gateway/index.ts';
import { startSiteGateway, type SiteGatewayHandle } from './site-gateway.ts';
import { acquireRunLock } from './run-lock.ts';

/** How often a live site signs a checkpoint of its ledger's head into the anchor. */
const ANCHOR_EVERY_MS = 60_000;

export interface LiveSite {
  readonly stack: Stack;
  readonly runtime: Runtime;
  readonly notes: ReadonlyArray<string>;
  readonly source: SignalSource;
  /** The site's agents (built by site/buildSite). */
  readonly agents: SiteAgents;
  /** The site's key registry and its own parties' keys (admin, the agents, the operator). */
  readonly identity: SiteIdentity;
  /** Signed checkpoints of the ledger's head, outside the ledger (every minute and at stop). */
  readonly anchor: AnchorWriter;
  /** The bounds on outside input the site runs with (also for its HTTP endpoints). */
  readonly limits: InputLimitsConfig;
  /** The site's Prometheus metrics (served at GET /metrics by the HTTP endpoints). */
  readonly metrics: CacoMetrics;
  /** The gateway outside agents join through (docs/external-agent.md), discoverable on NATS. */
  readonly gateway: SiteGatewayHandle;
  stop(): Promise<void>;
}

/**
 * The site's grid and compute agents (and its market, `opts.market`, default none) on the wall
 * clock, each with its own mailbox, on the configured bus and store; the agents are wired by
 * site/buildSite. Grid signals come live from the Carbon Intensity and Elexon APIs, or from the
 * recorded 2023 data replayed as if current.
 */
export async function startLiveSite(config: CacoConfig, opts: { recorded: boolean; site?: SiteConfig; market?: SiteMarket; init?: boolean; limits?: InputLimitsConfig; slaCeiling?: SlaCeiling | null }): Promise<LiveSite> {
  const limits = opts.limits ?? inputLimitsFromEnv();
  // Given (null: none), or from CACO_MAX_SLA_CLASS_PER_PARTY; read here, not in inputLimitsFromEnv,
  // because core/config may not know the compute agent's service classes.
  const slaCeiling = opts.slaCeiling === undefined ? slaCeilingFromEnv() : (opts.slaCeiling ?? undefined);
  // Before anything is opened: a second site on this folder would fork its anchor file.
  const lock = acquireRunLock(siteDir(config));
  // Before anything opens a bus: the bus is wrapped only when tracing is on.
  const tracing = await enableTracingFromEnv().catch((err: unknown) => {
    lock.release();
    throw err;
  });
  // A live site writes: it must not start over a ledger lost behind its back.
  const stack = await openStack(config, { ledgerContinuity: { init: Boolean(opts.init) } }).catch(async (err: unknown) => {
    await tracing.stop();
    lock.release();
    throw err;
  });
  const clock = new WallClock();
  const metrics = new CacoMetrics({ now: () => clock.now() });
  const uninstallMetrics = metrics.install();
  let identity: SiteIdentity | undefined;
  // Held out here so that a start that fails part way stops what it started before the stack
  // under it is closed (its ledger readers otherwise fail on the closed database).
  let runtime: Runtime | undefined;
  let agents: SiteAgents | undefined;
  let gateway: SiteGatewayHandle | undefined;
  try {
    const log = createLogger({ level: config.logLevel });
    // First run: the admin key and every local party's key are made here (mode 0600 under
    // <data-dir>/<site>/keys) and registered, so the site needs no manual set-up.
    identity = await openSiteIdentity({ config, keyring: stack.keyring, clock, log });
    await identity.ensureAdmin();
    await identity.ensureLocal('operator');
    // The anchor's key, signing nothing that is kept: made now on a new site, so its fingerprint
    // is printed at the first start too; on a site that has one, this proves its key file is
    // here, so a missing one is refused at start rather than replaced at the first checkpoint.
    stack.keyring.sign(ANCHOR_SIGNER, new Uint8Array(0));
    // Likewise the gateway's own key (it signs what it records of outside agents).
    stack.keyring.sign(GATEWAY_PARTY, new Uint8Array(0));
    runtime = new Runtime({ site: config.site, store: stack.store, checkpoints: stack.checkpoints, bus: tracedBus(stack.bus), clock, ids: new Uuid7Ids(clock), registry: cacoRegistry(), keyring: stack.keyring, log, delivery: 'independent', identity, commandLimits: limits.commandLimits, requireBoundCommands: limits.requireBoundCommands, ...(stack.snapshots ? { snapshots: stack.snapshots } : {}), ...(limits.commandRate ? { rateLimit: limits.commandRate } : {}), ...(limits.commandPartyBudget ? { commandPartyBudget: limits.commandPartyBudget } : {}) });
    const notes: string[] = [];
    const signals = siteSignals(opts.recorded ? { kind: 'replayed', nowMs: clock.now() } : { kind: 'live' });
    const source = signals.source;
    if (signals.note) notes.push(signals.note);
    const r = (x: { perSecond: number; burst: number } | undefined, per: string) => (x ? `${x.perSecond}/s per ${per} (burst ${x.burst})` : `no limit per ${per}`);
    notes.push(`input bounds: ${limits.commandLimits.maxBytes} bytes, ${limits.commandLimits.maxDepth} levels of JSON; ${r(limits.commandRate, 'signing key')}; ${r(limits.httpRate, 'HTTP client')}; ${limits.commandPartyBudget ? `${limits.commandPartyBudget.commands} commands or ${limits.commandPartyBudget.bytes} bytes a day per party (not operators)` : 'no command budget per party'}; commands ${limits.requireBoundCommands ? 'must name this site and expire' : 'may omit site and expiresAt (CACO_REQUIRE_BOUND_COMMANDS=1 requires them)'}; at most ${limits.maxOpenJobsPerParty} open jobs per third party; ${limits.maxOpenKwPerParty === 'off' ? 'no limit on the kW of a third party\'s open jobs' : `at most ${limits.maxOpenKwPerParty !== undefined ? `${limits.maxOpenKwPerParty} kW` : 'half the site\'s IT capacity'} of open jobs per third party`}; at most ${limits.maxOnsiteOffersPerSource} live energy offers per outside operator; ${describeSlaCeiling(slaCeiling)}`);
    agents = await buildSite({
      runtime,
      bus: stack.bus,
      site: opts.site ?? DEFAULT_SITE,
      signals: source,
      forecaster: config.forecaster,
      compute: { runtimeModel: true, maxOpenJobsPerParty: limits.maxOpenJobsPerParty, ...(limits.maxOpenKwPerParty !== undefined ? { maxOpenKwPerParty: limits.maxOpenKwPerParty } : {}), maxOnsiteOffersPerSource: limits.maxOnsiteOffersPerSource, ...(slaCeiling ? { slaCeiling } : {}) },
      market: opts.market ?? { kind: 'none' },
    });
    notes.push(...agents.notes);
    for (const name of runtime.agentNames) await identity.ensureLocal(name);
    const anchor = await AnchorWriter.open({ store: stack.store, log: await openAnchorLog(stack, { create: true }), keyring: stack.keyring, site: stack.site, clock, logger: log });
    // A ledger swapped for another site's, or an anchor forked or edited, is not mended by
    // running on: the site serves, and GET /health says why it should not be trusted.
    if (anchor.mismatch !== undefined) {
      const mismatch = anchor.mismatch;
      runtime.addHealthCheck('anchor', () => `the ledger does not match its anchor (${anchor.where}): ${mismatch}; run caco audit verify`);
    }
    metrics.watch(runtime);
    await runtime.start();
    gateway = await startSiteGateway({ runtime, bus: stack.bus, identity, clock, log, limits: limits.commandLimits, requireBoundCommands: limits.requireBoundCommands, ...(limits.commandRate ? { rateLimit: limits.commandRate } : {}) });
    notes.push(gateway.served === 'nats' ? `gateway: outside agents on caco.${config.site}.gw.* and caco.${config.site}.q.*, discoverable with $SRV.PING/INFO/STATS (docs/external-agent.md)` : `gateway: on the in-process bus only (outside agents need --bus nats)`);
    anchor.startPeriodic(ANCHOR_EVERY_MS);
    if (tracing.mode === 'console') notes.push('tracing: spans printed to stdout (CACO_TRACING=console)');
    // keys.json beside the ledger is not signed: the anchor's key fingerprint, kept apart from
    // the site, is what lets an auditor tell the site's checkpoints from re-signed ones.
    const anchorKey = stack.keyring.publicKey(ANCHOR_SIGNER);
    notes.push(`anchor: signed checkpoints of the ledger's head every ${ANCHOR_EVERY_MS / 1000} s and at stop, in ${anchor.where}${anchorKey ? `; signed by ${ANCHOR_SIGNER} ${keyFingerprint(anchorKey)} (keep it apart from the site: caco audit verify --anchor-key ${keyFingerprint(anchorKey)})` : ''}`);
    const started = { runtime, agents, gateway };
    return {
      stack,
      runtime,
      notes,
      source,
      agents,
      identity,
      anchor,
      limits,
      metrics,
      gateway,
      async stop() {
        await started.gateway.stop();
        await started.runtime.stop();
        await started.agents.close();
        await anchor.close().catch((err: unknown) => log.error({ anchor: anchor.where, err: err instanceof Error ? err.message : String(err) }, 'last anchor checkpoint failed'));
        await identity?.close();
        await stack.close();
        uninstallMetrics();
        await tracing.stop();
        lock.release();
      },
    };
  } catch (err) {
    const quiet = (e: unknown) => void e;
    await gateway?.stop().catch(quiet);
    await runtime?.stop().catch(quiet);
    await agents?.close().catch(quiet);
    await identity?.close();
    await stack.close();
    uninstallMetrics();
    await tracing.stop();
    lock.release();
    throw err;
  }
}
