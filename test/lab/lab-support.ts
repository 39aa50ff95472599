/**
 * What the lab's integration tests share: the real programs, the skip reason, and the proof that
 * a run left nothing behind (namespaces, processes, run directory, record).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { labStateDir, labUnsupportedReason, type LabCheck, type LabReport } from "../../lab/index.js";
import type { BinaryOverrides } from "../../lab/binaries.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

export const labSkipReason = upstreamSkipReason ?? labUnsupportedReason();

/** Lab tests in other files (and other test runs on this machine) queue for the machine's one lab. */
export const WAIT_FOR_OTHER_LAB = 240_000;

/**
 * The headscale the lab tests run: the newest one built here (model/upstream-versions.json), not
 * the kit's default, which may be a release the Go module proxy here does not serve (0.29.8: its
 * rendered files equal 0.29.3's but for the version, test/render/release-equivalence.test.ts).
 */
export const LAB_HEADSCALE = upstreamVersions.headscale[upstreamVersions.headscale.length - 1]!.replace(/^v/, "");

/** The programs the lab runs, from the cache the build script fills. */
export function labBinaries(headscaleVersion = LAB_HEADSCALE): BinaryOverrides {
  return {
    headscale: upstreamBinary("headscale", headscaleVersion),
    derper: upstreamBinary("derper", upstreamVersions.tailscale),
    tailscaled: upstreamBinary("tailscaled", upstreamVersions.tailscale),
    tailscale: upstreamBinary("tailscale", upstreamVersions.tailscale),
  };
}

/** What a lab test gives runLab: the headscale release to run (the spec's is replaced) and the built programs. */
export function labPrograms(headscaleVersion = LAB_HEADSCALE): { headscaleVersion: string; binaries: BinaryOverrides } {
  return { headscaleVersion, binaries: labBinaries(headscaleVersion) };
}

/** The process `pid` is still there and runs `program` (a pid reused by something else does not count). */
export function running(pid: number, program: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === program;
  } catch {
    return false;
  }
}

export function check(report: LabReport, id: string): LabCheck {
  const c = report.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}; checks: ${report.checks.map((x) => x.id).join(", ")}`);
  return c;
}

/** Namespaces of a run still on the machine. */
export function namespacesOf(runId: string): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(`tl${runId}-`));
}

/** The pids of every process inside one of the run's namespaces (`ip netns pids`), sorted. */
export function pidsInNamespaces(runId: string): number[] {
  return namespacesOf(runId)
    .flatMap((ns) => execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n"))
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number)
    .sort((a, b) => a - b);
}

/** Nothing of the run is left: no namespace, no process, no run directory, no record. */
export function expectNothingLeft(report: LabReport): void {
  expect(report.cleanupProblems).toEqual([]);
  expect(namespacesOf(report.runId)).toEqual([]);
  for (const p of report.processes) expect(running(p.pid, p.argv[0]!), `${p.name} (pid ${p.pid})`).toBe(false);
  expect(report.runDir).toBeUndefined();
  expect(existsSync(join(labStateDir(), `run-${report.runId}.json`))).toBe(false);
}

/** Each check's status, for one assertion that shows them all when it fails. */
export function statuses(report: LabReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}
