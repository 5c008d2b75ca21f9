/**
 * A rival flexibility buyer: a Beckn 1.1 BAP that buys a CACO site's flexibility over the
 * Beckn-over-NATS binding. It imports nothing from CACO — only Node and the NATS client — so
 * it shows everything an outside buyer in any language has to do:
 *
 *   1. sign each body: ed25519 over "(created): …\n(expires): …\ndigest: BLAKE-512=<base64
 *      BLAKE2b-512 of the exact bytes>", sent as NATS headers `Authorization` (and `Digest`);
 *   2. send requests as NATS requests: the search to the market, `beckn.<domain>.search`, the
 *      rest to the BPP that answered, at its `bpp_uri` (`nats:beckn.<domain>.bpp.<bpp id>` →
 *      `beckn.<domain>.bpp.<bpp id>.<action>`); the reply is the ACK/NACK body, with the
 *      HTTP-equivalent status in the `Beckn-Status` header;
 *   3. take callbacks on `beckn.<domain>.bap.<bap id>.on_<action>` (its bap_uri is
 *      `nats:beckn.<domain>.bap.<bap id>`), check the BPP's signature, answer ACK.
 *
 * Subject tokens: every character other than letters, digits, `_` and `-` becomes `_`
 * (`deg:compute-flexibility` → `deg_compute-flexibility`).
 *
 *   tsx rival-buyer.ts keygen <subscriber-id> [--domain <d>]  write a key file, print the key directory entry
 *   tsx rival-buyer.ts                                          buy (settings from the environment, see README.md)
 *
 * Exit codes: 0 bought, 2 a request was refused (NACK), 3 nothing bought (no offer, sold out), 1 other failure.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';

const DEFAULT_DOMAIN = 'deg:compute-flexibility';
const token = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
const marketSubject = (domain: string): string => `beckn.${token(domain)}`;
const bapSubject = (domain: string, bapId: string): string => `${marketSubject(domain)}.bap.${token(bapId)}`;

// ---- keys -------------------------------------------------------------------------------

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function privateKeyFromBase64(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64');
  // A 32-byte seed, or libsodium's 64-byte seed || public key.
  const seed = raw.length === 64 ? raw.subarray(0, 32) : raw;
  if (seed.length !== 32) throw new Error(`signing_private_key: expected 32 or 64 bytes of base64, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

const publicKeyBase64 = (k: KeyObject): string => createPublicKey(k).export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
const publicKeyFromBase64 = (b64: string): KeyObject =>
  createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(b64, 'base64')]), format: 'der', type: 'spki' });

interface SigningKey {
  readonly subscriberId: string;
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

function loadKeyFile(path: string): SigningKey {
  const f = JSON.parse(readFileSync(path, 'utf8')) as { format?: string; subscriber_id?: string; key_id?: string; signing_private_key?: string };
  if (f.format !== 'caco-beckn-signing-key/1') throw new Error(`${path}: format must be "caco-beckn-signing-key/1"`);
  if (!f.subscriber_id || !f.key_id || !f.signing_private_key) throw new Error(`${path}: subscriber_id, key_id and signing_private_key are required`);
  return { subscriberId: f.subscriber_id, keyId: f.key_id, privateKey: privateKeyFromBase64(f.signing_private_key) };
}

// ---- signing (BECKN-006, the same on HTTP and NATS) ------------------------------------------

const digestOf = (body: Buffer): string => `BLAKE-512=${createHash('blake2b512').update(body).digest('base64')}`;
const signingString = (created: number, expires: number, digest: string): string => `(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`;

function signBody(body: Buffer, key: SigningKey, nowMs: number, ttlSec: number): { authorization: string; digest: string } {
  const created = Math.floor(nowMs / 1000);
  const expires = created + ttlSec;
  const digest = digestOf(body);
  const signature = sign(null, Buffer.from(signingString(created, expires, digest), 'utf8'), key.privateKey).toString('base64');
  return {
    authorization: `Signature keyId="${key.subscriberId}|${key.keyId}|ed25519",algorithm="ed25519",created="${created}",expires="${expires}",headers="(created) (expires) digest",signature="${signature}"`,
    digest,
  };
}

/** Check a callback's signature: by the BPP we trade with, over these bytes, not expired. */
function checkSignature(authorization: string | undefined, body: Buffer, bppId: string, bppKey: KeyObject, nowMs: number): string | null {
  if (!authorization?.startsWith('Signature ')) return 'no Signature authorization';
  const params = new Map<string, string>();
  for (const m of authorization.slice(10).matchAll(/(\w+)="([^"]*)"/g)) params.set(m[1]!, m[2]!);
  const [subscriber, , alg] = (params.get('keyId') ?? '').split('|');
  if (subscriber !== bppId || alg !== 'ed25519') return `signed by "${subscriber}", not the BPP "${bppId}"`;
  const created = Number(params.get('created'));
  const expires = Number(params.get('expires'));
  if (!Number.isInteger(created) || !Number.isInteger(expires) || expires < nowMs / 1000 - 5 || created > nowMs / 1000 + 5) return 'outside its validity';
  const ok = verify(null, Buffer.from(signingString(created, expires, digestOf(body)), 'utf8'), bppKey, Buffer.from(params.get('signature') ?? '', 'base64'));
  return ok ? null : 'bad signature';
}

