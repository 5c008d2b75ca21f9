/**
 * Text from the ledger or from outside parties, made safe to print on a terminal. Control
 * characters (C0 with CR, LF and TAB, DEL, C1) are what a terminal acts on: an ESC or CSI
 * sequence clears the screen, moves the cursor, retitles the window or writes the clipboard,
 * a CR or LF rewrites or forges a line. Each is shown as its escape (`\r`, `\n`, `\t`, `\u001b`)
 * instead, so the operator sees what was written and the terminal does nothing with it.
 */
// Also the line and paragraph separators and the bidirectional overrides, which can reorder
// or hide what follows on a line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function inert(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
