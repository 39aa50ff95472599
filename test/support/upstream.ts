/**
 * Where the tests find the real upstream programs: built by scripts/build-upstream.sh into
 * `${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/bin/<tool>-<version>/<tool>`.
 *
 * A test that needs a program skips only when Go is missing (nothing could have built it). When Go
 * is there but the program is not, the test fails and says to run the build script: a skip would
 * hide a broken setup.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const upstreamVersions = JSON.parse(readFileSync(new URL("../../model/upstream-versions.json", import.meta.url), "utf8")) as {
  headscale: string[];
  tailscale: string;
  shfmt: string;
  terraformProviderDocker: string;
};

export const cacheDir = process.env.CDKTF_TAILNET_CACHE ?? join(homedir(), ".cache", "cdktf-tailnet");

function hasGo(): boolean {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why tests that need the upstream programs are skipped, or undefined when they run. */
export const upstreamSkipReason: string | undefined = hasGo()
  ? undefined
  : "Go is not installed, so the real headscale/derper/tailscale cannot be built (scripts/build-upstream.sh)";

/** Path of a built upstream program; throws with the fix when it is missing. */
export function upstreamBinary(tool: "headscale" | "derper" | "tailscaled" | "tailscale", version: string): string {
  const v = version.startsWith("v") ? version : `v${version}`;
  const path = join(cacheDir, "bin", `${tool}-${v}`, tool);
  if (!existsSync(path)) {
    throw new Error(`${tool} ${v} is not built at ${path}; run: bash scripts/build-upstream.sh`);
  }
  return path;
}

/**
 * The folder holding the Terraform Docker provider built by scripts/build-upstream.sh, for a
 * `dev_overrides` CLI config; throws with the fix when it is missing.
 */
export function terraformDockerProviderDir(): string {
  const dir = join(cacheDir, "bin", `terraform-provider-docker-${upstreamVersions.terraformProviderDocker}`);
  if (!existsSync(join(dir, "terraform-provider-docker"))) {
    throw new Error(`the Terraform Docker provider is not built in ${dir}; run: bash scripts/build-upstream.sh`);
  }
  return dir;
}