// ---- the wire -------------------------------------------------------------------------------

interface Context {
  domain: string;
  action: string;
  version: '1.1.0';
  bap_id: string;
  bap_uri: string;
  bpp_id?: string;
  bpp_uri?: string;
  transaction_id: string;
  message_id: string;
  timestamp: string;
  ttl: string;
  location: { country: { code: string }; city: { code: string } };
}
/** The parts of the on_* callbacks this buyer reads; every field optional, since the BPP is another party. */
interface CallbackMessage {
  readonly catalog?: { readonly providers?: ReadonlyArray<{ readonly id: string; readonly items?: ReadonlyArray<CatalogItem> }> };
  readonly order?: { readonly id?: string; readonly status?: string; readonly quote?: { readonly price?: { readonly value?: string } } };
}
type Callback = { context: Context; message: CallbackMessage; error?: { code: string; message?: string } };
interface Measure {
  unit: 'kW' | 'MW';
  value: string;
}
interface CatalogItem {
  id: string;
  price?: { currency?: string; value?: string };
  quantity?: { available?: { measure?: Measure }; minimum?: { measure?: Measure } };
  fulfillment_ids?: string[];
}

const kwOf = (m: Measure | undefined): number => (m ? Number(m.value) * (m.unit === 'MW' ? 1000 : 1) : 0);
const timestamp = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

class Refused extends Error {}

