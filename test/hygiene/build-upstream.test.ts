/**
 * scripts/build-upstream.sh leaves no half-built folder: a build that fails removes its .build-*
 * folder on the way out, and a folder left by a build that was killed outright is removed by the
 * next run (under the cache's lock). Run on a version that does not exist, with the module proxy
 * off, so nothing is downloaded or compiled.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchDir } from "../support/scratch.js";
import { upstreamSkipReason } from "../support/upstream.js";

const script = new URL("../../scripts/build-upstream.sh", import.meta.url).pathname;

describe.skipIf(!!upstreamSkipReason)("build-upstream.sh", () => {
  it("fails without leaving a .build-* folder, and removes one a killed build left", () => {
    const dir = scratchDir("cdktf-tailnet-build-upstream-");
    const cache = join(dir, "cache");
    // A leftover of a killed build: a read-only module copy, as Go leaves them.
    const stale = join(cache, "bin", ".build-killed", "src");
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, "go.mod"), "module example.com/x\n");
    chmodSync(join(stale, "go.mod"), 0o444);
    chmodSync(stale, 0o555);
    const versions = join(dir, "versions.json");
    writeFileSync(
      versions,
      JSON.stringify({
        headscale: ["v0.0.0-does-not-exist"],
        tailscale: "v0.0.0-does-not-exist",
        shfmt: "v0.0.0-does-not-exist",
        terraformProviderDocker: "v0.0.0-does-not-exist",
      }),
    );
    const r = spawnSync("bash", [script], {
      encoding: "utf8",
      env: {
        ...process.env,
        CDKTF_TAILNET_CACHE: cache,
        CDKTF_TAILNET_VERSIONS: versions,
        GOPROXY: "off",
        GOMODCACHE: join(dir, "mod"),
        GOCACHE: join(dir, "gocache"),
      },
    });
    expect(r.status, r.stderr).not.toBe(0);
    expect(r.stdout).toContain("build-upstream: building headscale v0.0.0-does-not-exist");
    expect(readdirSync(join(cache, "bin"))).toEqual([".lock"]);
  });
});
