import { createHash } from 'node:crypto';
import { claimedContextFields } from './claimed-field.ts';
import { bppSubject, marketSubject, natsBppUri, type KeyDirectory } from '../../beckn/index.ts';
import type { Bus } from '../../core/bus/index.ts';
import { ENVELOPE_ID } from '../../core/envelope/index.ts';
import type { AgentContext } from '../../core/runtime/index.ts';
import type { Runtime } from '../../core/runtime/index.ts';
import { REQUEST_ACTIONS } from '../../schemas/beckn/index.ts';
import { startBecknHttpServer, type BecknHttpServer, type LoopbackResolver, type RawRequest, type RefusedHttp } from './beckn-http.ts';
import { startBecknNatsServer, type BecknNatsServer } from './beckn-nats.ts';
import { boundRejection } from './bounded-rejection.ts';
import { RefusalRecords, UNVERIFIED } from './refusal-records.ts';
import type { CoordinationConfig } from './config.ts';
import { bapKeyOf } from './effects.ts';
import { BppIntake, type RejectionData } from './intake.ts';
import type { CoordinationState } from './state.ts';

/**
 * The BPP's doors, at the edge: the signed HTTP server and the NATS subjects, both through one
 * intake that answers ACK or NACK at once and queues the work (or the record of a refusal) as
 * the agent's commands. Nothing here decides; the agent's deciders do, one command at a time.
 */
export interface DoorsDeps {
  readonly agent: string;
  readonly config: CoordinationConfig;
  readonly runtime: Pick<Runtime, 'enqueue' | 'effectBacklog'>;
  readonly keyDirectory: KeyDirectory;
  /** The agent's current state, which the intake checks a request against before it ACKs. */
  state(): CoordinationState;
  readonly resolver?: LoopbackResolver;
  readonly listen?: { readonly host?: string; readonly port?: number } | false;
  readonly onListening?: (server: BecknHttpServer) => void;
  readonly nats?: { readonly bus: Bus; readonly onListening?: (server: BecknNatsServer) => void };
}

export interface Doors {
  close(): Promise<void>;
}

