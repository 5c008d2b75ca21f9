import {
  ack,
  authFailure,
  BecknErrorCode,
  callbackAddressFault,
  expectedSigner,
  fault,
  nackOf,
  natsBppUri,
  natsMarketUri,
  readCheckedBody,
  schemaFault,
  timeFault,
  verifyRequest,
  type BecknFault,
  type KeyDirectory,
} from '../../beckn/index.ts';
import { CALLBACK_ACTIONS, decodeBecknBody, type BecknBody, type BecknCallbackAction } from '../../schemas/beckn/index.ts';
import type { AckAnswer, RawCallback } from './transport.ts';
import { FifoMap } from '../../core/collections/index.ts';

/**
 * The grid operator's door for callbacks: signature (by the BPP the context names), schema,
 * addressed to this BAP, ttl, repeated message id; then ACK and queue for the agent. It never
 * waits for the agent (the BPP's `decide` is waiting for this answer).
 */
export interface CallbackIntakeDeps {
  readonly bapId: string;
  readonly keys: KeyDirectory;
  nowMs(): number;
  enqueue(action: BecknCallbackAction, body: BecknBody<BecknCallbackAction>): boolean;
  readonly log?: { warn(obj: object, msg: string): void };
}

const nackAnswer = (f: BecknFault): AckAnswer => ({ statusCode: 400, headers: {}, body: nackOf(f) });

export class CallbackIntake {
  private readonly answers = new FifoMap<string, AckAnswer>(10_000);

  constructor(private readonly d: CallbackIntakeDeps) {}

  async handle(req: RawCallback): Promise<AckAnswer> {
    const answer = await this.answer(req);
    if (answer.body.message.ack.status === 'NACK') this.d.log?.warn({ action: req.action, status: answer.statusCode, error: 'error' in answer.body ? answer.body.error : undefined }, 'callback refused');
    return answer;
  }

  private async answer(req: RawCallback): Promise<AckAnswer> {
    const action = CALLBACK_ACTIONS.find((a) => a === req.action);
    if (action === undefined) return nackAnswer(fault(BecknErrorCode.INVALID_REQUEST, `a BAP takes only callbacks, not "${req.action}"`));
    const nowMs = this.d.nowMs();
    const verified = await verifyRequest(req.headers, req.body, this.d.keys, nowMs / 1000);
    if (!verified.ok) return authFailure(verified, this.d.bapId);
    // The BPP intake's checks of text, nesting and dates (beckn/intake-checks.ts): a catalogue
    // comes from any registered BPP, and its windows are planned over (policy.ts).
    const read = readCheckedBody(req.body);
    if (!read.ok) return nackAnswer(read.fault);
    const json = read.json;
    const decoded = decodeBecknBody(action, json, req.body.byteLength);
    if (!decoded.ok) return nackAnswer(schemaFault(decoded.problems));
    const body = decoded.value;
    const ctx = body.context;
    if (verified.subscriberId !== expectedSigner(ctx)) return authFailure({ ok: false, reason: 'bad-signature', message: `signed by "${verified.subscriberId}" but the context names "${ctx.bpp_id ?? '(no bpp_id)'}"` }, this.d.bapId);
    if (ctx.bap_id !== this.d.bapId) return nackAnswer(fault(BecknErrorCode.INVALID_REQUEST, `this BAP is "${this.d.bapId}"`, 'context.bap_id'));
    // The BPP's address decides where select, init and confirm go: only the one it registered,
    // or over NATS its own subject or the market's (both follow from its verified id and the
    // domain, so they can point nowhere else).
    if (ctx.bpp_uri !== undefined && ctx.bpp_uri !== natsBppUri(ctx.domain, verified.subscriberId) && ctx.bpp_uri !== natsMarketUri(ctx.domain)) {
      let registered: string | undefined;
      try {
        registered = await this.d.keys.registeredUrl(verified.subscriberId, verified.uniqueKeyId, nowMs);
      } catch (e) {
        return authFailure({ ok: false, reason: 'key-directory-unavailable', message: `registered address lookup failed: ${(e as Error).message}` }, this.d.bapId);
      }
      const addressFault = callbackAddressFault(ctx.bpp_uri, registered, verified.subscriberId, 'bpp_uri');
      if (addressFault) return nackAnswer(addressFault);
    }
    // Expired, a date more than a year ahead (a catalogue window to the year 2226), a ttl of days, a timestamp from the future.
    const when = timeFault(body, nowMs, 'this BAP');
    if (when) return nackAnswer(when);
    // By signer and message id: every BPP answers a search with the search's message id, and
    // one BPP's answer must not stand for another's.
    const key = `${verified.subscriberId}\n${ctx.message_id}`;
    const before = this.answers.get(key);
    if (before) return before;
    const answer: AckAnswer = this.d.enqueue(action, body)
      ? { statusCode: 200, headers: {}, body: ack() }
      : { statusCode: 500, headers: {}, body: nackOf(fault(BecknErrorCode.BUSINESS_ERROR, 'the BAP could not queue the callback')) };
    this.answers.set(key, answer);
    return answer;
  }
}
