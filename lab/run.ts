/**
 * A lab run, step by step (index.ts tells what the lab is):
 * 1. setup.ts: the spec validated and resolved once, the options and the machine checked, the
 *    machines planned; nothing is touched yet;
 * 2. the machine's lock (state.ts: one lab at a time, every namespace and process recorded as it
 *    is made) and a run directory;
 * 3. prepare.ts: certificates, the one lab change (lab-changes.ts), the files;
 * 4. network.ts: namespaces, LANs, upstreams, listeners;
 * 5. bring-up.ts: headscale, derpers, users and keys, tailscaleds joined;
 * 6. run-checks.ts: the checks, then (faults.ts) the faults and the drills when asked;
 * 7. teardown.ts: every process stopped and every namespace deleted, also on failure or
 *    interruption; report.ts: the report.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bringUp } from "./bring-up.js";
import type { DerpFailure, LabCheck } from "./checks.js";
import { labDrills, type LabUpgradeTo } from "./faults.js";
import type { LabChange } from "./lab-changes.js";
import { createLabNetwork } from "./network.js";
import { prepareLab, runDirs } from "./prepare.js";
import { labMachines, type LabReport } from "./report.js";
import { runChecks } from "./run-checks.js";
import { LabAborted, labEnv, LabRuntime } from "./runtime.js";
import { LabSetupError, setUpLab, type LabRun, type LabSetupOptions } from "./setup.js";
import { LabRunRecord, labStateDir } from "./state.js";
import { tearDown } from "./teardown.js";

/** How to run a lab. */
export interface LabOptions extends LabSetupOptions {
  /** Keep the run directory (logs, configs, certificates); without it nothing of the run stays, pass or fail. */
  readonly keep?: boolean;
  /**
   * After the checks, inject faults and measure: take down one node of a two-node region (how long
   * until two clients relay through the other; killed with SIGKILL, or with `derpFailure:
   * "link-down"` cut off without closing its connections), stop headscale (established peers keep
   * talking), start it again (how long until every node is back online); then the disaster drills
   * (lab/drills.ts): a damaged backup refused, a restore after the database and noise key are
   * deleted, and (with `upgradeTo`) an upgrade rolled back with its backup.
   */
  readonly faults?: boolean | { readonly derpFailure: DerpFailure };
  /**
   * The upgrade the `--faults` drills deploy and roll back: the next minor release after the lab's
   * headscale, and its program (default: from the cache). Without it that drill is skipped.
   */
  readonly upgradeTo?: LabUpgradeTo;
  /** Relayed pings the relay-ping check collects (default 2); more give round-trip statistics. */
  readonly pingSamples?: number;
  /** While another lab runs, wait up to this long for it to end instead of refusing at once. */
  readonly waitForOtherLab?: number;
  /** Where runs are recorded (default: `CDKTF_TAILNET_LAB_STATE_DIR` or /run/cdktf-tailnet/lab). */
  readonly stateDir?: string;
  /** Progress lines while the lab runs. */
  readonly onProgress?: (line: string) => void;
  /** Each check's result as soon as it is known. */
  readonly onCheck?: (check: LabCheck) => void;
  /** Aborting stops the run; cleanup still happens. */
  readonly signal?: AbortSignal;
}

/** Runs a lab; resolves with the report (never rejects once the lab started to come up). */
export async function runLab(options: LabOptions): Promise<LabReport> {
  const t0 = Date.now();
  const progress = options.onProgress ?? (() => undefined);

  // 1. the normal pipeline, on the spec as given, once; the options; the plan
  const setup = setUpLab(options);
  const { model, plan } = setup;

  // 2. the machine: one lab at a time (LabBusy otherwise, nothing started)
  const runId = randomBytes(2).toString("hex");
  const record = await LabRunRecord.acquire({
    dir: options.stateDir ?? labStateDir(),
    runId,
    tailnet: model.name,
    waitMs: options.waitForOtherLab,
    onWait: progress,
    ...(options.signal && { signal: options.signal }),
  });
  let runDir: string;
  try {
    runDir = mkdtempSync(join(tmpdir(), `tailnet-lab-${runId}-`));
    record.runDir = runDir;
  } catch (e) {
    record.release();
    throw e;
  }
  const dir = runDirs(runDir);
  const caDir = dir("ca");
  const etcDir = dir("etc");
  const logDir = dir("logs");
  const rt = new LabRuntime(
    `tl${runId}-`,
    { hosts: join(etcDir, "hosts"), resolvConf: join(etcDir, "resolv.conf"), nsswitchConf: join(etcDir, "nsswitch.conf") },
    labEnv(join(caDir, "ca.crt"), dir("ca", "no-system-roots")),
    record,
  );
  const run: LabRun = { setup, runId, runDir, logDir, rt, progress };
  const abort = () => rt.abort();
  options.signal?.addEventListener("abort", abort);

  const checks: LabCheck[] = [];
  const report = (c: LabCheck) => {
    checks.push(c);
    options.onCheck?.(c);
  };
  let error: string | undefined;
  const changes: LabChange[] = [];
  const phases: { name: string; ms: number }[] = [];
  let startupMs: number | undefined;
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phases.push({ name, ms: Date.now() - phaseStart });
    phaseStart = Date.now();
  };
  try {
    if (options.signal?.aborted) rt.abort();
    progress(`lab ${runId}: ${plan.machines.length} machines in ${plan.subnet}, run directory ${runDir}`);
    if (plan.clientUser.why) progress(`the lab's clients join as user ${plan.clientUser.name}: ${plan.clientUser.why}`);

    // 3. certificates, the one lab step, files
    const { lab, inputs, oidcRun } = await prepareLab(run, changes);
    phase("certificates and files");

    // 4. network
    const listeners = await createLabNetwork(run, lab);
    phase("network");

    // 5. headscale, derpers, tailscaleds
    const running = await bringUp(run, lab, inputs, oidcRun, phase);
    startupMs = Date.now() - t0;
    progress(`lab up in ${(startupMs / 1000).toFixed(1)} s`);

    // 6. checks, then faults and drills
    const faults = options.faults !== undefined && options.faults !== false;
    const drills = faults ? labDrills(run, lab, inputs, running, options.upgradeTo, options.binaries?.binDir) : undefined;
    await runChecks(run, lab, running, report, {
      oidcRun,
      pingSamples: options.pingSamples ?? 2,
      listeners,
      faults: drills && { derpFailure: typeof options.faults === "object" ? options.faults.derpFailure : "kill", drills },
    });
  } catch (e) {
    if (e instanceof LabAborted || options.signal?.aborted) error = "interrupted";
    else if (e instanceof LabSetupError) error = e.message;
    else error = (e as Error).message;
    progress(`lab stopped: ${error}`);
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }

  // 7. nothing left behind
  const keep = options.keep === true;
  const cleanupProblems = await tearDown(rt, record, runDir, keep, progress);
  const ok = error === undefined && cleanupProblems.length === 0 && checks.length > 0 && checks.every((c) => c.status !== "fail");
  return {
    ok,
    runId,
    tailnet: model.name,
    headscaleVersion: setup.headscaleVersion,
    tailscaleVersion: setup.tailscaleVersion,
    changes,
    machines: labMachines(plan, runId),
    checks,
    processes: rt.history,
    error,
    cleanupProblems,
    runDir: keep ? runDir : undefined,
    durationMs: Date.now() - t0,
    startupMs,
    phases,
    breaks: setup.breaks,
  };
}
