/**
 * Known advisories reach the user: a spec pinned to an affected release validates with a warning
 * naming the advisory and the release that fixes it; the default release has none; the client
 * advice follows the table.
 */
import { describe, expect, it } from "vitest";
import {
  ADVISORIES,
  advisoriesFor,
  checkAdvisories,
  clientAdvice,
  DEFAULT_HEADSCALE_VERSION,
  findHeadscaleVersion,
  HEADSCALE_RELEASES,
  IssueList,
  recommendedClientVersion,
  safeHeadscaleVersion,
  SUPPORTED_HEADSCALE_VERSIONS,
  validate,
  type Advisory,
} from "../../model/index.js";
import { minimalSpec } from "../support/specs.js";

const SECURITY_0_29_7 =
  "headscale 0.29.7 security release, headscale: denial of service against the coordination server (findings of Anthropic's oss-scanner and the Tailworm report, none critical); fixed in 0.29.7 (https://raw.githubusercontent.com/juanfont/headscale/v0.29.8/CHANGELOG.md (0.29.7; first fix: https://github.com/juanfont/headscale/pull/3624))";
const COMPAT_3724 =
  "headscale#3724, a Tailscale 1.106 or newer client cannot connect to older clients: headscale gives every peer the capability version of the node receiving the map, and 1.106 chooses per-peer features (hybrid WireGuard handshakes) by it; fixed in 0.29.8 (https://github.com/juanfont/headscale/releases/tag/v0.29.8 (https://github.com/juanfont/headscale/pull/3724))";

/** The advisory warnings of a spec pinned to `version` (the model's other warnings left out). */
function pinned(version?: string) {
  const spec = minimalSpec();
  if (version) spec.headscale.version = version;
  const result = validate(spec);
  return { ok: result.ok, warnings: result.warnings.filter((w) => w.path === "headscale.version" || w.path === "derp.derper.version") };
}

