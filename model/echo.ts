/**
 * How a problem message shows the value it is about: bounded, one line, and never a secret. A
 * spec is hostile until validated, and its bad values end up in terminals, CI logs and issue
 * reports: a 10 MB string, a line break that forges a second message, or an API token pasted
 * into the wrong field must not come back out whole.
 */

/** At most this many characters of a value are shown. */
export const ECHO_LIMIT = 40;

/** Field names under which a value may itself be a secret (a field naming a secret's file is not one). */
const SECRET_KEY = /secret|token|passw|^pass$|apikey|api_key|private|^key$/i;
const FILE_KEY = /(file|path)$/i;

/**
 * True for a string that looks like a credential: a private key block, or one long run of
 * letters, digits and `_-+/=` mixing upper case, lower case and digits (API tokens, base64 keys).
 */
export function looksSecret(value: string): boolean {
  if (/PRIVATE KEY/.test(value)) return true;
  return (
    value.length >= 20 &&
    /^[A-Za-z0-9_\-+/=.]+$/.test(value) &&
    /[a-z]/.test(value) &&
    /[A-Z]/.test(value) &&
    /[0-9]/.test(value) &&
    !/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(value)
  );
}

/** Escapes what JSON.stringify leaves raw but terminals and YAML 1.1 treat as line breaks or controls. */
function visible(text: string): string {
  return text.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

/**
 * A value as a message shows it: a string quoted and cut to ECHO_LIMIT characters (`"abc…"`), a
 * string that may be a secret (by its field `key` or its look) only by its length, a number,
 * boolean or null as itself, an array or object only by its kind.
 */
export function echo(value: unknown, key?: string): string {
  if (typeof value === "string") {
    if ((key !== undefined && SECRET_KEY.test(key) && !FILE_KEY.test(key) && value.length > 0) || looksSecret(value)) {
      return `a ${value.length}-character value (not shown: it may be a secret)`;
    }
    return visible(JSON.stringify(cut(value)));
  }
  if (value === null || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return typeof value;
}

/** A key as a path shows it: cut to ECHO_LIMIT characters. */
export function boundedKey(key: string): string {
  return cut(key);
}

/** The text cut to ECHO_LIMIT code points, with `…` when something was cut. */
function cut(text: string): string {
  if (text.length <= ECHO_LIMIT) return text; // (UTF-16 units: never fewer than code points)
  const points = [...text];
  return points.length > ECHO_LIMIT ? `${points.slice(0, ECHO_LIMIT).join("")}…` : text;
}
