/**
 * The fuzzer's report: what was tried, and every finding as field x payload x file x what changed,
 * capped so a developer sees the first problems clearly, plus a count per field and file.
 */
import { isFinding, type FuzzResult, type VariantRun } from "./fuzzer.js";
import { PAYLOADS, variantLabel } from "./payloads.js";

/** One finding, flattened: one row per document that changed (or one for a refusal or a throw). */
export interface FindingRow {
  readonly field: string;
  readonly fixture: string;
  readonly path: string;
  readonly payload: string;
  readonly file: string;
  readonly what: string;
}

function oneLine(text: string, max: number): string {
  const flat = JSON.stringify(text).slice(1, -1);
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** Every finding as rows. */
export function findingRows(runs: readonly VariantRun[]): FindingRow[] {
  return runs.filter(isFinding).flatMap((run) => {
    const base = { field: run.target.field.pattern, fixture: run.target.fixture, path: run.target.path, payload: variantLabel(run.variant) };
    const o = run.outcome;
    if (o.kind === "refused elsewhere")
      return [{ ...base, file: "(validation)", what: `refused, but no issue names ${run.target.path}: ${o.issues.slice(0, 2).join("; ")}` }];
    if (o.kind === "threw") return [{ ...base, file: "(render/synth)", what: `accepted, then threw: ${o.message}` }];
    if (o.kind !== "accepted") return [];
    return o.changes.map((c) => ({
      ...base,
      file: c.location,
      what: c.what.slice(0, 3).join(" | ") + (c.what.length > 3 ? ` | (+${c.what.length - 3} more)` : ""),
    }));
  });
}

/** The counts of a run, in a few lines. */
export function summary(result: FuzzResult): string {
  const kinds = new Map<string, number>();
  for (const r of result.runs) kinds.set(r.outcome.kind, (kinds.get(r.outcome.kind) ?? 0) + 1);
  const findings = result.runs.filter(isFinding);
  const changes = findings.filter((r) => r.outcome.kind === "accepted");
  const phases = Object.entries(result.phases)
    .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
    .join(", ");
  return [
    `${result.patterns} string fields in the schema, fuzzed at ${result.targets.length} places; ${PAYLOADS.length} payloads, whole and embedded: ${result.runs.length} variants`,
    `outcomes: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}`,
    `findings: ${findings.length} variants (${changes.length} with structure changes, in ${findingRows(changes).length} documents)`,
    `parsed: ${result.parsed.shell} shell scripts (shfmt), ${result.parsed.yaml} YAML documents (PyYAML), ${result.parsed.units} units (systemd-analyze verify), ${result.parsed.rulesets} rulesets (nft -c)`,
    `time: ${result.seconds.toFixed(1)}s (${phases})`,
  ].join("\n");
}

/** Counts of findings per field and file (host names and ids as the fixture has them). */
export function groupedFindings(rows: readonly FindingRow[]): [string, number][] {
  const counts = new Map<string, Set<string>>();
  for (const r of rows) {
    const file = r.file.replace(/ > .*(?= [^ ]+$)/, " > ...");
    const key = `${r.field}  @ ${file}`;
    const payloads = counts.get(key) ?? new Set<string>();
    payloads.add(r.payload);
    counts.set(key, payloads);
  }
  return [...counts].map(([k, s]) => [k, s.size] as [string, number]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** The report shown when the fuzzer finds something: summary, a capped table, the per-field counts. */
export function report(result: FuzzResult, maxRows = 40, maxGroups = 60): string {
  const rows = findingRows(result.runs);
  const table = rows.slice(0, maxRows).map((r) => `${r.path} [${r.fixture}] x ${r.payload} x ${r.file}: ${oneLine(r.what, 220)}`);
  const groups = groupedFindings(rows);
  return [
    summary(result),
    "",
    `findings (field x payload x file: what changed), first ${Math.min(maxRows, rows.length)} of ${rows.length}:`,
    ...table,
    "",
    `per field and file (number of payloads), first ${Math.min(maxGroups, groups.length)} of ${groups.length}:`,
    ...groups.slice(0, maxGroups).map(([k, n]) => `${String(n).padStart(3)}  ${k}`),
  ].join("\n");
}