export async function openDoors(deps: DoorsDeps, ctx: AgentContext): Promise<Doors> {
  const cfg = deps.config;
  /** Requests from each BAP accepted by the server and not yet handled by the agent. */
  const accepted = new Map<string, number>();
  const bump = (key: string, by: number) => {
    const n = (accepted.get(key) ?? 0) + by;
    if (n > 0) accepted.set(key, n);
    else accepted.delete(key);
  };
  const intake = new BppIntake({
    config: cfg,
    keys: deps.keyDirectory,
    nowMs: () => ctx.now(),
    state: deps.state,
    log: ctx.log,
    backlog: (bapUri) => {
      const key = bapKeyOf(bapUri);
      return (accepted.get(key) ?? 0) + deps.runtime.effectBacklog(key);
    },
    enqueueRequest: (action, body) => {
      const r = deps.runtime.enqueue(deps.agent, 'handle', { action, body }, { id: becknCommandId(body.context.bap_id, body.context.message_id), ...idOpts(body.context.transaction_id, body.context.bap_id), sign: false });
      if (r.accepted) {
        const key = bapKeyOf(body.context.bap_uri);
        bump(key, 1);
        void r.outcome.then((o) => {
          bump(key, -1);
          if (!o.ok) ctx.log.error({ action, reason: o.error.reason }, 'handling an accepted request failed');
        });
      }
      return r.accepted;
    },
    enqueueRejection: (raw, signer) => record(raw, signer),
  });
  const records = new RefusalRecords(cfg.refusalRecords);
  const enqueueRejection = (raw: RejectionData) => {
    const data = boundRejection(raw);
    const r = deps.runtime.enqueue(deps.agent, 'reject', data, { ...idOpts(data.transactionId, data.bapId), sign: false });
    if (!r.accepted) ctx.log.error({ data, error: r.error }, 'could not record a rejection');
  };
  /** Every refusal is answered; it is recorded unless its sender is over its rate (then counted, see RefusalRecords). */
  function record(raw: RejectionData, signer: string | null): void {
    const { record: out, startedSuppressing } = records.admit(raw, signer, ctx.now());
    if (startedSuppressing) ctx.log.warn({ signer: signer ?? UNVERIFIED, reason: raw.reason }, 'refusals over their rate: answered, counted, not recorded one by one');
    for (const r of out) enqueueRejection(r);
  }
  const onRefused = (r: RefusedHttp) => {
    const last = r.method === 'NATS' ? (r.urlPath.split('.').pop() ?? '') : (r.urlPath.split('/').pop() ?? '');
    const data: RejectionData = {
      action: (REQUEST_ACTIONS as ReadonlyArray<string>).includes(last) ? last : '(none)',
      messageId: null,
      transactionId: null,
      bapId: null,
      httpStatus: r.httpStatus,
      code: r.httpStatus >= 500 ? '40000' : '30000',
      reason: r.reason,
      path: null,
      request: { method: r.method, urlPath: r.urlPath, sizeBytes: r.sizeBytes, sha256: r.sha256 },
    };
    // Refused before any signature was read: its sender is not known.
    record(data, null);
  };
  let natsServers: BecknNatsServer[] = [];
  let server: BecknHttpServer | undefined;
  if (deps.nats) {
    // One intake, two doors: the NATS requests meet exactly the checks the HTTP ones do.
    // The market's subject (several BPPs may share it: a request naming another bpp_id is
    // not ours) and this BPP's own, the bpp_uri its NATS callbacks give.
    const common = { bus: deps.nats.bus, actions: REQUEST_ACTIONS, handler: (req: RawRequest) => intake.handle(req), queue: `beckn-bpp-${cfg.bpp.id}`.replace(/[^A-Za-z0-9_-]/g, '_'), onRefused };
    natsServers = [
      await startBecknNatsServer({ ...common, prefix: marketSubject(cfg.domain), addressedHere: (body) => namesBpp(body, cfg.bpp.id) }),
      await startBecknNatsServer({ ...common, prefix: bppSubject(cfg.domain, cfg.bpp.id) }),
    ];
    for (const s of natsServers) deps.nats.onListening?.(s);
    ctx.log.info({ subjects: natsServers.map((s) => s.subject), uri: natsBppUri(cfg.domain, cfg.bpp.id) }, 'BPP listening on NATS');
  }
  if (deps.listen !== false) {
    server = await startBecknHttpServer({
      actions: REQUEST_ACTIONS,
      pathPrefix: new URL(cfg.bpp.uri).pathname,
      handler: (req) => intake.handle(req),
      onRefused,
      ...(deps.listen?.host !== undefined ? { host: deps.listen.host } : {}),
      ...(deps.listen?.port !== undefined ? { port: deps.listen.port } : {}),
    });
    deps.resolver?.register(cfg.bpp.uri, server.origin);
    deps.onListening?.(server);
    ctx.log.info({ origin: server.origin, uri: cfg.bpp.uri }, 'BPP listening');
  }
  return {
    async close() {
      deps.resolver?.unregister(cfg.bpp.uri);
      for (const s of natsServers) await s.close();
      natsServers = [];
      await server?.close();
      server = undefined;
      // What was counted and not yet recorded goes on the ledger before the agent stops.
      for (const r of records.drain()) enqueueRejection(r);
    },
  };
}

/**
 * The command id of an accepted request, by which the agent drops a repeat. Message ids are
 * unique per sender only (the intake remembers them per signer), so the id names both: two
 * BAPs that happen to use one message_id are two requests. `bapId` is the verified signer.
 * Hashed, since a subscriber id and a message id together may exceed an envelope id's 128
 * characters, and no separator is safe in both.
 */
/**
 * The envelope ids a Beckn request lends its command: the transaction id as correlation id and
 * the BAP as source, where each is an envelope id (ENVELOPE_ID); otherwise a fresh correlation
 * id and the source `beckn`. Beckn's ids are free strings, and a refusal's are whatever an
 * unverified body claimed: one with a NUL, a CR/LF or 200 characters was stored on a site-signed
 * event, and with tracing on its CR/LF stopped the relay (a header value nats.js refuses).
 * The body itself, ids and all, is still recorded as it came.
 */
function idOpts(transactionId: string | null | undefined, bapId: string | null | undefined): { correlationId?: string; source: string } {
  return { ...(transactionId && ENVELOPE_ID.test(transactionId) ? { correlationId: transactionId } : {}), source: bapId && ENVELOPE_ID.test(bapId) ? bapId : 'beckn' };
}

export function becknCommandId(bapId: string, messageId: string): string {
  return `beckn:${createHash('sha256').update(JSON.stringify([bapId, messageId])).digest('base64url')}`;
}

/**
 * Routing only, before any check: does a request on the market's shared subject name this BPP
 * (or no BPP, as a search does)? Read from the body's first 16 KB, not parsed (claimedContextFields):
 * parsing every message on the shared subject before its signature let anyone with no key make
 * the site parse up to 1 MiB per message. A body that names none is ours, so the intake refuses
 * it on the record.
 */
function namesBpp(body: Uint8Array, bppId: string): boolean {
  const bpp = claimedContextFields(body, ['bpp_id']).bpp_id;
  return bpp === null || bpp === bppId;
}
