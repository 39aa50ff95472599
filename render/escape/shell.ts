/**
 * POSIX sh quoting: the one module in the kit that quotes for sh or bash. Every template
 * (`{{sh}}`, `{{shInDq}}`), script, command line, construct, CLI command and test helper that
 * puts a value into shell text calls these; nothing else quotes by hand.
 *
 * Two contexts, one function each:
 * - a word: `shellQuote` (single-quoted unless plainly safe as it is; `shellWords` for a list),
 *   or `shSingleQuote` where the format wants every value quoted (settings files, `NAME='value'`);
 * - inside a double-quoted string: `shInDoubleQuotes`.
 *
 * The shell reads each back as exactly the value (no expansion, no splitting, no globbing). sh
 * cannot hold a NUL byte, so a value with one is refused.
 */
import { refuseUnless } from "./refuse.js";

/** Words that mean the same to sh quoted or not: no quoting, so the usual paths and flags read as written. */
const PLAIN_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;
const NUL = /\0/;

/** `value` as a single-quoted sh word (always quoted): `'it'\''s'`. */
export function shSingleQuote(value: string): string {
  refuseUnless("a shell word", value, NUL, "sh cannot hold a NUL byte");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `value` as one sh word, single-quoted unless it is plainly safe as it is. */
export function shellQuote(value: string): string {
  return PLAIN_WORD.test(value) ? value : shSingleQuote(value);
}

/** Each value as one sh word, separated by spaces. */
export function shellWords(values: readonly string[]): string {
  return values.map(shellQuote).join(" ");
}

/** `value` as text inside a double-quoted sh string (`"...here..."`): `\`, `"`, `$` and backquotes escaped. */
export function shInDoubleQuotes(value: string): string {
  refuseUnless("a double-quoted shell string", value, NUL, "sh cannot hold a NUL byte");
  return value.replace(/[\\"$`]/g, "\\$&");
}