class RivalBuyer {
  private readonly waiting = new Map<string, (cb: Callback) => void>();
  private readonly bapUri: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly key: SigningKey,
    private readonly domain: string,
    private readonly bpp: { readonly id?: string; readonly key: KeyObject },
    private readonly timeoutMs: number,
  ) {
    this.bapUri = `nats:${bapSubject(domain, key.subscriberId)}`;
  }

  /** Take callbacks: check the signature (when the BPP's key is known), ACK, hand to the waiting step. */
  listen(): void {
    const sub = this.nc.subscribe(`${bapSubject(this.domain, this.key.subscriberId)}.*`);
    void (async () => {
      for await (const m of sub) this.onCallback(m);
    })();
  }

  private onCallback(m: Msg): void {
    const body = Buffer.from(m.data);
    const reply = (status: number, answer: object) => {
      const h = natsHeaders();
      h.set('Beckn-Status', String(status));
      m.respond(JSON.stringify(answer), { headers: h });
    };
    let cb: Callback;
    try {
      cb = JSON.parse(body.toString('utf8')) as Callback;
    } catch {
      return reply(400, { message: { ack: { status: 'NACK' } }, error: { code: '30000', message: 'not JSON' } });
    }
    // Signed by the BPP we trade with (BPP_ID), or at least by the one the context names, with
    // its pinned key: only then is anything in the callback (its bpp_uri above all) acted on.
    const bad = checkSignature(m.headers?.get('Authorization'), body, this.bpp.id ?? cb.context?.bpp_id ?? '', this.bpp.key, Date.now());
    if (bad) return reply(401, { message: { ack: { status: 'NACK' } }, error: { code: '401', message: bad } });
    reply(200, { message: { ack: { status: 'ACK' } } });
    this.waiting.get(`${cb.context.action}:${cb.context.message_id}`)?.(cb);
  }

  /** Send one signed request and wait for its callback. */
  async ask(action: string, transactionId: string, message: object, bpp?: { id: string; uri: string }): Promise<Callback> {
    const context: Context = {
      domain: this.domain,
      action,
      version: '1.1.0',
      bap_id: this.key.subscriberId,
      bap_uri: this.bapUri,
      ...(bpp ? { bpp_id: bpp.id, bpp_uri: bpp.uri } : {}),
      transaction_id: transactionId,
      message_id: randomUUID(),
      timestamp: timestamp(Date.now()),
      ttl: 'PT30S',
      location: { country: { code: 'GBR' }, city: { code: 'std:020' } },
    };
    const body = Buffer.from(JSON.stringify({ context, message }), 'utf8');
    const sig = signBody(body, this.key, Date.now(), 30);
    const callback = new Promise<Callback>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no on_${action} within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.waiting.set(`on_${action}:${context.message_id}`, (cb) => {
        clearTimeout(timer);
        resolve(cb);
      });
    });
    const h = natsHeaders();
    h.set('Authorization', sig.authorization);
    h.set('Digest', sig.digest);
    // To the BPP that answered the search when it gave a nats: address; the market otherwise.
    const to = bpp?.uri.startsWith('nats:') ? bpp.uri.slice('nats:'.length) : marketSubject(this.domain);
    const answer = await this.nc.request(`${to}.${action}`, body, { timeout: this.timeoutMs, headers: h });
    const ack = JSON.parse(answer.string()) as { message?: { ack?: { status?: string } }; error?: { code?: string; message?: string } };
    log(`${action} → ${ack.message?.ack?.status ?? '?'} (Beckn-Status ${answer.headers?.get('Beckn-Status') ?? '?'})${ack.error ? ` ${ack.error.code}: ${ack.error.message ?? ''}` : ''}`);
    if (ack.message?.ack?.status !== 'ACK') {
      this.waiting.delete(`on_${action}:${context.message_id}`);
      void callback.catch(() => undefined);
      throw new Refused(`${action} refused: ${ack.error?.code ?? '?'} ${ack.error?.message ?? ''}`);
    }
    return callback;
  }

  /** search → select → confirm → status; on an error callback (sold meanwhile), look again. */
  async buy(wantKw: number, attempts: number): Promise<{ orderId: string; itemId: string; kw: number; priceGbpPerMwh: number; quoteGbp: string | null; status: string | null } | null> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const txn = randomUUID();
      const found = await this.ask('search', txn, { intent: { category: { descriptor: { code: 'demand-flexibility' } }, item: { quantity: { minimum: { measure: { unit: 'kW', value: '100' } } } } } });
      const bpp = { id: found.context.bpp_id ?? '', uri: found.context.bpp_uri ?? '' };
      const providers = found.message.catalog?.providers ?? [];
      const items = providers.flatMap((p) => (p.items ?? []).map((i) => ({ providerId: p.id, item: i, availableKw: kwOf(i.quantity?.available?.measure), minKw: kwOf(i.quantity?.minimum?.measure) })));
      log(`on_search: ${items.length} offer(s) ${items.map((i) => `${i.item.id} ${i.availableKw} kW at £${i.item.price?.value ?? '?'}/MWh`).join(', ')}`);
      // The offer with the most left, as much of it as wanted.
      const best = items.filter((i) => i.availableKw >= i.minKw && i.availableKw > 0).sort((a, b) => b.availableKw - a.availableKw || (a.item.id < b.item.id ? -1 : 1))[0];
      if (!best) return null;
      const kw = Math.max(best.minKw, Math.min(wantKw, best.availableKw));
      const order = {
        provider: { id: best.providerId },
        items: [{ id: best.item.id, quantity: { selected: { measure: { unit: 'kW', value: String(kw) } } } }],
        ...(best.item.fulfillment_ids?.[0] ? { fulfillments: [{ id: best.item.fulfillment_ids[0] }] } : {}),
      };
      const quoted = await this.ask('select', txn, { order }, bpp);
      if (quoted.error) {
        log(`on_select error ${quoted.error.code}: ${quoted.error.message ?? ''}; looking again`);
        continue;
      }
      const quote = quoted.message.order?.quote;
      const confirmed = await this.ask('confirm', txn, { order: { ...order, ...(quote ? { quote } : {}) } }, bpp);
      if (confirmed.error) {
        log(`on_confirm error ${confirmed.error.code}: ${confirmed.error.message ?? ''}; looking again`);
        continue;
      }
      const orderId = confirmed.message.order?.id;
      if (!orderId) throw new Error('on_confirm without an order id');
      // Ask how the order stands: the site's own record of it.
      const st = await this.ask('status', txn, { order_id: orderId }, bpp);
      const status = st.message.order?.status ?? null;
      log(`on_status: order ${orderId} is ${status ?? '(no status)'}`);
      return { orderId, itemId: best.item.id, kw, priceGbpPerMwh: Number(best.item.price?.value ?? NaN), quoteGbp: quote?.price?.value ?? null, status };
    }
    return null;
  }
}

