/** The repository's own source files, for tests that read code (hygiene rules, import cycles). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Generated output the source rules do not read. */
const SKIPPED = [join("test", "golden", "out"), join("test", "golden", "secrets"), "node_modules", "dist"];

/** Every .ts (and .mjs) source under `path` (a folder or a file, relative to the root or absolute), declaration files left out. */
export function sourcesUnder(path: string): string[] {
  const full = resolve(REPO_ROOT, path);
  if (!statSync(full).isDirectory()) return /\.(ts|mjs)$/.test(full) && !full.endsWith(".d.ts") ? [full] : [];
  if (SKIPPED.some((s) => full.endsWith(s))) return [];
  return readdirSync(full).flatMap((name) => sourcesUnder(join(full, name)));
}

/** The sources under `places`, each with its path relative to the root and its text. */
export function readSources(places: readonly string[]): { readonly file: string; readonly text: string }[] {
  return places.flatMap((p) => sourcesUnder(p)).map((file) => ({ file: relative(REPO_ROOT, file), text: readFileSync(file, "utf8") }));
}
