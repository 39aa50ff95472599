/**
 * Where the lab finds the real programs: paths the user gives, else the cache that
 * `scripts/build-upstream.sh` fills (`${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/bin/<tool>-v<version>/<tool>`).
 * Everything missing is reported at once, each with where it was looked for and how to get it.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type LabTool = "headscale" | "derper" | "tailscaled" | "tailscale";

/** The programs a lab run starts. */
export type LabBinaries = Readonly<Record<LabTool, string>>;

/** Paths the user gave (`--headscale <path>` ...) or a directory holding all four (`--bin-dir`). */
export interface BinaryOverrides {
  readonly binDir?: string;
  readonly headscale?: string;
  readonly derper?: string;
  readonly tailscaled?: string;
  readonly tailscale?: string;
}

/** Some programs are missing; the message lists each with where it was looked for and the fix. */
export class LabBinariesMissing extends Error {
  constructor(readonly missing: readonly { tool: LabTool; version: string; looked: string }[]) {
    super(
      [
        `${missing.length} program${missing.length === 1 ? "" : "s"} the lab needs ${missing.length === 1 ? "is" : "are"} missing:`,
        ...missing.map((m) => `  ${m.tool} ${m.version}: not found at ${m.looked}`),
        "fix: build them once with `bash scripts/build-upstream.sh` (needs Go; fills the cache above),",
        "     or pass paths: --headscale <path> --derper <path> --tailscaled <path> --tailscale <path> (or --bin-dir <dir>)",
        // The build script builds the releases the tests run, which may not include the spec's (the default 0.29.8).
        ...(missing.some((m) => m.tool === "headscale")
          ? ["     or run a headscale release you have built: --headscale-version <release> (the lab renders for it instead)"]
          : []),
      ].join("\n"),
    );
    this.name = "LabBinariesMissing";
  }
}

/** The cache directory scripts/build-upstream.sh writes into. */
export function upstreamCacheDir(): string {
  return process.env.CDKTF_TAILNET_CACHE ?? join(homedir(), ".cache", "cdktf-tailnet");
}

/** Cache path of one tool at one version. */
export function cachedBinaryPath(tool: LabTool, version: string): string {
  const v = version.startsWith("v") ? version : `v${version}`;
  return join(upstreamCacheDir(), "bin", `${tool}-${v}`, tool);
}

function executable(path: string): boolean {
  try {
    if (!existsSync(path) || !statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the four programs: an explicit path wins, then `binDir/<tool>`, then the cache at the
 * versions the lab runs (headscale at the model's version, derper/tailscaled/tailscale at the
 * model's Tailscale release). Throws LabBinariesMissing listing every missing one.
 */
export function findLabBinaries(versions: { headscale: string; tailscale: string }, overrides: BinaryOverrides = {}): LabBinaries {
  const tools: LabTool[] = ["headscale", "derper", "tailscaled", "tailscale"];
  const found: Partial<Record<LabTool, string>> = {};
  const missing: { tool: LabTool; version: string; looked: string }[] = [];
  for (const tool of tools) {
    const version = tool === "headscale" ? versions.headscale : versions.tailscale;
    const path = overrides[tool] ?? (overrides.binDir !== undefined ? join(overrides.binDir, tool) : cachedBinaryPath(tool, version));
    if (executable(path)) found[tool] = path;
    else missing.push({ tool, version: version.startsWith("v") ? version : `v${version}`, looked: path });
  }
  if (missing.length > 0) throw new LabBinariesMissing(missing);
  return found as LabBinaries;
}
