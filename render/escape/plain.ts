/**
 * A plain word: a value the template author knows is a simple token (a constant, an enum value,
 * a number, a path the model derived), written as it is. It is checked at every write: anything
 * with white space, quotes, `$`, `%`, `#`, `;`, a backslash or a control character is refused,
 * so a plain word is safe unquoted in every format the kit writes.
 */
import { UnwritableValueError } from "./refuse.js";

const PLAIN = /^[A-Za-z0-9_./:@+=,-]+$/;

/** `value` as it is, if it is a plain word (numbers as their decimal text). */
export function plainWord(value: string | number): string {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string" || !PLAIN.test(text)) {
    throw new UnwritableValueError("a plain word", String(text), "only letters, digits and . _ / : @ + = , - are written unquoted");
  }
  return text;
}

/** Each value as a plain word, separated by spaces. */
export function plainWords(values: readonly (string | number)[]): string {
  return values.map(plainWord).join(" ");
}