const log = (s: string): void => void process.stdout.write(`rival: ${s}\n`);

function keygen(args: string[]): void {
  const subscriberId = args[0];
  if (!subscriberId) throw new Error('usage: rival-buyer.ts keygen <subscriber-id> [--domain <d>] [--out <file>]');
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const domain = opt('--domain') ?? DEFAULT_DOMAIN;
  const out = opt('--out') ?? `${subscriberId}.signing-key.json`;
  const seed = randomBytes(32);
  const key = privateKeyFromBase64(seed.toString('base64'));
  writeFileSync(out, `${JSON.stringify({ format: 'caco-beckn-signing-key/1', subscriber_id: subscriberId, key_id: 'k1', signing_private_key: seed.toString('base64') }, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(`${JSON.stringify({ subscriber_id: subscriberId, key_id: 'k1', signing_public_key: publicKeyBase64(key), type: 'BAP', url: `nats:${bapSubject(domain, subscriberId)}` }, null, 2)}\n`);
  process.stderr.write(`signing key written to ${out}; add the entry above to the site's key directory (keys.json)\n`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === 'keygen') {
    keygen(args.slice(1));
    return 0;
  }
  const env = process.env;
  if (!env['RIVAL_KEY_FILE']) throw new Error('RIVAL_KEY_FILE: the signing key file (make one with `keygen`)');
  const key = loadKeyFile(env['RIVAL_KEY_FILE']);
  // Required: without it any NATS client answering the search could send a callback naming
  // itself as the BPP, and the buyer would sign and send its select and confirm there and
  // "buy" from it (a helper, following this README, bought 500 kW at £999/MWh from a forger).
  const bppKey = env['BPP_PUBLIC_KEY'];
  if (!bppKey) throw new Error("BPP_PUBLIC_KEY: the BPP's ed25519 public key (base64), to check its callbacks; caco run prints it (\"beckn: this BPP's public key …\"), and the site's key directory lists it");
  const domain = env['BECKN_DOMAIN'] || DEFAULT_DOMAIN;
  const wantKw = Number(env['WANT_KW'] || '500');
  if (!(wantKw > 0)) throw new Error(`WANT_KW: "${env['WANT_KW']}" is not a positive number of kW`);
  const nc = await connect({ servers: env['NATS_URL'] || '127.0.0.1:4222', name: `rival-buyer-${key.subscriberId}` });
  try {
    const bpp = { ...(env['BPP_ID'] ? { id: env['BPP_ID'] } : {}), key: publicKeyFromBase64(bppKey) };
    const buyer = new RivalBuyer(nc, key, domain, bpp, Number(env['TIMEOUT_MS'] || '20000'));
    buyer.listen();
    await nc.flush();
    log(`${key.subscriberId} buying up to ${wantKw} kW on ${domain} (requests to ${marketSubject(domain)}.<action>, callbacks on ${bapSubject(domain, key.subscriberId)}.<on_action>)`);
    try {
      const bought = await buyer.buy(wantKw, Number(env['ATTEMPTS'] || '3'));
      if (!bought) {
        log('nothing bought: no offer left');
        process.stdout.write(`RESULT ${JSON.stringify({ ok: false, reason: 'nothing to buy' })}\n`);
        return 3;
      }
      log(`bought order ${bought.orderId}: ${bought.kw} kW of ${bought.itemId} at £${bought.priceGbpPerMwh}/MWh${bought.quoteGbp ? ` (quote £${bought.quoteGbp})` : ''}`);
      process.stdout.write(`RESULT ${JSON.stringify({ ok: true, ...bought })}\n`);
      return 0;
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      log(e.message);
      process.stdout.write(`RESULT ${JSON.stringify({ ok: false, reason: e.message })}\n`);
      return 2;
    }
  } finally {
    await nc.drain();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rival: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
