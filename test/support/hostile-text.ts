/**
 * Hostile strings for the escapers' property tests: seeded (the same strings on every run), and
 * built from the pieces that change structure somewhere: every line break YAML 1.1 or 1.2 knows,
 * quotes of every kind, shell and systemd metacharacters, Terraform's `${` and `%{`, cdktf's token
 * text, control characters, a trailing backslash, non-ASCII and astral characters.
 */

const PIECES = [
  "a",
  "Z",
  "0",
  "-",
  "_",
  ".",
  "/",
  " ",
  "  ",
  "\t",
  "\n",
  "\r",
  "\r\n",
  "\u0085",
  "\u2028",
  "\u2029",
  "\x01",
  "\x1b",
  "\x7f",
  "\u00a0",
  "\ufeff",
  "'",
  '"',
  "`",
  "\\",
  "\\\n",
  "$",
  "$$",
  "%",
  "%%",
  "%n",
  "${",
  "%{",
  "}",
  "$(id)",
  "${HOME}",
  ";",
  "&",
  "|",
  "#",
  "!",
  "*",
  "?",
  "[",
  "]",
  "(",
  ")",
  "<",
  ">",
  "~",
  "=",
  ":",
  ",",
  "@",
  "+",
  "^",
  "{",
  "-x",
  "--",
  "..",
  "../",
  "é",
  "日本",
  "😀",
  "${TfToken[TOKEN.1]}",
  "key: value",
  "- item",
  "---",
  "...",
  "&anchor",
  "*alias",
  "!!python/object",
];

/** A deterministic random source (a linear congruential generator). */
export function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n) => (state = (state * 1103515245 + 12345) & 0x7fffffff) % n;
}

/** `count` hostile strings of up to `maxPieces` pieces each, leaving out any piece `exclude` matches. */
export function hostileStrings(count: number, seed = 1, maxPieces = 8, exclude?: RegExp): string[] {
  const random = seeded(seed);
  const pieces = exclude ? PIECES.filter((p) => !exclude.test(p)) : PIECES;
  return Array.from({ length: count }, () => Array.from({ length: 1 + random(maxPieces) }, () => pieces[random(pieces.length)]!).join(""));
}