describe("headscale releases and advisories", () => {
  it("knows 0.29.4 to 0.29.8, defaults to 0.29.8, and 0.29.8 has no known advisory", () => {
    expect(SUPPORTED_HEADSCALE_VERSIONS.filter((v) => v.startsWith("0.29."))).toEqual([
      "0.29.0",
      "0.29.1",
      "0.29.2",
      "0.29.3",
      "0.29.4",
      "0.29.5",
      "0.29.6",
      "0.29.7",
      "0.29.8",
    ]);
    expect(DEFAULT_HEADSCALE_VERSION).toBe("0.29.8");
    expect(advisoriesFor("headscale", DEFAULT_HEADSCALE_VERSION)).toEqual([]);
    expect(safeHeadscaleVersion()).toBe(DEFAULT_HEADSCALE_VERSION);
    expect(findHeadscaleVersion("v0.29.8")?.minor.minor).toBe("0.29");
  });

  it("says plainly where a release's contents are not known", () => {
    const notes = Object.fromEntries(HEADSCALE_RELEASES.map((r) => [r.version, r.notes]));
    expect(notes["0.29.5"]).toMatch(/^contents unknown/);
    expect(notes["0.29.6"]).toMatch(/^contents unknown/);
    expect(notes["0.29.7"]).toMatch(/not readable, so a config change in it is not ruled out/);
    expect(HEADSCALE_RELEASES.map((r) => r.version)).toEqual(SUPPORTED_HEADSCALE_VERSIONS);
  });

  it("every advisory names its source and a fixed release", () => {
    for (const a of ADVISORIES) {
      expect(a.source, a.id).toMatch(/^https:\/\//);
      expect(a.fixedIn, a.id).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it("a spec pinned to 0.29.3 validates, with a warning naming the 0.29.7 advisory and the fixed release", () => {
    const result = pinned("0.29.3");
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([
      {
        path: "headscale.version",
        message: `headscale 0.29.3 has a known security advisory: ${SECURITY_0_29_7}`,
        fix: 'set headscale.version to 0.29.8 (with upgradeFrom: "0.29.3" while it deploys)',
        subject: { kind: "headscale" },
      },
      {
        path: "headscale.version",
        subject: { kind: "headscale" },
        message: `headscale 0.29.3 has a known compatibility advisory: ${COMPAT_3724}`,
        fix: 'set headscale.version to 0.29.8 (with upgradeFrom: "0.29.3" while it deploys); until then, keep every node below Tailscale 1.106',
      },
    ]);
  });

  it("0.29.7 warns only about #3724; an older minor is told the upgrade path", () => {
    expect(pinned("0.29.7").warnings.map((w) => w.message)).toEqual([`headscale 0.29.7 has a known compatibility advisory: ${COMPAT_3724}`]);
    expect(pinned("0.27.1").warnings[0]!.fix).toBe(
      "upgrade one minor version at a time, 0.27.1 -> 0.28.0 -> 0.29.8, with headscale.upgradeFrom set to the deployed release at each step",
    );
    expect(pinned("0.29.8").warnings).toEqual([]);
    expect(pinned().warnings).toEqual([]);
  });

  it("warns about a derper release only for advisories that name derper", () => {
    const spec = minimalSpec();
    spec.derp!.derper = { version: "1.102.5" };
    expect(validate(spec).warnings.filter((w) => w.path.startsWith("derp.derper"))).toEqual([]);
    const table: Advisory[] = [
      {
        id: "TS-TEST-1",
        kind: "security",
        programs: ["derper"],
        affects: "derper: a test finding",
        fixedIn: "1.104.4",
        affectedFrom: "1.102.4",
        source: "https://example.com/ts-test-1",
      },
    ];
    const warnings = new IssueList();
    checkAdvisories({ spec, version: undefined, warnings }, table);
    expect(warnings.issues).toEqual([
      {
        path: "derp.derper.version",
        message:
          "derper from Tailscale 1.102.5 has a known security advisory: TS-TEST-1, derper: a test finding; fixed in 1.104.4 (https://example.com/ts-test-1)",
        fix: "set derp.derper.version to 1.104.4 or later",
      },
    ]);
    expect(advisoriesFor("derper", "1.102.3", table)).toEqual([]); // before affectedFrom
    expect(advisoriesFor("derper", "1.104.4", table)).toEqual([]); // fixed
  });

  it("advises clients from the table: the minimum headscale accepts, 1.104.4 for TS-2026-014, and what 0.29.8 means for 1.106", () => {
    expect(recommendedClientVersion()).toBe("1.104.4");
    expect(clientAdvice(findHeadscaleVersion("0.29.8")!)).toEqual([
      "headscale 0.29.8 accepts Tailscale clients 1.80.0 or newer; run 1.104.4 or newer on every node (TS-2026-014: tailscaled: Tailscale SSH forwarding, SSH session handling and Serve)",
      "a node that cannot upgrade yet: set TS_SSH_DISABLE_FORWARDING=1 in tailscaled's environment and restart it: SSH agent and port forwarding are then off for every Tailscale SSH session on that node (TS-2026-014)",
      "headscale 0.29.8 includes headscale#3724: Tailscale 1.106 and newer clients connect to older clients",
    ]);
    expect(clientAdvice(findHeadscaleVersion("0.28.0")!)[0]).toMatch(/^headscale 0\.28\.0 accepts Tailscale clients 1\.74\.0 or newer; run 1\.104\.4 or newer/);
    expect(clientAdvice(findHeadscaleVersion("0.29.3")!)[2]).toBe(
      "headscale 0.29.3 predates headscale#3724: a Tailscale 1.106 or newer client cannot connect to older clients: headscale gives every peer the capability version of the node receiving the map, and 1.106 chooses per-peer features (hybrid WireGuard handshakes) by it; move headscale to 0.29.8 or later, or keep every node below Tailscale 1.106",
    );
  });
});
