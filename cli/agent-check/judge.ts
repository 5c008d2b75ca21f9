/**
 * `caco agent check`: what an outside agent did, judged point by point. Pure: the runner
 * (run.ts) records observations on a scratch site; this turns them into a report.
 */
import { inert } from '../terminal.ts';

/** One request the agent made on a subject the site serves, with the site's reply. */
export interface RequestSeen {
  readonly kind: 'announce' | 'append' | 'read' | 'query' | 'command';
  readonly subject: string;
  /** The parsed request, or undefined when it was not JSON. */
  readonly body: Record<string, unknown> | undefined;
  /** The site's reply (`ok`, and `error.code`/`field`/`reason` on a refusal). */
  readonly reply: { readonly ok: boolean; readonly error?: { readonly code?: string; readonly field?: string | null; readonly reason: string }; readonly duplicate?: boolean; readonly position?: number } | undefined;
  /** The check withheld this reply on purpose (a lost reply), to see whether the agent re-sends. */
  readonly withheld?: boolean;
}

/** A message the agent sent where no agent may (a fact straight on evt.*, the ledger, a subject nobody serves). */
export interface StraySeen {
  readonly subject: string;
  readonly why: string;
}

export interface Observations {
  readonly agent: string;
  readonly site: string;
  readonly requests: ReadonlyArray<RequestSeen>;
  readonly strays: ReadonlyArray<StraySeen>;
  /** Whether a service named after the agent answered `$SRV.PING`. */
  readonly discoverable: boolean;
}

export type Verdict = 'pass' | 'fail' | 'info';

export interface CheckPoint {
  readonly name: string;
  readonly verdict: Verdict;
  /** What was seen: each mistake with its subject and the site's reason, or what went right. */
  readonly details: ReadonlyArray<string>;
}

export interface Report {
  readonly points: ReadonlyArray<CheckPoint>;
  readonly ok: boolean;
}

const codeOf = (r: RequestSeen) => r.reply?.error?.code;
const brief = (r: RequestSeen) => `${r.subject}${r.body && typeof r.body['id'] === 'string' ? ` (id ${r.body['id']})` : ''}: ${r.reply?.error?.reason ?? ''}`.slice(0, 300);

function point(name: string, bad: ReadonlyArray<string>, good: string, extra: ReadonlyArray<string> = []): CheckPoint {
  return bad.length ? { name, verdict: 'fail', details: bad } : { name, verdict: 'pass', details: [good, ...extra] };
}

