/**
 * `cdktf-tailnet lab` on the bundled example, with the real headscale, derper, tailscaled and
 * tailscale: every host in its own network namespace behind a switch namespace, nothing routed
 * off the machine. The example has what the checks need: a meshed two-node region (hkg), a node
 * on port 8443 with manual certificates (home), an IP-only node whose self-signed certificate the
 * kit issues and pins (edge), Tailscale's public regions dropped, and a subnet router.
 *
 * Needs Linux and root (network namespaces); skips with the reason otherwise, or when Go is
 * missing (nothing could have built the programs).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { labUnsupportedReason, runLab, type LabCheck, type LabReport } from "../../lab/index.js";
import { formatLabTable } from "../../lab/report.js";
import { loadSpecFile } from "../../cli/load-spec.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

const skipReason = upstreamSkipReason ?? labUnsupportedReason();
const EXAMPLE = new URL("../../examples/home-lab/tailnet.yaml", import.meta.url).pathname;
const NEWEST = upstreamVersions.headscale[upstreamVersions.headscale.length - 1]!;

/** The process `pid` is still there and runs `program` (a pid reused by something else does not count). */
function running(pid: number, program: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === program;
  } catch {
    return false;
  }
}

function check(report: LabReport, id: string): LabCheck {
  const c = report.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}; checks: ${report.checks.map((x) => x.id).join(", ")}`);
  return c;
}

describe.skipIf(!!skipReason)(`cdktf-tailnet lab on the home-lab example ${skipReason ? `(skipped: ${skipReason})` : ""}`, () => {
  it(
    "brings the whole tailnet up, passes every check, and leaves nothing behind",
    async () => {
      const progress: string[] = [];
      const report = await runLab({
        spec: await loadSpecFile(EXAMPLE),
        clients: 2,
        binaries: {
          headscale: upstreamBinary("headscale", NEWEST),
          derper: upstreamBinary("derper", upstreamVersions.tailscale),
          tailscaled: upstreamBinary("tailscaled", upstreamVersions.tailscale),
          tailscale: upstreamBinary("tailscale", upstreamVersions.tailscale),
        },
        onProgress: (line) => progress.push(line),
      });
      console.log(`${progress.join("\n")}\n\n${formatLabTable(report)}`);

      // Every check of the issue ran and passed.
      const expected = ["registered", "netcheck", "derp:hkg", "derp:sha", "derp:home", "derp:edge", "pin", "wrong-pin", "verify", "relay-ping", "mesh:hkg"];
      expect(report.checks.map((c) => c.id).sort()).toEqual([...expected].sort());
      for (const c of report.checks) expect(c.status, `${c.id}: ${c.detail}`).toBe("pass");
      expect(report.error).toBeUndefined();
      expect(report.cleanupProblems).toEqual([]);
      expect(report.ok).toBe(true);

      // netcheck: the model's four regions, each with a latency; nothing public.
      const netcheck = check(report, "netcheck").data as { regions: Record<string, { latency: string }> };
      for (const code of ["hkg", "sha", "home", "edge"]) expect(netcheck.regions[code]?.latency, code).toMatch(/^\d/);
      expect(Object.keys(netcheck.regions).sort()).toEqual(["edge", "hkg", "home", "lab-wrong-pin", "sha"]);

      // The relayed pings went through DERP; the mesh ping through hkg, across both hkg nodes.
      expect(check(report, "relay-ping").detail).toMatch(/via DERP\(\w+\)/);
      const mesh = check(report, "mesh:hkg").data as { pongs: { via: string }[]; forwarded: { out1: number; in2: number } };
      expect(mesh.pongs.every((p) => p.via === "hkg")).toBe(true);
      expect(mesh.forwarded.out1).toBeGreaterThan(0);
      expect(mesh.forwarded.in2).toBeGreaterThan(0);

      // The pin: accepted as issued by the kit, a wrong one refused.
      expect(check(report, "wrong-pin").detail).toMatch(/cert hash does not match/);

      // The real programs ran with the rendered configuration and flags.
      const derpers = report.processes.filter((p) => p.name.startsWith("derper "));
      expect(derpers.map((p) => p.name).sort()).toEqual(["derper edge-1", "derper hkg-1", "derper hkg-2", "derper home-1", "derper sha-1"]);
      for (const d of derpers) {
        expect(d.argv).toContain("-verify-client-url=https://hs.example.com/verify");
        expect(d.argv).toContain("-verify-client-url-fail-open=false");
        expect(d.argv).toContain("-certmode=manual");
      }
      expect(derpers.find((d) => d.name === "derper home-1")!.argv).toContain("-a=:8443");
      expect(derpers.find((d) => d.name === "derper hkg-1")!.argv.some((a) => a.startsWith("-mesh-with=derp-hk2.example.com"))).toBe(true);
      const tailscaleds = report.processes.filter((p) => p.name.startsWith("tailscaled "));
      expect(tailscaleds.map((p) => p.machine).sort()).toEqual(["client-1", "client-2", "home-router", "mesh-hkg-1", "mesh-hkg-2"]);

      // Nothing left: no namespace of the run, no process of the run.
      const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
      for (const m of report.machines) expect(namespaces).not.toContain(m.namespace);
      for (const p of report.processes) expect(running(p.pid, p.argv[0]!), `${p.name} (pid ${p.pid})`).toBe(false);
      expect(report.runDir).toBeUndefined();

      // The issue's budget: the whole lab in well under 90 s on 2 cores.
      expect(report.durationMs).toBeLessThan(90_000);
    },
    180_000,
  );
});
