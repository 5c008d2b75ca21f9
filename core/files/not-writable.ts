/**
 * The error code when `err` says a file or folder cannot be created or written (permissions, a
 * read-only filesystem, or SQLite's own words for the same), else undefined: the one test
 * behind every "run as the user that owns it, or give a writable --data-dir" message.
 */
export function notWritableCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  return code.startsWith('SQLITE_READONLY') || NOT_WRITABLE.has(code) ? code : undefined;
}

const NOT_WRITABLE: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EROFS', 'SQLITE_CANTOPEN', 'SQLITE_PERM']);
