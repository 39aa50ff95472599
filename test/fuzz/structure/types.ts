/**
 * A file's structure as the fuzzer compares it: a list of entries (what a parser of the format
 * sees, with literal contents left out), or the reason the file does not parse.
 */
export type Structure = { readonly entries: readonly string[]; readonly ordered: boolean } | { readonly error: string };

/** Maps a value found in the variant's output back to the baseline's (keys, names, paths). */
export type Normalize = (text: string) => string;

export const identity: Normalize = (text) => text;

/** What changed between two structures, in a few lines; empty when nothing did. */
export function structureChange(base: Structure, variant: Structure): string[] {
  if ("error" in base) return "error" in variant ? [] : [`parsed only with the payload (baseline: ${base.error})`];
  if ("error" in variant) return [`no longer parses: ${variant.error}`];
  const counts = new Map<string, number>();
  for (const e of base.entries) counts.set(e, (counts.get(e) ?? 0) + 1);
  const added: string[] = [];
  for (const e of variant.entries) {
    const n = counts.get(e) ?? 0;
    if (n > 0) counts.set(e, n - 1);
    else added.push(e);
  }
  const removed = [...counts].flatMap(([e, n]) => Array<string>(n).fill(e));
  const out = [...added.map((e) => `+ ${e}`), ...removed.map((e) => `- ${e}`)];
  if (out.length === 0 && base.ordered && base.entries.some((e, i) => e !== variant.entries[i])) {
    const i = base.entries.findIndex((e, j) => e !== variant.entries[j]);
    out.push(`reordered at ${i}: ${variant.entries[i]}`);
  }
  return out;
}