export function judge(o: Observations): Report {
  const signedKinds = new Set(['announce', 'append', 'command']);
  const signed = o.requests.filter((r) => signedKinds.has(r.kind));
  const refused = (codes: ReadonlyArray<string>) => signed.filter((r) => codes.includes(codeOf(r) ?? '')).map(brief);
  const points: CheckPoint[] = [];

  points.push(point('signed (keyId and sig on every announce, append and command)', refused(['unsigned']), `${signed.length} signed request(s)`));
  points.push(point('signed by a registered, unrevoked key', refused(['unknown-key', 'revoked-key', 'forbidden']), 'every key was the registered one'));
  points.push(point('signature verifies (RFC 8785 canonical JSON, ed25519, base64)', refused(['bad-signature']), 'every signature verified'));
  points.push(point('source is the key\'s party, name is source', refused(['source-mismatch']), `acted as "${o.agent}"`));

  // Bound to this site and a short time: optional at a default site, so missing is advice,
  // but a refusal for them is a mistake.
  const bindName = 'bound to the site and a short time ("site" and "expiresAt" on every signed request)';
  const bindRefused = refused(['wrong-site', 'expired', 'unbound']);
  const unbound = signed.filter((r) => r.body !== undefined && (r.body['site'] === undefined || r.body['expiresAt'] === undefined));
  if (bindRefused.length) points.push({ name: bindName, verdict: 'fail', details: bindRefused });
  else if (unbound.length) points.push({ name: bindName, verdict: 'info', details: [`${unbound.length} of ${signed.length} signed request(s) without "site" and "expiresAt": copies could be replayed at another site that knows the key, and a site with CACO_REQUIRE_BOUND_COMMANDS=1 refuses them (docs/external-agent.md, section 2)`] });
  else if (signed.length) points.push({ name: bindName, verdict: 'pass', details: [`every signed request names site "${o.site}" and expires`] });

  const announces = o.requests.filter((r) => r.kind === 'announce');
  const goodAnnounce = announces.find((r) => r.reply?.ok);
  const beforeAnnounce = refused(['not-announced']);
  if (!goodAnnounce) points.push({ name: 'announced itself on the gateway', verdict: 'fail', details: [announces.length ? `no announcement was accepted (${announces.length} refused: ${announces.map((r) => codeOf(r)).join(', ')})` : `it never sent an announcement on caco.${o.site}.gw.announce`, ...beforeAnnounce] });
  else {
    const announced = goodAnnounce.body?.['publishes'];
    const publishes = Array.isArray(announced) ? announced.join(', ') : '';
    points.push(point('announced itself on the gateway (before appending)', beforeAnnounce, `announced, publishing ${publishes || 'nothing'}`));
  }

  points.push(point('appends only types it announced', refused(['not-declared']), 'every appended type was declared'));
  const schemaBad = [...refused(['schema']), ...signed.filter((r) => r.kind === 'command' && !r.reply?.ok && /fails the .* schema/.test(r.reply?.error?.reason ?? '')).map(brief)];
  const appended = o.requests.filter((r) => r.kind === 'append' && r.reply?.ok);
  points.push(point('facts and commands valid by their schema', schemaBad, `${new Set(appended.map((r) => r.body?.['id'])).size} fact(s) accepted`));

  const wrong = [...o.requests.filter((r) => codeOf(r) === 'wrong-subject').map(brief), ...o.strays.map((s) => `${s.subject}: ${s.why}`)];
  points.push(point('every message on its own subject', wrong, 'every message went to the subject that takes it'));

  // Dedupe: after the withheld reply, the agent must re-send the same id (and never the same fact under a new id).
  const withheld = o.requests.find((r) => r.withheld);
  const dedupe: string[] = refused(['conflict']);
  let dedupeGood = 'no re-send needed';
  if (withheld) {
    const id = withheld.body?.['id'];
    const fingerprint = JSON.stringify([withheld.body?.['type'], withheld.body?.['data']]);
    const later = o.requests.slice(o.requests.indexOf(withheld) + 1).filter((r) => r.kind === 'append');
    const resent = later.find((r) => r.body?.['id'] === id);
    const copies = later.filter((r) => r.body?.['id'] !== id && JSON.stringify([r.body?.['type'], r.body?.['data']]) === fingerprint && r.reply?.ok);
    for (const c of copies) dedupe.push(`${c.subject}: the fact of id ${String(id)}, whose reply was lost, was sent again under a new id ${String(c.body?.['id'])}: it is now on the ledger twice (re-send with the same id)`);
    if (!resent && copies.length === 0) dedupe.push(`the reply to append id ${String(id)} was withheld (as a lost reply would be) and the agent never re-sent it: a fact whose reply is lost must be re-sent with the same id`);
    if (resent) dedupeGood = `re-sent id ${String(id)} after a lost reply and got the same position (duplicate: ${String(resent.reply?.duplicate)})`;
  }
  points.push(point('dedupe: a re-send re-uses the id', dedupe, dedupeGood));

  // Refusals no point above names: a malformed request (bad-request: not JSON, not an envelope,
  // a time that is not ISO, a read from position -5) fails; the rest (busy, rate-limited, a domain
  // refusal) are listed. Before, an agent whose every command was malformed passed (a helper's
  // walk through the docs).
  const named = new Set(['unsigned', 'unknown-key', 'revoked-key', 'forbidden', 'bad-signature', 'source-mismatch', 'wrong-site', 'expired', 'unbound', 'not-announced', 'not-declared', 'schema', 'wrong-subject', 'conflict']);
  const otherRefusals = o.requests.filter((r) => r.reply !== undefined && r.reply.ok === false && !named.has(codeOf(r) ?? '') && !/fails the .* schema/.test(r.reply.error?.reason ?? ''));
  const malformed = otherRefusals.filter((r) => codeOf(r) === 'bad-request');
  points.push(point('well-formed requests (none refused as bad-request)', malformed.map(brief), `${o.requests.length} request(s), none malformed`));
  const refusedOtherwise = otherRefusals.filter((r) => codeOf(r) !== 'bad-request');
  if (refusedOtherwise.length) points.push({ name: 'other refusals', verdict: 'info', details: refusedOtherwise.map((r) => `${codeOf(r) ?? 'no code'}: ${brief(r)}`) });

  const queries = o.requests.filter((r) => r.kind === 'query' || r.kind === 'read');
  points.push({ name: 'discovery ($SRV.PING answered by a service named after the agent)', verdict: 'info', details: [o.discoverable ? 'registered as a NATS service' : 'not registered as a NATS service (recommended, not required)'] });
  if (queries.length) points.push({ name: 'reads and queries', verdict: 'info', details: [`${queries.length} read(s)/query(ies), ${queries.filter((q) => q.reply?.ok).length} answered`] });
  const commands = o.requests.filter((r) => r.kind === 'command');
  if (commands.length) points.push({ name: 'commands', verdict: 'info', details: [`${commands.length} command(s), ${commands.filter((c) => c.reply?.ok).length} accepted`] });

  return { points, ok: points.every((p) => p.verdict !== 'fail') };
}

export function renderReport(o: Observations, r: Report): string {
  const mark: Record<Verdict, string> = { pass: 'ok  ', fail: 'FAIL', info: 'info' };
  const lines = [`caco agent check: "${o.agent}" on scratch site "${o.site}"`];
  for (const p of r.points) {
    lines.push(`${mark[p.verdict]}  ${p.name}`);
    // Details quote what the agent sent (ids, key ids, subjects): printed inert.
    for (const d of p.details) lines.push(`        ${inert(d)}`);
  }
  lines.push(r.ok ? 'PASS: the agent follows the protocol (docs/external-agent.md)' : `FAIL: ${r.points.filter((p) => p.verdict === 'fail').length} point(s) failed; see docs/external-agent.md`);
  return lines.join('\n');
}
