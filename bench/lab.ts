/**
 * Lab benchmarks (`npm run bench`; the lab needs Linux and root): with the real headscale, derper
 * and tailscaled in network namespaces,
 * - the bundled example: start-up (from the call until every tailscaled joined) and the round
 *   trip of pings between two clients relayed through DERP (`tailscale ping`, 20 samples);
 * - start-up of a small tailnet (one region of one DERP node) with 10 and with 50 plain clients;
 * - the disaster drills of `lab --faults` on headscale 0.28 (two meshed nodes, two clients): the
 *   time until every node is online again after a restore (database and noise key deleted), after
 *   an upgrade to the newest release, and after its rollback with the pre-upgrade backup.
 * Every run also passes its checks. Skipped, with a line saying why, when the machine cannot run a
 * lab or the programs are not built (`bash scripts/build-upstream.sh`). headscale runs at the
 * newest release the build script builds (model/upstream-versions.json), which may be older than
 * the kit's default (0.29.8 is not served by the module proxy where the benchmarks run).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSpecFile } from "../cli/load-spec.js";
import { LabBinariesMissing, LabBusy, labUnsupportedReason, runLab, type LabReport } from "../lab/index.js";
import { smallLabSpec } from "../lab/specs.js";
import { packageRoot } from "../fsx/package-root.js";

const PING_SAMPLES = 20;

/** The newest headscale scripts/build-upstream.sh builds. */
const HEADSCALE = (JSON.parse(readFileSync(join(packageRoot(), "model", "upstream-versions.json"), "utf8")) as { headscale: string[] }).headscale
  .at(-1)!
  .replace(/^v/, "");

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function summary(name: string, report: LabReport): string {
  const passed = report.checks.filter((c) => c.status === "pass").length;
  const failed = report.checks.filter((c) => c.status === "fail").map((c) => c.id);
  return (
    `${name.padEnd(30)} ${String(report.machines.length).padStart(8)}  ${(report.startupMs === undefined ? "-" : s(report.startupMs)).padStart(8)}  ${s(report.durationMs).padStart(7)}  ` +
    `${failed.length ? `FAILED: ${failed.join(", ")}` : `${passed} checks passed`}${report.error ? `; error: ${report.error}` : ""}`
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  console.log("\nlab: the real headscale, derper and tailscaled in network namespaces");
  const unsupported = labUnsupportedReason();
  if (unsupported) {
    console.log(`lab: skipped: ${unsupported} (run \`sudo npm run bench\` on Linux)`);
    return;
  }
  const run = (spec: unknown, clients: number, pingSamples?: number) =>
    runLab({ spec, clients, headscaleVersion: HEADSCALE, waitForOtherLab: 300_000, ...(pingSamples !== undefined && { pingSamples }) });
  const rows: string[] = [];
  let example: LabReport;
  try {
    example = await run(await loadSpecFile(join(packageRoot(), "examples", "home-lab", "tailnet.yaml")), 2, PING_SAMPLES);
  } catch (e) {
    if (e instanceof LabBinariesMissing) {
      console.log(`lab: skipped: ${e.message.split("\n")[0]} (build them with \`bash scripts/build-upstream.sh\`)`);
      return;
    }
    if (e instanceof LabBusy) {
      console.log(`lab: skipped: ${e.message.split("\n")[0]}`);
      return;
    }
    throw e;
  }
  rows.push(summary("home-lab example, 2 clients", example));
  const ten = await run(smallLabSpec(), 10);
  rows.push(summary("one region, 10 clients", ten));
  const fifty = await run(smallLabSpec(), 50);
  rows.push(summary("one region, 50 clients", fifty));
  const drills = await runLab({
    spec: smallLabSpec({ nodes: 2 }),
    clients: 2,
    headscaleVersion: "0.28.0",
    faults: true,
    upgradeTo: { version: HEADSCALE },
    waitForOtherLab: 300_000,
  });
  rows.push(summary("faults and drills (0.28.0)", drills));

  console.log(`${"lab".padEnd(30)} machines  start-up    total  checks`);
  for (const r of rows) console.log(r);
  for (const [name, report] of [
    ["example", example],
    ["10 clients", ten],
    ["50 clients", fifty],
  ] as const) {
    console.log(`  ${name} start-up: ${report.phases.map((p) => `${p.name} ${s(p.ms)}`).join(", ")}`);
  }
  const drill = (id: string) => drills.checks.find((c) => c.id === id);
  const restore = drill("drill:restore")?.data as { recoveryMs: number; downtimeMs: number; lost: { nodes: string[]; users: string[] } } | undefined;
  const rollback = drill("drill:upgrade-rollback")?.data as { upgradeMs: number; rollbackMs: number } | undefined;
  console.log(
    restore
      ? `drill restore (database and noise key deleted while the tailnet runs): headscale down ${s(restore.downtimeMs)}, every node online again ${s(restore.recoveryMs)} after the restore began; lost: ${restore.lost.nodes.length} node(s), users ${restore.lost.users.join(", ") || "none"}`
      : `drill restore: ${drill("drill:restore")?.detail ?? "did not run"}`,
  );
  console.log(
    rollback
      ? `drill upgrade 0.28.0 -> ${HEADSCALE}: every node online ${s(rollback.upgradeMs)} after headscale stopped; rollback to 0.28.0 with the pre-upgrade backup: ${s(rollback.rollbackMs)}`
      : `drill upgrade-rollback: ${drill("drill:upgrade-rollback")?.detail ?? "did not run"}`,
  );
  console.log(`drill corrupt backup: ${drill("drill:corrupt-backup")?.status ?? "did not run"}: ${drill("drill:corrupt-backup")?.detail ?? ""}`);
  const ping = example.checks.find((c) => c.id === "relay-ping");
  const rtt = ((ping?.data as { rttMs?: number[] } | undefined)?.rttMs ?? []).slice().sort((a, b) => a - b);
  if (rtt.length === 0) {
    console.log(`relayed ping: no samples (${ping?.detail ?? "no relay-ping check"})`);
  } else {
    const via = /via DERP\((\w+)\)/.exec(ping!.detail)?.[1] ?? "?";
    console.log(
      `relayed ping round trip, client-1 -> client-2 through DERP(${via}), ${rtt.length} samples (LocalAPI disco pings, what tailscale ping sends): ` +
        `median ${percentile(rtt, 50).toFixed(1)} ms, p95 ${percentile(rtt, 95).toFixed(1)} ms, min ${rtt[0]!.toFixed(1)} ms, max ${rtt[rtt.length - 1]!.toFixed(1)} ms`,
    );
  }
}

await main();
