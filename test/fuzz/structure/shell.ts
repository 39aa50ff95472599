/**
 * A shell script as a real shell parser sees it: shfmt (mvdan.cc/sh, built by
 * scripts/build-upstream.sh) parses it and prints the syntax tree (`--to-json`); the structure is
 * that tree with literal word contents left out: one entry per statement, giving its commands,
 * operators, redirections, and per word its expansions (`$NAME`, `$(...)`, arithmetic); a run of
 * literal text (plain, single- or double-quoted) is one `L`, so quoting a value differently is no
 * change, but a value that adds a word, a command, a substitution or an operator is. Command names
 * are kept (normalized back to the baseline's value).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { cacheDir, upstreamVersions } from "../../support/upstream.js";
import { identity, type Normalize, type Structure } from "./types.js";

/** The shfmt binary scripts/build-upstream.sh builds. */
export function shfmtPath(): string {
  return join(cacheDir, "bin", `shfmt-${upstreamVersions.shfmt}`, "shfmt");
}

/** The shell dialect of a script: POSIX sh unless its first line names bash. */
export function dialectOf(script: string): "posix" | "bash" {
  return /^#!.*\bbash\b/.test(script) ? "bash" : "posix";
}

/** shfmt's syntax tree of `script` (as JSON text), or its parse error. */
export function parseShell(script: string, dialect = dialectOf(script)): Promise<{ tree: unknown } | { error: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(shfmtPath(), ["-ln", dialect, "--to-json"], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT")
        reject(new Error(`shfmt is not built at ${shfmtPath()}; run: bash scripts/build-upstream.sh`));
      else if (err) resolve({ error: stderr.trim().split("\n")[0] ?? String(err) });
      else resolve({ tree: JSON.parse(stdout) });
    });
    child.stdin!.end(script);
  });
}

type Node = Record<string, unknown> & { Type?: string };

/** A source position (`{ Offset, Line, Col }`), which shfmt prints under many names (`Pos`, `ThenPos`, `Lparen`...). */
function isPosition(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && "Offset" in v && "Line" in v && "Col" in v;
}
const LITERAL_PARTS = new Set(["Lit", "SglQuoted"]);

/** The literal text of a word made of literal parts only, or undefined. */
function literalText(parts: Node[]): string | undefined {
  let text = "";
  for (const p of parts) {
    if (p.Type === "Lit" || p.Type === "SglQuoted") text += String(p.Value ?? "");
    else if (p.Type === "DblQuoted") {
      const inner = literalText((p.Parts as Node[] | undefined) ?? []);
      if (inner === undefined) return undefined;
      text += inner;
    } else return undefined;
  }
  return text;
}

/** A word: literal runs collapsed to `L`, expansions kept with their structure. */
function word(w: Node, normalize: Normalize): string {
  const flat: Node[] = [];
  const flatten = (parts: Node[]) => {
    for (const p of parts) {
      if (p.Type === "DblQuoted") flatten((p.Parts as Node[] | undefined) ?? []);
      else flat.push(p);
    }
  };
  flatten((w.Parts as Node[] | undefined) ?? []);
  const out: string[] = [];
  for (const p of flat) {
    if (LITERAL_PARTS.has(p.Type!)) {
      if (out.at(-1) !== "L") out.push("L");
    } else out.push(node(p, normalize));
  }
  return out.join("") || "L";
}

function node(n: unknown, normalize: Normalize): string {
  if (Array.isArray(n)) return `[${n.map((x) => node(x, normalize)).join(",")}]`;
  if (n === null || typeof n !== "object") return JSON.stringify(n);
  const o = n as Node;
  if (o.Parts !== undefined && o.Type === undefined) return word(o, normalize); // a Word
  if (o.Type === "Lit") return "L";
  if (o.Type === "SglQuoted") return "L";
  if (o.Type === "ParamExp") {
    const param = (o.Param as Node | undefined)?.Value;
    const rest = Object.entries(o)
      .filter(([k, v]) => !isPosition(v) && k !== "Type" && k !== "Param")
      .map(([k, v]) => `${k}:${node(v, normalize)}`);
    return `$${String(param)}${rest.length ? `{${rest.join(" ")}}` : ""}`;
  }
  if (o.Type === "CallExpr") {
    const args = (o.Args as Node[] | undefined) ?? [];
    const name = args[0] ? literalText((args[0].Parts as Node[] | undefined) ?? []) : undefined;
    const assigns = ((o.Assigns as Node[] | undefined) ?? []).map((a) => node(a, normalize));
    const words = args.map((a, i) => (i === 0 && name !== undefined ? `cmd:${normalize(name)}` : word(a, normalize)));
    return `Call(${[...assigns, ...words].join(" ")})`;
  }
  const fields = Object.entries(o)
    .filter(([k, v]) => !isPosition(v) && k !== "Type" && k !== "Comments" && k !== "Last" && v !== undefined)
    .map(([k, v]) => `${k}:${node(v, normalize)}`);
  return `${o.Type ?? ""}{${fields.join(" ")}}`;
}

/** The structure of a parsed script: one entry per top-level statement. */
export function shellStructureOf(parsed: { tree: unknown } | { error: string }, normalize: Normalize = identity): Structure {
  if ("error" in parsed) return { error: parsed.error };
  const stmts = ((parsed.tree as Node).Stmts as unknown[] | undefined) ?? [];
  return { entries: stmts.map((s) => node(s, normalize)), ordered: true };
}

/** Parses and extracts in one step (for tests). */
export async function shellStructure(script: string, normalize: Normalize = identity): Promise<Structure> {
  return shellStructureOf(await parseShell(script), normalize);
}
