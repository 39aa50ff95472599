/**
 * Dockerfiles. An instruction is one line unless it ends in the escape character (`\`); a line
 * that starts with `#` inside a continued instruction is dropped as a comment. COPY, VOLUME, USER
 * and FROM expand `$VAR`; the exec form of ENTRYPOINT/CMD is a JSON array, which is not expanded;
 * RUN's shell form goes to `/bin/sh -c` as written.
 *
 * - {@link dockerJsonString}: one element of an exec-form JSON array.
 * - {@link dockerRunWord}: one word of a RUN command: sh-quoted, and never a line break (no
 *   quoting of sh carries one across Docker's line-based parser).
 * - {@link dockerArgument}: an argument of COPY/VOLUME/USER/FROM, written as it is: only plain
 *   words (no `$`, no white space, no quotes, no backslash); anything else is refused.
 */
import { plainWord } from "./plain.js";
import { refuseUnless } from "./refuse.js";
import { shellQuote } from "./shell.js";

/** One element of an exec-form JSON array (`ENTRYPOINT ["a", "b"]`), as a JSON string. */
export function dockerJsonString(value: string): string {
  refuseUnless("a Dockerfile JSON array", value);
  return JSON.stringify(value);
}

/** One word of a RUN command, as sh reads it; a line break or NUL is refused. */
export function dockerRunWord(value: string): string {
  refuseUnless("a Dockerfile RUN command", value, /[\0\n\r]/, undefined);
  return shellQuote(value);
}

/** An argument of COPY, VOLUME, USER or FROM: a plain word, as it is. */
export function dockerArgument(value: string | number): string {
  return plainWord(value);
}
