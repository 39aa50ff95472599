/**
 * The guard around every test run (test/support/global-setup.ts): what it counts as left behind,
 * how it names it (private keys above all), and that it removes the run's own leftovers.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { leftovers, RUN_TEMP_PREFIX, takeSnapshot } from "../support/temp-guard.js";
import { scratchDir } from "../support/scratch.js";

describe("the temp-dir guard", () => {
  it("runs this very test in a private temp dir of the run", () => {
    expect(tmpdir()).toBe(process.env.CDKTF_TAILNET_RUN_TEMP);
    expect(tmpdir().split("/").at(-1)!.startsWith(RUN_TEMP_PREFIX)).toBe(true);
  });

  it("fails on anything left in the run's temp dir, naming private keys, and removes it; reports new kit-named entries elsewhere as suspects", () => {
    const system = scratchDir("guard-system-");
    const run = join(system, `${RUN_TEMP_PREFIX}x`);
    mkdirSync(run);
    writeFileSync(join(system, "unrelated"), "");
    const before = takeSnapshot(system);
    mkdirSync(join(run, "cdktf-vm-host-a", "secrets"), { recursive: true });
    writeFileSync(join(run, "cdktf-vm-host-a", "secrets", "derp.key"), "-----BEGIN PRIVATE KEY-----\nMC4\n-----END PRIVATE KEY-----\n");
    writeFileSync(join(run, "cdktf-vm-host-a", "headscale"), "binary");
    writeFileSync(join(run, "stray.txt"), "");
    mkdirSync(join(system, "cdktf.outdir.abc"));
    mkdirSync(join(system, "other-tool-1"));
    const found = leftovers(run, system, before);
    expect(found.failures).toEqual([
      "in the run's private temp dir (removed now):",
      `  ${run}/cdktf-vm-host-a/ (2 files), PRIVATE KEYS: secrets/derp.key`,
      `  ${run}/stray.txt`,
    ]);
    expect(found.suspects).toEqual([`in ${system}, named like the kit's:`, `  ${system}/cdktf.outdir.abc/ (0 files)`]);
    expect(readdirSync(system).sort()).toEqual(["cdktf.outdir.abc", "other-tool-1", "unrelated"]);
  });

  it("finds nothing when nothing was left", () => {
    const system = scratchDir("guard-system-");
    const run = join(system, `${RUN_TEMP_PREFIX}y`);
    mkdirSync(run);
    expect(leftovers(run, system, takeSnapshot(system))).toEqual({ failures: [], suspects: [] });
  });
});
