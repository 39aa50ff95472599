/**
 * The real validators, run on many files at once: `systemd-analyze verify` over a folder of units
 * (one call), `nft -c -f` per ruleset in a throw-away network namespace (two at a time). Each
 * returns, per file, the complaints with the file's name, folder and line numbers taken out, so a
 * variant's complaints can be compared with the baseline's.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function run(command: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * `systemd-analyze verify` of every unit (name, text), in one call: per unit, its complaints with
 * paths and line numbers normalized (`<unit>:N: Unknown key ...`).
 */
export async function verifyUnits(units: readonly { name: string; text: string }[]): Promise<string[][]> {
  if (units.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-fuzz-units-"));
  try {
    const files = units.map((u, i) => {
      const file = `fz${i}-${u.name}`;
      writeFileSync(join(dir, file), u.text);
      return file;
    });
    const { output } = await run("systemd-analyze", ["verify", "--man=no", ...files.map((f) => join(dir, f))]);
    const byUnit: string[][] = units.map(() => []);
    for (const line of output.split("\n")) {
      const m = /fz(\d+)-/.exec(line);
      if (!m) continue;
      const i = Number(m[1]);
      const name = units[i]?.name ?? "";
      byUnit[i]?.push(
        line
          .replace(new RegExp(`${escapeRegExp(dir)}/`, "g"), "")
          .replace(/fz\d+-/g, "")
          .replace(new RegExp(`${escapeRegExp(name)}:\\d+:`, "g"), `${name}:N:`),
      );
    }
    return byUnit.map((lines) => [...new Set(lines)].sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `nft -c -f` of every ruleset, in a new network namespace each: per ruleset, its complaints (empty when it loads). */
export async function checkRulesets(rulesets: readonly string[]): Promise<string[][]> {
  if (rulesets.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-fuzz-nft-"));
  try {
    const results: string[][] = new Array(rulesets.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < rulesets.length; i = next++) {
        const file = join(dir, `${i}.nft`);
        writeFileSync(file, rulesets[i]!);
        const { code, output } = await run("unshare", ["--net", "nft", "-c", "-f", file]);
        const lines = output
          .split("\n")
          .filter((l) => /error|warning/i.test(l))
          .map((l) => l.replace(`${file}:`, "").replace(/^\d+:\d+-\d+: /, ""));
        results[i] = code === 0 ? lines : [`exit ${code}`, ...lines];
      }
    };
    await Promise.all([worker(), worker()]);
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
