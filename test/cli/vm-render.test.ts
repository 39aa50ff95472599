/**
 * `cdktf-tailnet render` writes, for every VM host, `hosts/<host>/systemd/*.service`,
 * `hosts/<host>/nftables.conf`, `hosts/<host>/firewall.json` and `hosts/<host>/cloud-init.yaml`,
 * byte for byte what the renderers produce.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "../../cli/main.js";

import { renderTailnet } from "../../render/index.js";
import { vmSpec } from "../support/vm-specs.js";
import { prepareTailnet } from "../../secrets/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-cli-vm-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("cdktf-tailnet render with VM hosts", () => {
  it("writes each VM host's units, ruleset, firewall data and user-data", async () => {
    const specPath = join(dir, "tailnet.yaml");
    writeFileSync(specPath, stringify(vmSpec()));
    const out = join(dir, "out");
    const err: string[] = [];
    const code = await runCli(["render", specPath, "--out", out, "--secrets-dir", join(dir, "secrets")], { out: () => undefined, err: (t) => err.push(t) });
    expect(code, err.join("\n")).toBe(0);
    const expected = renderTailnet(prepareTailnet(vmSpec())).filter((f) => f.path.startsWith("hosts/"));
    expect(expected.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "hosts/hs/systemd/headscale.service",
        "hosts/hs/nftables.conf",
        "hosts/hs/firewall.json",
        "hosts/hs/cloud-init.yaml",
        "hosts/fra-1/systemd/derper.service",
      ]),
    );
    for (const f of expected) {
      expect(readFileSync(join(out, f.path), "utf8"), f.path).toBe(f.content);
      expect(statSync(join(out, f.path)).mode & 0o777).toBe(f.mode);
    }
    expect(expected.find((f) => f.path === "hosts/hs/backup/headscale-backup.sh")!.mode).toBe(0o755);
  });
});
