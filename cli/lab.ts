/**
 * `cdktf-tailnet lab <spec> [--clients N] [--headscale-version V] [--json] [--keep]
 *  [--headscale P] [--derper P] [--tailscaled P] [--tailscale P] [--bin-dir D]`
 *
 * Runs the spec's whole tailnet on this Linux machine with the real programs (lab/index.ts),
 * prints progress while it runs and a table of the checks at the end (or the report as JSON).
 * Ctrl-C stops the run; every process and namespace is removed either way.
 *
 * Exit codes: 0 every check passed; 1 the spec has problems or a check failed; 2 usage or setup
 * error (not Linux/root, a program missing); 130 interrupted.
 */
import { parseArgs } from "node:util";
import { LabBinariesMissing, LabSetupError, runLab } from "../lab/index.js";
import { formatCheckLine, formatLabTable } from "../lab/report.js";
import { formatIssues, validate } from "../model/index.js";
import type { CliIo } from "./main.js";
import { loadSpecFile } from "./load-spec.js";

export const LAB_USAGE = `  cdktf-tailnet lab <spec> [--clients N] [--headscale-version V] [--json] [--keep]
                    [--headscale <path>] [--derper <path>] [--tailscaled <path>] [--tailscale <path>] [--bin-dir <dir>]
      run the whole tailnet on this machine (Linux, root): one network namespace per host, device
      and client, the real headscale/derper/tailscaled, then check it end to end; programs come from
      the paths given or ~/.cache/cdktf-tailnet/bin (scripts/build-upstream.sh builds them)`;

/** Thrown for bad command-line arguments (main.ts prints the usage). */
export class LabUsageError extends Error {}

export async function commandLab(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      clients: { type: "string", default: "2" },
      "headscale-version": { type: "string" },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      headscale: { type: "string" },
      derper: { type: "string" },
      tailscaled: { type: "string" },
      tailscale: { type: "string" },
      "bin-dir": { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new LabUsageError("lab takes exactly one spec file");
  const clients = Number(values.clients);
  if (!Number.isInteger(clients) || clients < 0) throw new LabUsageError(`--clients must be a whole number, got ${JSON.stringify(values.clients)}`);
  const specPath = positionals[0]!;
  const spec = await loadSpecFile(specPath);
  const checked = validate(spec);
  if (!checked.ok) {
    io.err(`${specPath}: ${checked.issues.length} problem${checked.issues.length === 1 ? "" : "s"}, no lab started:\n${formatIssues(checked.issues)}`);
    return 1;
  }
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
  try {
    const t0 = Date.now();
    const report = await runLab({
      spec,
      clients,
      headscaleVersion: values["headscale-version"],
      keep: values.keep,
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
    if (e instanceof LabBinariesMissing || e instanceof LabSetupError) {
      io.err(`cdktf-tailnet lab: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}
