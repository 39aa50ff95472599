/**
 * What a lab run reports: the report itself (every check, change, machine and process, the
 * figures of the start-up), and the lab's output: a progress line per check while it runs, and
 * a table at the end.
 */
import type { LabCheck } from "./checks.js";
import type { LabBreak, LabChange } from "./lab-changes.js";
import { LISTENER_PORT } from "./network.js";
import { joinsWithKey, type LabPlan } from "./plan.js";

/** A machine of the lab, for the report. */
export interface LabMachineReport {
  readonly name: string;
  readonly namespace: string;
  /** Its IPv4 address (its IPv6 one for a client with IPv6 only). */
  readonly address: string;
  /** Its IPv6 address, when it has one on the lab network. */
  readonly address6?: string;
  readonly runs: readonly string[];
}

/** What a lab run found. */
export interface LabReport {
  /** Every check passed and the lab came up and went away cleanly. */
  readonly ok: boolean;
  /** The run's id: its namespaces are `tl<id>-<machine>`. */
  readonly runId: string;
  readonly tailnet: string;
  readonly headscaleVersion: string;
  readonly tailscaleVersion: string;
  readonly changes: readonly LabChange[];
  readonly machines: readonly LabMachineReport[];
  readonly checks: readonly LabCheck[];
  /** Every program the lab started: where, its pid, and its exact command line. */
  readonly processes: readonly { readonly name: string; readonly machine: string; readonly pid: number; readonly argv: readonly string[] }[];
  /** Why the lab could not come up, or stopped early. */
  readonly error: string | undefined;
  /** Problems during cleanup (a process that did not stop, a namespace that could not be deleted). */
  readonly cleanupProblems: readonly string[];
  /** The run directory, when kept (`keep`). */
  readonly runDir: string | undefined;
  readonly durationMs: number;
  /** From the start until every tailscaled joined (undefined when the lab did not come up). */
  readonly startupMs: number | undefined;
  /** How long each step of the start took, in order. */
  readonly phases: readonly { readonly name: string; readonly ms: number }[];
  /** The breaks applied (tests of the checks). */
  readonly breaks: readonly LabBreak[];
}

/** Every namespace of a run's plan, with its addresses and what runs in it. */
export function labMachines(plan: LabPlan, runId: string): LabMachineReport[] {
  return [
    ...plan.machines.map((m) => ({
      name: m.name,
      namespace: `tl${runId}-${m.name}`,
      address: m.ipv6Only ? m.address6 : m.address,
      address6: m.address6,
      runs: [
        ...(m.headscale ? ["headscale"] : []),
        ...m.derpNodes.map((n) => `derper ${n}`),
        ...(joinsWithKey(m) ? ["tailscaled"] : []),
        ...(m.kind === "oidc-provider" ? ["headscale mockoidc"] : []),
        ...(m.kind === "oidc-login" ? ["tailscaled (logs in through OIDC)"] : []),
      ],
    })),
    ...plan.lans.map((l) => ({
      name: l.name,
      namespace: `tl${runId}-${l.name}`,
      address: l.listenerAddress,
      runs: [`listener :${LISTENER_PORT} (LAN ${l.route} behind ${l.router})`],
    })),
    ...plan.upstreams.map((u) => ({
      name: u.name,
      namespace: `tl${runId}-${u.name}`,
      address: u.listenerAddress,
      runs: [`listener :${LISTENER_PORT} (upstream of exit node ${u.exitNode})`],
    })),
  ];
}

const MARK: Record<LabCheck["status"], string> = { pass: "PASS", fail: "FAIL", skip: "skip" };

/** One progress line for a finished check. */
export function formatCheckLine(c: LabCheck): string {
  return `  ${MARK[c.status]}  ${c.title} (${(c.durationMs / 1000).toFixed(1)} s)${c.status === "pass" ? "" : `: ${c.detail}`}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.length ? lines : [""];
}

/** The final table: one row per check, its detail wrapped under it. */
export function formatLabTable(report: LabReport): string {
  const idWidth = Math.max(5, ...report.checks.map((c) => c.id.length));
  const rows = [`${"check".padEnd(idWidth)}  result  time    detail`, `${"-".repeat(idWidth)}  ------  ------  ${"-".repeat(60)}`];
  for (const c of report.checks) {
    const detail = wrap(c.detail, 100);
    rows.push(`${c.id.padEnd(idWidth)}  ${MARK[c.status].padEnd(6)}  ${`${(c.durationMs / 1000).toFixed(1)}s`.padEnd(6)}  ${detail[0]}`);
    for (const more of detail.slice(1)) rows.push(`${" ".repeat(idWidth + 18)}${more}`);
  }
  const passed = report.checks.filter((c) => c.status === "pass").length;
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  rows.push("");
  rows.push(
    `${report.ok ? "lab passed" : report.error === "interrupted" ? "lab interrupted" : "lab FAILED"}: ${passed} passed, ${failed} failed, ${skipped} skipped in ${(report.durationMs / 1000).toFixed(1)} s ` +
      `(tailnet ${report.tailnet}, headscale ${report.headscaleVersion}, Tailscale ${report.tailscaleVersion}, ${report.machines.length} machines)`,
  );
  if (report.startupMs !== undefined)
    rows.push(`start-up: ${(report.startupMs / 1000).toFixed(1)} s (${report.phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)} s`).join(", ")})`);
  if (report.breaks.length > 0) rows.push(`broken on purpose: ${report.breaks.join(", ")}`);
  if (report.error) rows.push(`error: ${report.error}`);
  for (const p of report.cleanupProblems) rows.push(`cleanup: ${p}`);
  if (report.cleanupProblems.length > 0) rows.push("what could not be removed stays recorded: `cdktf-tailnet lab down` removes it");
  if (report.runDir) rows.push(`run directory kept: ${report.runDir} (logs in logs/)`);
  else if (!report.ok && report.error !== "interrupted")
    rows.push("nothing of the run was kept: rerun with --keep to keep its directory (logs, configs, certificates)");
  return rows.join("\n");
}
