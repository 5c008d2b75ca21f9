/**
 * What ties a signed command to one site and one stretch of time, so a captured command
 * cannot be replayed at another site that knows the same key, nor held back and delivered
 * long after its sender moved on. Both fields are inside the signature (everything but `sig`
 * is signed), so they cannot be stripped or changed without breaking it:
 *
 * - `site`: the site the command is for; another site refuses it (`wrong-site`).
 * - `expiresAt`: ISO 8601 UTC; refused at or after it by the receiving site's clock
 *   (`expired`), and refused if it lies more than MAX_COMMAND_LIFETIME_MS ahead (`unbound`),
 *   since a far-off expiry is no expiry.
 *
 * A site that requires them (`CACO_REQUIRE_BOUND_COMMANDS`) refuses a command without either
 * (`unbound`); otherwise a command without them is taken as before and checked only on what
 * it carries. A command that was handled once is never handled again (its id is on the
 * ledger as the causation of what it decided), so within its lifetime a replay at the same
 * site changes nothing.
 */

/** How far ahead of the receiving site's clock a command's `expiresAt` may lie. */
export const MAX_COMMAND_LIFETIME_MS = 24 * 3_600_000;

/** How long `caco submit` and the site's own command signers let a command live. */
export const DEFAULT_COMMAND_LIFETIME_MS = 5 * 60_000;

export interface CommandBinding {
  /** This site's name, as in `caco.<site>.…`. */
  readonly site: string;
  /** The receiving site's clock (epoch ms). */
  readonly now: () => number;
  /** Refuse a command that does not name its site or carry an expiry. */
  readonly require: boolean;
}

export type BindingRefusal = 'wrong-site' | 'expired' | 'unbound';

export type BindingResult = { readonly ok: true } | { readonly ok: false; readonly code: BindingRefusal; readonly reason: string; readonly path: 'site' | 'expiresAt' };

const quote = (v: unknown) => JSON.stringify(String(v).slice(0, 128));

/**
 * Check the binding fields of a command whose signature was already verified (so they are
 * what its signer wrote). Pure: the clock is read once, through `binding.now`.
 */
export function checkCommandBinding(cmd: Readonly<Record<string, unknown>>, binding: CommandBinding): BindingResult {
  const site = cmd['site'];
  const expiresAt = cmd['expiresAt'];
  if (site !== undefined && site !== binding.site) {
    return { ok: false, code: 'wrong-site', path: 'site', reason: `wrong site: the command is for site ${quote(site)}; this is site ${quote(binding.site)}` };
  }
  if (site === undefined && binding.require) {
    return { ok: false, code: 'unbound', path: 'site', reason: `unbound: this site takes only commands that name it; add "site": ${quote(binding.site)} to what you sign (docs/identity.md)` };
  }
  if (expiresAt === undefined) {
    if (!binding.require) return { ok: true };
    return { ok: false, code: 'unbound', path: 'expiresAt', reason: 'unbound: this site takes only commands that expire; add "expiresAt" (ISO 8601 UTC, at most 24 h ahead) to what you sign (docs/identity.md)' };
  }
  const at = typeof expiresAt === 'string' ? Date.parse(expiresAt) : NaN;
  if (!Number.isFinite(at)) return { ok: false, code: 'unbound', path: 'expiresAt', reason: `unbound: "expiresAt" ${quote(expiresAt)} is not an ISO 8601 UTC time` };
  const now = binding.now();
  if (at <= now) {
    return { ok: false, code: 'expired', path: 'expiresAt', reason: `expired: the command expired at ${new Date(at).toISOString()}; the site's clock reads ${new Date(now).toISOString()}` };
  }
  if (at - now > MAX_COMMAND_LIFETIME_MS) {
    return { ok: false, code: 'unbound', path: 'expiresAt', reason: `unbound: "expiresAt" ${new Date(at).toISOString()} is more than 24 h after the site's clock (${new Date(now).toISOString()}); a command may live at most 24 h` };
  }
  return { ok: true };
}
