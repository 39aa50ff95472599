/**
 * Text in a `#` comment line of a line-oriented file (sh, systemd units, nftables, Dockerfiles,
 * settings files). A comment runs to the end of its line, so the one danger is a character some
 * reader takes for a line end: systemd ends lines at \n, \r and NUL, YAML 1.1 also at U+0085,
 * U+2028 and U+2029. Those, every other control character and the backslash are written as
 * visible escapes (`\n`, `\x01`, `\u2028`, `\\`), so the comment stays one line and still says
 * what the value was.
 */
import { refuseUnless } from "./refuse.js";

const SHOWN_ESCAPED = /[\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/g;
const NAMED: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` for a comment line: never more than one line, whatever it holds. */
export function commentText(text: string): string {
  refuseUnless("a comment", text);
  return text.replace(SHOWN_ESCAPED, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, "0");
}
