/**
 * `cdktf-tailnet lab <spec> [--clients N] [--headscale-version V] [--faults [--fault-derp kill|link-down]] [--wait S] [--json] [--keep]
 *  [--headscale P] [--derper P] [--tailscaled P] [--tailscale P] [--bin-dir D]`
 * `cdktf-tailnet lab down [--json]`
 *
 * Runs the spec's whole tailnet on this Linux machine with the real programs (lab/index.ts),
 * prints progress while it runs and a table of the checks at the end (or the report as JSON).
 * Ctrl-C (or SIGTERM, SIGHUP) stops the run; every process and namespace is removed either way.
 * One lab runs at a time; `lab down` stops a running lab and removes what a killed one left.
 *
 * Exit codes: 0 every check passed (down: nothing left); 1 the spec has problems or a check
 * failed (down: something could not be removed); 2 usage or setup error (not Linux/root, a
 * program missing, another lab running); 130 interrupted.
 */
import { LabBinariesMissing, LabBusy, labDown, LabSetupError, LabSpecInvalid, labUnsupportedReason, runLab } from "../lab/index.js";
import { formatCheckLine, formatLabTable } from "../lab/report.js";
import { formatIssues } from "../model/index.js";
import { expectPositionals, parseCommand, UsageError, type CommandSpec, type Options } from "./args.js";
import type { CliIo } from "./io.js";
import { loadSpecFile } from "./load-spec.js";

export const LAB = {
  name: "lab",
  usage: `usage: cdktf-tailnet lab <spec> [--clients N] [--headscale-version V] [--faults [--fault-derp kill|link-down]
                         [--upgrade-to V [--upgrade-headscale <path>]]] [--wait S] [--json] [--keep] [--headscale <path>] [--derper <path>]
                         [--tailscaled <path>] [--tailscale <path>] [--bin-dir <dir>]
  run the whole tailnet on this machine (Linux, root): one network namespace per host, device and
  client, the real headscale/derper/tailscaled, then check it end to end
  options:
    --clients N           extra clients to join (default: 2)
    --headscale-version V the headscale release to run (default: the spec's)
    --faults              then take a DERP node down and stop/restart headscale, and measure the recovery;
                          then the disaster drills: a damaged backup refused, the database and noise
                          key deleted and restored from the latest backup, and (with --upgrade-to) an
                          upgrade rolled back with its backup; each reports its recovery time
    --fault-derp <how>    how the DERP node goes down: kill (default) or link-down
    --upgrade-to V        the next minor headscale release after the lab's, for the upgrade drill
    --upgrade-headscale <path>   its program (default: from --bin-dir or the cache)
    --wait S              wait up to S seconds for a running lab instead of refusing (one runs at a time)
    --json                print the report as JSON (progress goes to stderr)
    --keep                keep the run directory (logs, state) after the run
    --headscale, --derper, --tailscaled, --tailscale <path>   the programs to run
    --bin-dir <dir>       where to find them (default: ~/.cache/cdktf-tailnet/bin, which
                          scripts/build-upstream.sh builds)
  <spec> is a tailnet.yaml (or .yml, .json), or a .ts/.js module whose default export is the spec.
  \`cdktf-tailnet lab down --help\` for stopping a lab.
exit codes: 0 every check passed, 1 the spec has problems or a check failed, 2 usage or setup error, 130 interrupted`,
  options: {
    clients: { type: "string" },
    "headscale-version": { type: "string" },
    json: { type: "boolean" },
    keep: { type: "boolean" },
    faults: { type: "boolean" },
    "fault-derp": { type: "string" },
    "upgrade-to": { type: "string" },
    "upgrade-headscale": { type: "string" },
    wait: { type: "string" },
    headscale: { type: "string" },
    derper: { type: "string" },
    tailscaled: { type: "string" },
    tailscale: { type: "string" },
    "bin-dir": { type: "string" },
  },
} as const satisfies CommandSpec<Options>;

export const LAB_DOWN = {
  name: "lab down",
  usage: `usage: cdktf-tailnet lab down [--json]
  stop a running lab and remove every namespace, process and run directory a lab left
  options:
    --json                print the report as JSON
exit codes: 0 nothing left, 1 something could not be removed, 2 usage or setup error`,
  options: { json: { type: "boolean" } },
} as const satisfies CommandSpec<Options>;

