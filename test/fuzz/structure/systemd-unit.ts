/**
 * A systemd unit file as systemd's parser sees it: the multiset of (section, directive) pairs,
 * with, for each, what a value can add without adding a directive: the words of a command line or
 * list (split as systemd's extract_first_word does, quotes and backslashes honoured), the `%`
 * specifiers systemd expands (`%%` is a literal), and in command lines the `$VAR` / `${VAR}`
 * references it substitutes (`$$` is a literal).
 *
 * Lines end at `\n`, `\r` and NUL (systemd's read_line); a line ending in a backslash continues;
 * lines starting with `#` or `;` are comments.
 */
import type { Structure } from "./types.js";

/** Directives whose value systemd splits into words (command lines, lists of units, paths, names). */
const SPLIT = new Set([
  "Documentation",
  "Wants",
  "Requires",
  "Requisite",
  "BindsTo",
  "PartOf",
  "Upholds",
  "Conflicts",
  "Before",
  "After",
  "OnFailure",
  "OnSuccess",
  "PropagatesReloadTo",
  "ReloadPropagatedFrom",
  "JoinsNamespaceOf",
  "RequiresMountsFor",
  "WantedBy",
  "RequiredBy",
  "Also",
  "Alias",
  "Environment",
  "EnvironmentFile",
  "PassEnvironment",
  "UnsetEnvironment",
  "ReadWritePaths",
  "ReadOnlyPaths",
  "InaccessiblePaths",
  "ExecPaths",
  "NoExecPaths",
  "BindPaths",
  "BindReadOnlyPaths",
  "TemporaryFileSystem",
  "StateDirectory",
  "RuntimeDirectory",
  "CacheDirectory",
  "LogsDirectory",
  "ConfigurationDirectory",
  "CapabilityBoundingSet",
  "AmbientCapabilities",
  "SystemCallFilter",
  "SystemCallArchitectures",
  "RestrictAddressFamilies",
  "RestrictNamespaces",
  "SupplementaryGroups",
  "LoadCredential",
  "SetCredential",
  "ImportCredential",
  "DeviceAllow",
  "IPAddressAllow",
  "IPAddressDeny",
  "RestrictFileSystems",
  "Unit",
  "PathChanged",
  "PathModified",
  "PathExists",
  "OnCalendar",
  "ExecSearchPath",
]);

/** Splits the logical lines of a unit file: line breaks as systemd has them, continuations joined. */
function logicalLines(text: string): string[] {
  const raw = text.split(/\r\n|\n|\r|\0/);
  const out: string[] = [];
  let pending: string | undefined;
  for (const line of raw) {
    const trimmed = line.trim();
    if (pending !== undefined && (trimmed.startsWith("#") || trimmed.startsWith(";"))) continue; // comments inside a continuation
    const joined = pending === undefined ? line : `${pending} ${line}`;
    if (joined.endsWith("\\") && !joined.endsWith("\\\\")) pending = joined.slice(0, -1);
    else {
      out.push(joined);
      pending = undefined;
    }
  }
  if (pending !== undefined) out.push(pending);
  return out;
}

/** systemd's WHITESPACE: only these four separate words (not U+2028, NBSP and the like). */
const WHITESPACE = /[ \t\n\r]/;

/** Words as systemd's extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) splits them, or an error. */
export function systemdWords(value: string): string[] | { error: string } {
  const words: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && WHITESPACE.test(value[i]!)) i++;
    if (i >= n) break;
    let word = "";
    let quote: string | undefined;
    for (; i < n; i++) {
      const c = value[i]!;
      if (c === "\\") {
        if (i + 1 >= n) return { error: "trailing backslash" };
        word += value[++i];
      } else if (quote) {
        if (c === quote) quote = undefined;
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (WHITESPACE.test(c)) break;
      else word += c;
    }
    if (quote) return { error: `unterminated ${quote}` };
    words.push(word);
  }
  return words;
}

function count(re: RegExp, text: string): number {
  return [...text.matchAll(re)].length;
}

/** The structure of a unit file. */
export function unitStructure(text: string): Structure {
  const entries: string[] = [];
  let section = "(none)";
  for (const line of logicalLines(text)) {
    const t = line.trim();
    if (t === "" || t.startsWith("#") || t.startsWith(";")) continue;
    if (t.startsWith("[")) {
      section = t;
      entries.push(`section ${t}`);
      continue;
    }
    const eq = t.indexOf("=");
    if (eq <= 0) {
      entries.push(`${section} not an assignment`);
      continue;
    }
    const key = t.slice(0, eq).trim();
    const value = t.slice(eq + 1).trim();
    const parts = [`${section} ${key}`];
    const specifiers = count(/%[^%]/g, value.replace(/%%/g, ""));
    if (specifiers > 0) parts.push(`specifiers=${specifiers}`);
    const command = key.startsWith("Exec") && key !== "ExecSearchPath";
    if (command || SPLIT.has(key)) {
      const words = systemdWords(command ? value.replace(/^[@\-:+!|]+/, "") : value);
      parts.push("error" in words ? `words: ${words.error}` : `words=${words.length}`);
    }
    if (command) {
      const vars = count(/\$\{?[A-Za-z_]/g, value.replace(/\$\$/g, ""));
      if (vars > 0) parts.push(`variables=${vars}`);
    }
    entries.push(parts.join(" "));
  }
  return { entries, ordered: false };
}
