/**
 * systemd unit files (systemd.syntax(7), systemd.unit(5), systemd.service(5)). A unit file is
 * read line by line; a line ends at \n, \r or NUL, and one ending in a backslash continues on the
 * next. In values `%` starts a specifier; in command lines `$` starts a variable, and words are
 * split at white space unless quoted, with C escapes inside quotes.
 *
 * - {@link unitValue}: a value systemd takes as written (Description=, a path): `%` doubled, line
 *   ends refused (no escape exists for them there), as is a trailing backslash.
 * - {@link unitPath}: the same, for an absolute path (a leading `-`, `!`, `|`, `~` or `+` would
 *   change what the directive means).
 * - {@link execWord} / {@link execCommand}: a command line, each argument reading back as itself.
 * - {@link unitName}: a unit name, characters a unit name cannot hold escaped as `\xNN` the way
 *   `systemd-escape` does (keeping `-`, which is valid in a name).
 * - {@link unitDirectories}: StateDirectory=/RuntimeDirectory= lists of plain relative paths.
 */
import { UnwritableValueError, characterName, refuseUnless } from "./refuse.js";

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** A value systemd reads as written, after its specifiers: `%` doubled; line ends and a trailing backslash refused. */
export function unitValue(value: string): string {
  refuseUnless("a systemd unit value", value, CONTROL, undefined);
  if (/(^|[^\\])(\\\\)*\\$/.test(value)) throw new UnwritableValueError("a systemd unit value", value, "a trailing backslash would join the next line to it");
  return value.replace(/%/g, "%%");
}

/** An absolute path as a directive's value (WorkingDirectory=, LoadCredential=, PathChanged=, ...). */
export function unitPath(path: string): string {
  if (!path.startsWith("/")) throw new UnwritableValueError("a systemd path value", path, "it is not an absolute path");
  return unitValue(path);
}

const C_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\v": "\\v",
};
/** Characters that make a word need quotes: white space, quotes, backslashes, `;` (a command separator), controls. */
const NEEDS_QUOTES = /[\s"'\\;\x00-\x1f\x7f]/;

/**
 * One argument of a command line (ExecStart=, ExecStartPre=, ...): `%` and `$` doubled (specifiers
 * and variables), and a word with white space, quotes, backslashes, `;` or control characters
 * double-quoted with C escapes. A NUL byte cannot be an argument and is refused.
 */
export function execWord(word: string): string {
  refuseUnless("a systemd command line", word, /\0/, "a command-line argument cannot hold a NUL byte");
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (escaped !== "" && !NEEDS_QUOTES.test(escaped)) return escaped;
  return `"${escaped.replace(/[\\"\x00-\x1f\x7f]/g, (c) => C_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}"`;
}

/**
 * A command line: the program, then its arguments. The program must be an absolute path: systemd
 * reads prefixes such as `+` (run as root) or `-` (ignore failure) off the first word even when
 * it is quoted, so no other first word is safe.
 */
export function execCommand(argv: readonly string[]): string {
  const [program, ...args] = argv;
  if (program === undefined || !program.startsWith("/")) {
    throw new UnwritableValueError(
      "a systemd command line",
      program ?? "",
      "the program must be an absolute path (systemd reads a leading + - @ ! : | as a prefix, quoted or not)",
    );
  }
  return [execWord(program), ...args.map(execWord)].join(" ");
}

/** Characters a unit name holds as they are; every other byte is written `\xNN`. */
const UNIT_NAME_CHAR = /[A-Za-z0-9:_.-]/;
const UNIT_NAME_MAX = 255;

/**
 * `name` as a valid unit name: every byte of a character outside `[A-Za-z0-9:_.-]` (a backslash
 * included, so two names never meet) written as `\xNN`, as `systemd-escape` does; `-` is kept.
 * A name that would be longer than systemd allows (255) is refused.
 */
export function unitName(name: string): string {
  refuseUnless("a systemd unit name", name);
  let out = "";
  for (const char of name) {
    out += UNIT_NAME_CHAR.test(char) ? char : [...Buffer.from(char, "utf8")].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
  }
  if (out === "" || out.length > UNIT_NAME_MAX) throw new UnwritableValueError("a systemd unit name", name, `a unit name has 1 to ${UNIT_NAME_MAX} characters`);
  return out;
}

const DIRECTORY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** A StateDirectory=/RuntimeDirectory= list: each a relative path of plain segments (no `..`, no `:`, no spaces). */
export function unitDirectories(dirs: readonly string[]): string {
  for (const d of dirs) {
    refuseUnless("a systemd directory list", d);
    if (!DIRECTORY.test(d) || d.split("/").some((s) => s === "." || s === "..")) {
      const bad = d.split("").find((c) => !/[A-Za-z0-9._/-]/.test(c));
      throw new UnwritableValueError("a systemd directory list", d, bad ? `it holds ${characterName(bad)}` : "each entry is a relative path of plain segments");
    }
  }
  return dirs.join(" ");
}
