/**
 * What an escaper throws instead of writing a value it cannot write so that the reader reads back
 * the same string (a line break where the format has no way to say one, a character the format
 * cannot hold). Validation refuses such values long before; this is the second guard, at the
 * point where text is written.
 */

/** A value an escaper refused to write. */
export class UnwritableValueError extends Error {
  constructor(
    /** Where the value was to be written, e.g. `a systemd unit value`. */
    readonly target: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`cdktf-tailnet: cannot write ${shown(value)} into ${target}: ${reason}`);
    this.name = "UnwritableValueError";
  }
}

function shown(value: string): string {
  const json = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  // JSON leaves U+2028/U+2029 and other invisible characters raw; an error message shows them.
  return json.replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A UTF-16 surrogate with no partner: not a character, so no file can hold it. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Throws unless `value` is a string of whole characters (no lone surrogate) and, when given, none of `forbidden`. */
export function refuseUnless(target: string, value: unknown, forbidden?: RegExp, reason?: string): string {
  if (typeof value !== "string") throw new UnwritableValueError(target, String(value), `it is a ${typeof value}, not a string`);
  if (LONE_SURROGATE.test(value)) throw new UnwritableValueError(target, value, "it holds a lone UTF-16 surrogate, which is no character");
  if (forbidden?.test(value)) throw new UnwritableValueError(target, value, reason ?? `it holds ${characterName(forbidden.exec(value)![0])}`);
  return value;
}

/** A character, named so a person can find it. */
export function characterName(char: string): string {
  const names: Record<string, string> = {
    "\n": "a line break (\\n)",
    "\r": "a carriage return (\\r)",
    "\0": "a NUL character",
    "\u0085": "a line break (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
  };
  return names[char] ?? `the character U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}${/[\x20-\x7e]/.test(char) ? ` (${char})` : ""}`;
}
