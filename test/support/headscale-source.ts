/**
 * headscale's own source of a given release, from the Go module cache that
 * scripts/build-upstream.sh fills: the ground truth for which config keys a version reads.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function moduleCache(): string {
  return execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
}

/** The directory of headscale's module at `version` (e.g. "v0.29.3"); throws with the fix if absent. */
export function headscaleSourceDir(version: string): string {
  const dir = join(moduleCache(), "github.com", "juanfont", `headscale@${version}`);
  if (!existsSync(dir)) throw new Error(`headscale ${version} source is not in the module cache (${dir}); run: bash scripts/build-upstream.sh`);
  return dir;
}

/**
 * Every config key that version's `hscontrol/types/config.go` reads, sets a default for, or
 * checks (viper.Get*, SetDefault, IsSet, UnmarshalKey).
 */
export function headscaleConfigKeys(version: string): Set<string> {
  const source = readFileSync(join(headscaleSourceDir(version), "hscontrol", "types", "config.go"), "utf8");
  const keys = new Set<string>();
  for (const m of source.matchAll(/viper\.(?:Get\w*|IsSet|SetDefault|UnmarshalKey|Sub)\(\s*"([a-z0-9_.]+)"/g)) keys.add(m[1]!);
  return keys;
}
