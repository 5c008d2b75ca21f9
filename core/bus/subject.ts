import { InvalidArgumentError } from '../errors/errors.ts';

/** Validate a subject to publish to: non-empty tokens, no wildcards, no whitespace. */
export function assertPublishSubject(subject: string): void {
  if (!isValidSubject(subject, false)) {
    throw new InvalidArgumentError('subject', `"${subject}" is not a valid subject to publish to (dot-separated non-empty tokens, no spaces, no * or >)`);
  }
}

/** Validate a subscription pattern: like a subject, and `*` / a final `>` may stand for tokens. */
export function assertPattern(pattern: string): void {
  if (!isValidSubject(pattern, true)) {
    throw new InvalidArgumentError('subject', `"${pattern}" is not a valid subscription pattern ("*" for one token, ">" only as the last token)`);
  }
}

export function isValidSubject(s: string, allowWildcards: boolean): boolean {
  if (s.length === 0 || /\s/.test(s)) return false;
  const tokens = s.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.length === 0) return false;
    if (t === '*' || t === '>') {
      if (!allowWildcards) return false;
      if (t === '>' && i !== tokens.length - 1) return false;
      continue;
    }
    if (t.includes('*') || t.includes('>')) return false;
  }
  return true;
}

/** Does `subject` match `pattern` under NATS rules? */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * Subjects the site sends answers to: an inbox, `_INBOX.<…>` or a third party's own
 * `_INBOX_<name>.<…>` (inboxPrefixOf). A requester chooses its reply subject freely, and the site
 * answers with its own permissions, which reach its key registry, checkpoints and ledger: a
 * refusal "answered" to `$KV.caco_<site>_keys.<key>` overwrote that key's registry entry. So an
 * answer goes only to an inbox; a request with any other reply subject is handled, unanswered.
 */
export function isReplySubject(s: string): boolean {
  return s.length <= 512 && INBOX_REPLY.test(s) && isValidSubject(s, false);
}

const INBOX_REPLY = /^_INBOX(?:_[a-z][a-z0-9-]{0,31})?\.[^.]/;
