/** The lab's output: a progress line per check while it runs, and a table at the end. */
import type { LabCheck, LabReport } from "./index.js";

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
  if (report.startupMs !== undefined) rows.push(`start-up: ${(report.startupMs / 1000).toFixed(1)} s (${report.phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)} s`).join(", ")})`);
  if (report.breaks.length > 0) rows.push(`broken on purpose: ${report.breaks.join(", ")}`);
  if (report.error) rows.push(`error: ${report.error}`);
  for (const p of report.cleanupProblems) rows.push(`cleanup: ${p}`);
  if (report.cleanupProblems.length > 0) rows.push("what could not be removed stays recorded: `cdktf-tailnet lab down` removes it");
  if (report.runDir) rows.push(`run directory kept: ${report.runDir} (logs in logs/)`);
  else if (!report.ok && report.error !== "interrupted") rows.push("nothing of the run was kept: rerun with --keep to keep its directory (logs, configs, certificates)");
  return rows.join("\n");
}
