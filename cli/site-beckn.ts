import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bppSubject, FileKeyDirectory, loadSigningKeyFile, marketSubject, natsBppUri, newSigningIdentity, publicKeyToBase64 } from '../beckn/index.ts';
import { BAP_BUDGET_ENV, bapBudgetFromEnv, type BecknHttpServer } from '../agents/coordination/index.ts';
import type { SiteMarket } from '../site/index.ts';
import { UsageError } from './errors.ts';
import { notWritableCode, writeFileAtomic } from '../core/files/index.ts';

/**
 * The site's market for `caco run`: the coordination agent (the Beckn BPP) on HTTP and, when
 * the bus is NATS, on the NATS binding too (docs/beckn.md "Beckn over NATS"). On first run a
 * signing key and an empty key directory are made under `<data-dir>/<site>/beckn/`; a BAP is
 * let in by adding its key to that directory (re-read when it changes, no restart).
 */
export interface SiteBecknOptions {
  readonly dataDir: string;
  readonly site: string;
  readonly signingKey?: string;
  readonly keyDirectory?: string;
  /** 0: no HTTP (NATS only). */
  readonly port: number;
  readonly host: string;
  readonly domain: string;
}

export interface SiteBeckn {
  /** The market for site/buildSite: the coordination agent on HTTP and, when the site's bus is NATS, on the NATS binding. */
  readonly market: SiteMarket;
  /** What the start-up log says about the market, once the runtime has started; `overNats`: the site's bus is NATS (`SiteAgents.marketOverNats`). */
  notes(overNats: boolean): string[];
}

const KEY_DIRECTORY_FORMAT = 'caco-beckn-keys/1';

export function siteBeckn(o: SiteBecknOptions): SiteBeckn {
  const dir = join(o.dataDir, o.site, 'beckn');
  const keyPath = o.signingKey ?? join(dir, 'bpp.signing-key.json');
  const dirPath = o.keyDirectory ?? join(dir, 'keys.json');
  const subscriberId = `bpp.${o.site}.caco.local`.replace(/[^A-Za-z0-9._-]/g, '-');
  const uri = `http://${o.host}:${o.port}/beckn`;
  if (o.signingKey !== undefined && !existsSync(o.signingKey)) throw new UsageError(`--beckn-signing-key: file ${o.signingKey} does not exist`);
  if (o.keyDirectory !== undefined && !existsSync(o.keyDirectory)) throw new UsageError(`--beckn-key-directory: file ${o.keyDirectory} does not exist`);
  try {
    if (!existsSync(keyPath)) {
      mkdirSync(dirname(keyPath), { recursive: true });
      const { signingKeyFile } = newSigningIdentity(subscriberId, 'k1', uri);
      writeFileAtomic(keyPath, `${JSON.stringify(signingKeyFile, null, 2)}\n`, 0o600);
      chmodSync(keyPath, 0o600);
    }
    if (!existsSync(dirPath)) {
      mkdirSync(dirname(dirPath), { recursive: true });
      writeFileAtomic(dirPath, `${JSON.stringify({ format: KEY_DIRECTORY_FORMAT, keys: [] }, null, 2)}\n`);
    }
  } catch (err) {
    const code = notWritableCode(err);
    if (code) throw new UsageError(`${dirname(keyPath)}: cannot make the BPP's first-run keys there (${code}): run as the user that owns the data dir, make it writable, or give a writable --data-dir (or --no-beckn)`);
    throw err;
  }
  const signingKey = loadSigningKeyFile(keyPath);
  const bapBudget = bapBudgetFromEnv();
  const keyDirectory = new FileKeyDirectory(dirPath);
  let http: BecknHttpServer | undefined;
  const bppUri = o.port > 0 ? uri : natsBppUri(o.domain, signingKey.subscriberId);
  return {
    market: {
      kind: 'bpp',
      overNats: true,
      coordination: {
        signingKey,
        keyDirectory,
        listen: o.port > 0 ? { host: o.host, port: o.port } : false,
        onListening: (s) => (http = s),
        config: { bpp: { id: signingKey.subscriberId, uri: bppUri }, provider: { id: `dc-${o.site}`.replace(/[^A-Za-z0-9._-]/g, '-'), name: `${o.site} (CACO coordination agent)` }, domain: o.domain, support: { email: 'flex-desk@caco.local', url: `${bppUri}/support` }, bapBudget },
      },
    },
    notes(overNats) {
      const where = [
        ...(overNats ? [`NATS requests on ${marketSubject(o.domain)}.<action> and ${bppSubject(o.domain, signingKey.subscriberId)}.<action> (callbacks to each BAP's nats: address)`] : []),
        ...(http ? [`HTTP POST ${uri}/<action> (listening on ${http.origin})`] : []),
      ];
      return [
        `beckn: coordination agent ${signingKey.subscriberId} (key ${signingKey.uniqueKeyId}) sells flexibility on ${o.domain}: ${where.join('; ') || 'no transport (give --beckn-port or a NATS bus)'}`,
        ...(overNats ? [] : ['beckn: the embedded bus has no NATS binding, so the market is on HTTP only (use --bus nats for Beckn over NATS)']),
        `beckn: BAP keys from ${resolve(dirPath)} (re-read when it changes); this BPP's key in ${resolve(keyPath)}`,
        // What a buyer pins to check this BPP's callbacks (BPP_PUBLIC_KEY in examples/ts-rival-buyer).
        `beckn: this BPP's public key (buyers check its callbacks with it): ${publicKeyToBase64(signingKey.privateKey)}`,
        `beckn: ${bapBudget ? `each BAP may have ${bapBudget.count} requests or ${bapBudget.bytes} bytes accepted in 24 h` : 'no budget of accepted requests per BAP'} (${BAP_BUDGET_ENV})`,
      ];
    },
  };
}
