/**
 * A Dockerfile as BuildKit's parser reads it: instructions (a line ending in the escape character
 * `\` continues; `#` starts a comment line; lines end at `\n`, a trailing `\r` dropped). Each
 * instruction's structure is its keyword, its form (JSON array: the element count; otherwise the
 * word count) and the `$VAR`/`${VAR}` references Docker substitutes (`\$` is a literal). The
 * shell form of RUN (and CMD/ENTRYPOINT) is a shell script: the fuzzer also compares it with the
 * shell parser, see {@link dockerShellCommands}.
 */
import type { Structure } from "./types.js";

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const trimmed = line.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && pending === undefined)) continue;
    const joined = pending === undefined ? trimmed : `${pending} ${trimmed}`;
    if (/\\\s*$/.test(line)) {
      pending = joined.replace(/\\\s*$/, "");
      continue;
    }
    pending = undefined;
    if (joined.trim() === "") continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]! });
  }
  if (pending !== undefined && pending.trim() !== "") {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(pending.trim())!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]! });
  }
  return out;
}

function jsonForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith("[")) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

const SHELL_FORM = new Set(["RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL"]);

/** Go's unicode.IsSpace, which BuildKit splits words on (U+0085 and U+2028 too). */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** The structure of a Dockerfile: one entry per instruction, in order. */
export function dockerfileStructure(text: string): Structure {
  const entries = instructions(text).map(({ keyword, args }) => {
    const json = jsonForm(args);
    if (json) return `${keyword} json[${json.length}]`;
    const parts = [keyword];
    if (!SHELL_FORM.has(keyword)) {
      parts.push(`words=${args.split(GO_SPACE).filter(Boolean).length}`);
      const vars = [...args.replace(/\\\$/g, "").matchAll(/\$\{?[A-Za-z_]/g)].length;
      if (vars > 0) parts.push(`variables=${vars}`);
    } else parts.push("shell");
    return parts.join(" ");
  });
  return { entries, ordered: true };
}

/** The shell-form commands of a Dockerfile (RUN, CMD, ENTRYPOINT), in order, as scripts. */
export function dockerShellCommands(text: string): string[] {
  return instructions(text)
    .filter((i) => ["RUN", "CMD", "ENTRYPOINT"].includes(i.keyword) && !jsonForm(i.args))
    .map((i) => i.args);
}
