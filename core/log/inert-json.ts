/**
 * A JSON log line made inert for the terminal or log viewer that shows it. JSON escapes the
 * C0 controls but writes DEL, the C1 controls (U+0080–U+009F; U+009B is a CSI on terminals
 * that honour 8-bit controls), the line and paragraph separators and the bidirectional
 * overrides and isolates as they are. Outside parties put text into log lines (party names,
 * refusal reasons, job ids), so those characters are written as `\uXXXX` escapes: the line
 * parses to the same value and shows nothing a viewer would act on or reorder.
 *
 * Outside a JSON string these characters cannot occur in JSON text, so replacing every one
 * of them in the line is a replacement inside strings only.
 */
const INVISIBLE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const ANY = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

export function inertJsonLine(line: string): string {
  // Nearly every line holds none: test first, so the common case allocates nothing.
  if (!ANY.test(line)) return line;
  return line.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
