import type { Schema } from 'effect';
import { decodeWith, type AnySchema, type MessageDef, type MessageRegistry, type SchemaProblem } from './registry.ts';

/**
 * Upcasters: how an event written at an older version of its type is read at the latest one.
 *
 * A type never changes meaning; a new shape is a new version (`defineEvent(type, 2, …)`), and
 * version n stays registered so that what was written at n still decodes. An upcaster turns
 * the data of (type, n) into the data of (type, n + 1); `Upcasters` chains them, so a reader
 * only ever sees the latest registered version of a type. The ledger keeps the bytes as
 * written: the hash and signature cover them, and upcasting happens on read, after they were
 * verified (core/store/verified-store.ts), never before hashing or in `caco audit verify`.
 *
 * What an upcaster returns is decoded against the schema of the version it upgrades to: an
 * upcaster that leaves a field out, misnames one or gives it a bad value is an `UpcastError`
 * naming the type, the versions and the field, never data that only looks upgraded.
 */

/** The data of (type, fromVersion) made into the data of (type, fromVersion + 1). */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** The upgrade: stored (JSON) data of `fromVersion` in, data of `toVersion` out. Pure. */
  readonly up: (data: unknown) => unknown;
}

/** The data as it is stored and travels (JSON): a message's encoded form. */
export type StoredDataOf<D> = D extends MessageDef<infer S extends AnySchema> ? Schema.Codec.Encoded<S> : never;

/**
 * An upcaster from one registered version of a type to the next, typed by their schemas:
 * `defineUpcaster(PurchaseSearched, PurchaseSearchedV2, (v1) => ({ …v2 data… }))`.
 */
export function defineUpcaster<F extends MessageDef, T extends MessageDef>(from: F, to: T, up: (data: StoredDataOf<F>) => StoredDataOf<T>): Upcaster {
  if (from.type !== to.type) throw new Error(`an upcaster goes from one version of a type to the next; got ${from.type} v${from.version} → ${to.type} v${to.version}`);
  if (to.version !== from.version + 1) throw new Error(`an upcaster of "${from.type}" goes from a version to the next; got v${from.version} → v${to.version}`);
  return { type: from.type, fromVersion: from.version, toVersion: to.version, up: up as (data: unknown) => unknown };
}

/** A set of upcasters that does not fit its registry: every problem, one a line. */
export class UpcasterRegistryError extends Error {
  override readonly name = 'UpcasterRegistryError';
  constructor(readonly problems: ReadonlyArray<string>) {
    super(`the upcasters do not fit the message registry:\n- ${problems.join('\n- ')}`);
  }
}

/** An upcaster failed (threw, or returned data the next version's schema refuses). */
export class UpcastError extends Error {
  override readonly name = 'UpcastError';
  constructor(
    readonly type: string,
    readonly fromVersion: number,
    readonly toVersion: number,
    readonly problems: ReadonlyArray<SchemaProblem>,
  ) {
    super(
      `the upcaster of "${type}" v${fromVersion} → v${toVersion} ` +
        (problems.length === 1 && problems[0]!.path === ''
          ? problems[0]!.reason
          : `returned data the v${toVersion} schema refuses: ${problems
              .slice(0, 5)
              .map((p) => `${p.path || 'data'}: ${p.reason}`)
              .join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`),
    );
  }
}

/** What `upcast` hands back: the data at `version`, the latest registered version of the type. */
export interface Upcasted {
  readonly version: number;
  readonly data: unknown;
}

/**
 * The checked set of upcasters of a registry. Made once at start-up (`Upcasters.check`):
 * - every type registered at more than one version has an upcaster for each step between
 *   its registered versions (1 → 2, 2 → 3, …), and its versions have no gaps;
 * - every upcaster's type and both of its versions are registered, and no step has two.
 * Anything else is an `UpcasterRegistryError` that names each type and version at fault.
 */
