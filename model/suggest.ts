/** Did-you-mean suggestions for misspelled keys and values. */

function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, "");
}

/** Levenshtein distance, two rows at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `input`, or undefined when none is close. Case, `_` and `-` are
 * ignored first, so headscale's `base_domain` finds the spec's `baseDomain`.
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const n = normalize(input);
  const exact = candidates.find((c) => normalize(c) === n);
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(n.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(n, normalize(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
