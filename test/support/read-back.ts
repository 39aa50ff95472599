/**
 * What the real readers make of the kit's text, for round-trip tests of the escapers: systemd
 * (`systemd-analyze verify` with a debug dump of the loaded units), POSIX sh (dash), PyYAML (what
 * cloud-init parses user-data with) and nft (a ruleset loaded in a throw-away network namespace,
 * then listed).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./scratch.js";

/** One unit as systemd loaded it: its Description and the argv of each command, in file order. */
export interface LoadedUnit {
  readonly description: string;
  readonly commands: string[][];
  /** The whole dump of the unit, for assertions on other properties. */
  readonly dump: string;
}

/** Unquotes one word of systemd's `Command Line:` dump (shell-like quoting, C escapes inside quotes). */
function dumpWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const simple: Record<string, string> = {
    n: "\n",
    t: "\t",
    r: "\r",
    a: "\x07",
    b: "\b",
    f: "\f",
    v: "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    $: "$",
    "`": "`",
    " ": " ",
  };
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    let word = "";
    const bytes: number[] = [];
    const flush = () => {
      if (bytes.length) word += Buffer.from(bytes.splice(0)).toString("utf8");
    };
    let quoted = false;
    for (; i < line.length && (quoted || line[i] !== " "); i++) {
      const c = line[i]!;
      if (c === '"') {
        quoted = !quoted;
        continue;
      }
      if (c !== "\\") {
        flush();
        word += c;
        continue;
      }
      const next = line[++i]!;
      if (/[0-7]/.test(next)) {
        bytes.push(parseInt(line.slice(i, i + 3), 8));
        i += 2;
      } else if (next === "x") {
        bytes.push(parseInt(line.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (next in simple) {
        flush();
        word += simple[next];
      } else {
        throw new Error(`unknown escape \\${next} in systemd's dump: ${line}`);
      }
    }
    flush();
    words.push(word);
  }
  return words;
}

/**
 * Loads unit files (file name -> text) with `systemd-analyze verify` and returns what systemd
 * read, by unit name, plus its complaints. Each command's argv is as the program receives it
 * (`$$` becomes `$` when systemd runs a command).
 */
export function loadUnits(units: Readonly<Record<string, string>>): { units: Map<string, LoadedUnit>; stderr: string; status: number } {
  const dir = scratchDir("cdktf-tailnet-units-");
  const paths = Object.entries(units).map(([name, text]) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
  const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...paths], {
    env: { ...process.env, SYSTEMD_LOG_LEVEL: "debug" },
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const loaded = new Map<string, LoadedUnit>();
  for (const name of Object.keys(units)) {
    // The debug dump of the loaded units goes to standard output, the complaints to standard error.
    const start = r.stdout.indexOf(`-> Unit ${name}:\n`);
    if (start < 0) continue;
    const end = r.stdout.indexOf("\n\t-> Unit ", start + 1);
    const dump = r.stdout.slice(start, end < 0 ? undefined : end);
    loaded.set(name, {
      description: /^\t\tDescription: (.*)$/m.exec(dump)?.[1] ?? "",
      commands: [...dump.matchAll(/^\t\t\tCommand Line: (.*)$/gm)].map((m) => dumpWords(m[1]!).map((w) => w.replace(/\$\$/g, "$"))),
      dump,
    });
  }
  const complaints = r.stderr
    .split("\n")
    .filter((l) => l.startsWith(dir))
    .join("\n");
  return { units: loaded, stderr: complaints, status: r.status ?? -1 };
}

/** What dash makes of `words` (sh text, e.g. quoted words), each printed back as one argument. */
export function shWords(words: string): string[] {
  const out = execFileSync("dash", ["-c", `printf '%s\\0' ${words}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

/** Runs sh `script` with dash and returns its standard output. */
export function shOutput(script: string): string {
  return execFileSync("dash", ["-c", script], { encoding: "utf8" });
}

/** PyYAML's `safe_load` of each text (what cloud-init sees), or the error PyYAML raised; one Python process for all. */
export function pyYamlEach(texts: readonly string[]): { value?: unknown; error?: string }[] {
  const program = [
    "import json, sys, yaml",
    "out = []",
    "for text in json.load(sys.stdin):",
    "    try: out.append({'value': yaml.safe_load(text)})",
    "    except yaml.YAMLError as e: out.append({'error': str(e)})",
    "print(json.dumps(out))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", program], { input: JSON.stringify(texts), encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { value?: unknown; error?: string }[];
}

/** PyYAML's `safe_load` of `text`, or the error PyYAML raised. */
export function pyYaml(text: string): { value?: unknown; error?: string } {
  return pyYamlEach([text])[0]!;
}

/** Loads an nft ruleset in a fresh network namespace and lists it back (`nft list ruleset`), or returns nft's complaint. */
export function nftLoad(ruleset: string): { listed?: string; error?: string } {
  const dir = scratchDir("cdktf-tailnet-nft-");
  const file = join(dir, "ruleset.nft");
  writeFileSync(file, ruleset);
  const r = spawnSync("unshare", ["--net", "sh", "-c", 'nft -f "$1" && nft list ruleset', "sh", file], { encoding: "utf8" });
  return r.status === 0 ? { listed: r.stdout } : { error: r.stderr };
}
