/**
 * File names and paths the kit writes: every file lands inside the directory it belongs to (the
 * output tree, the secrets directory, a build context), whatever names the spec holds.
 *
 * - {@link fileNamePart}: an identifier as one file-name component, reversibly: `%`, `/`, NUL,
 *   control characters and a leading `.` are percent-encoded, so `../x` cannot climb, and two
 *   identifiers never share a name.
 * - {@link joinInside}: a path under a root, refused unless it stays inside after normalisation.
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { UnwritableValueError, refuseUnless } from "./refuse.js";

const ENCODED = /[%/\\\x00-\x1f\x7f]|^\./g;

/** `id` as one file-name component: never empty, never `.` or `..`, no `/`; distinct ids give distinct names. */
export function fileNamePart(id: string): string {
  refuseUnless("a file name", id);
  if (id === "") throw new UnwritableValueError("a file name", id, "a file name cannot be empty");
  const name = id.replace(ENCODED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
  if (Buffer.byteLength(name) > 240) throw new UnwritableValueError("a file name", id, "it is longer than a file name can be");
  return name;
}

/**
 * `root` joined with the relative `parts`, proven to be inside `root` after normalisation; an
 * absolute part, a NUL byte, or a path that climbs out (or is `root` itself) is refused.
 */
export function joinInside(root: string, ...parts: string[]): string {
  const base = resolve(root);
  for (const part of parts) {
    refuseUnless(`a path inside ${base}`, part, /\0/, "a path cannot hold a NUL byte");
    if (isAbsolute(part)) throw new UnwritableValueError(`a path inside ${base}`, part, "it is an absolute path");
  }
  const path = resolve(base, ...parts);
  const rel = relative(base, path);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UnwritableValueError(`a path inside ${base}`, parts.join("/"), "it leads out of the directory");
  }
  return path;
}