async function commandLabDown(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommand(LAB_DOWN, args);
  expectPositionals(LAB_DOWN, positionals, []);
  const unsupported = labUnsupportedReason();
  if (unsupported) {
    io.err(`cdktf-tailnet lab down: ${unsupported}`);
    return 2;
  }
  const say = values.json ? io.err : io.out;
  const report = await labDown({ onProgress: say });
  if (values.json) io.out(JSON.stringify(report, null, 2));
  else if (report.runs.length === 0) io.out("lab down: nothing to do: no lab is running and none left anything behind");
  else {
    const n = (xs: readonly unknown[], one: string, many: string) => `${xs.length} ${xs.length === 1 ? one : many}`;
    for (const r of report.runs) {
      io.out(
        `lab down: run ${r.runId}${r.tailnet ? ` (${r.tailnet})` : ""}: ${r.stoppedOwner ? `lab process ${r.stoppedOwner.pid} stopped${r.stoppedOwner.cleanedUp ? " and cleaned up after itself" : ""}; ` : ""}` +
          `${n(r.killed, "process", "processes")} killed, ${n(r.namespaces, "namespace", "namespaces")} deleted, ${n(r.runDirs, "run directory", "run directories")} removed`,
      );
    }
  }
  for (const p of report.problems) io.err(`lab down: could not remove: ${p}`);
  return report.problems.length === 0 ? 0 : 1;
}

export async function commandLab(args: string[], io: CliIo): Promise<number> {
  if (args[0] === "down") return commandLabDown(args.slice(1), io);
  const { positionals, values } = parseCommand(LAB, args);
  expectPositionals(LAB, positionals, ["spec file"]);
  const mistake = (message: string) => new UsageError(message, LAB.usage, LAB.name);
  const clients = Number(values.clients ?? "2");
  if (!Number.isInteger(clients) || clients < 0) throw mistake(`--clients must be a whole number, got ${JSON.stringify(values.clients)}`);
  const derpFailure = values["fault-derp"] ?? "kill";
  if (derpFailure !== "kill" && derpFailure !== "link-down") throw mistake(`--fault-derp must be kill or link-down, got ${JSON.stringify(derpFailure)}`);
  const wait = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(wait) || wait < 0) throw mistake(`--wait must be a number of seconds, got ${JSON.stringify(values.wait)}`);
  const specPath = positionals[0]!;
  // runLab validates it (once: the model it resolves is the one the whole run uses).
  const spec = await loadSpecFile(specPath);
  // Progress goes where the table goes, unless stdout is for JSON.
  const say = values.json ? io.err : io.out;
  const controller = new AbortController();
  const interrupt = () => {
    if (controller.signal.aborted) return;
    io.err("interrupted: stopping every lab process and deleting the namespaces...");
    controller.abort();
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  process.on("SIGHUP", interrupt);
  try {
    const t0 = Date.now();
    const report = await runLab({
      spec,
      clients,
      headscaleVersion: values["headscale-version"],
      keep: values.keep === true,
      faults: values.faults === true ? { derpFailure } : false,
      ...(values["upgrade-to"] !== undefined && {
        upgradeTo: { version: values["upgrade-to"], ...(values["upgrade-headscale"] !== undefined && { headscale: values["upgrade-headscale"] }) },
      }),
      waitForOtherLab: wait * 1000,
      binaries: { headscale: values.headscale, derper: values.derper, tailscaled: values.tailscaled, tailscale: values.tailscale, binDir: values["bin-dir"] },
      signal: controller.signal,
      onProgress: (line) => say(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`),
      onCheck: (check) => say(formatCheckLine(check)),
    });
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else io.out(`\n${formatLabTable(report)}`);
    if (report.error === "interrupted") return 130;
    return report.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof LabSpecInvalid) {
      io.err(`${specPath}: ${e.issues.length} problem${e.issues.length === 1 ? "" : "s"}, no lab started:\n${formatIssues(e.issues)}`);
      return 1;
    }
    if (e instanceof LabBinariesMissing || e instanceof LabSetupError || e instanceof LabBusy) {
      io.err(`cdktf-tailnet lab: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    process.off("SIGHUP", interrupt);
  }
}