export class Upcasters {
  private readonly steps = new Map<string, Upcaster>();

  private constructor(
    private readonly registry: MessageRegistry,
    upcasters: Iterable<Upcaster>,
  ) {
    const problems: string[] = [];
    for (const u of upcasters) {
      const key = `${u.type}@${u.fromVersion}`;
      if (this.steps.has(key)) problems.push(`"${u.type}" v${u.fromVersion} → v${u.toVersion}: two upcasters for the same step`);
      else if (u.toVersion !== u.fromVersion + 1) problems.push(`"${u.type}" v${u.fromVersion} → v${u.toVersion}: an upcaster goes from a version to the next one`);
      else if (!registry.get(u.type, u.fromVersion)) problems.push(`"${u.type}" v${u.fromVersion} → v${u.toVersion}: v${u.fromVersion} of "${u.type}" is not registered`);
      else if (!registry.get(u.type, u.toVersion)) problems.push(`"${u.type}" v${u.fromVersion} → v${u.toVersion}: v${u.toVersion} of "${u.type}" is not registered`);
      this.steps.set(key, u);
    }
    const versions = new Map<string, number[]>();
    for (const d of registry.all()) {
      if (d.kind !== 'event') continue;
      const vs = versions.get(d.type) ?? [];
      vs.push(d.version);
      versions.set(d.type, vs);
    }
    for (const [type, vs] of versions) {
      const latest = Math.max(...vs);
      for (let v = Math.min(...vs); v < latest; v++) {
        if (!vs.includes(v)) problems.push(`"${type}": v${v} is not registered, between v${Math.min(...vs)} and v${latest}`);
        else if (!this.steps.has(`${type}@${v}`)) problems.push(`"${type}": no upcaster from v${v} to v${v + 1} (v${latest} is the latest registered)`);
      }
    }
    if (problems.length > 0) throw new UpcasterRegistryError(problems);
  }

  /** The upcasters of `registry`, checked against it; throws `UpcasterRegistryError`. */
  static check(registry: MessageRegistry, upcasters: Iterable<Upcaster>): Upcasters {
    return new Upcasters(registry, upcasters);
  }

  /** Whether (type, version) is older than the latest registered version of the type. */
  isOld(type: string, version: number): boolean {
    const latest = this.registry.latestVersion(type);
    return latest !== undefined && version < latest && this.steps.has(`${type}@${version}`);
  }

  /**
   * `data` of (type, version) at the latest registered version of the type, through each
   * step's upcaster, each result decoded against its version's schema. Data already at the
   * latest version (or of a type with no upcasters) comes back as it is, not decoded again.
   */
  upcast(type: string, version: number, data: unknown): Upcasted {
    let v = version;
    let d = data;
    for (let u = this.steps.get(`${type}@${v}`); u !== undefined; u = this.steps.get(`${type}@${v}`)) {
      let out: unknown;
      try {
        out = u.up(d);
      } catch (err) {
        throw new UpcastError(type, u.fromVersion, u.toVersion, [{ path: '', reason: `threw: ${err instanceof Error ? err.message : String(err)}` }]);
      }
      const checked = decodeWith(this.registry.get(type, u.toVersion)!.data, out, 'data');
      if (!checked.ok) throw new UpcastError(type, u.fromVersion, u.toVersion, checked.problems);
      v = u.toVersion;
      d = out;
    }
    return { version: v, data: d };
  }

  /**
   * The envelope at the latest version of its type: a copy with `version` and `data` upgraded
   * (every other field, `hash` and `sig` included, is the stored event's), or `e` itself when
   * it is already at the latest version.
   */
  upcastEnvelope<E extends { readonly type: string; readonly version: number; readonly data: unknown }>(e: E): E {
    if (!this.isOld(e.type, e.version)) return e;
    const u = this.upcast(e.type, e.version, e.data);
    return { ...e, version: u.version, data: u.data };
  }
}
