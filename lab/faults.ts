/**
 * The faults step of `lab --faults`, after the checks: one node of a two-node region taken down
 * (how long until two clients relay through the other), headscale stopped (established peers keep
 * talking) and started again (how long until every node is back online); then the disaster drills
 * (drills.ts) on the lab's real headscale: a damaged backup refused, a restore, and an upgrade
 * rolled back with its backup. Every fault acts on the lab's processes by pid.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BackupHost } from "../cli/backup-host.js";
import { beforeStartArgs, findHeadscaleVersion, planUpgrade, SUPPORTED_HEADSCALE_VERSIONS } from "../model/index.js";
import { placeHeadscaleFiles } from "../render/index.js";
import { findLabBinaries, LabBinariesMissing, type LabBinaries } from "./binaries.js";
import type { Running } from "./bring-up.js";
import { checkDerpFailover, checkHeadscaleDown, checkHeadscaleRestart, skipCheck, type CheckContext, type DerpFailure, type LabFaults } from "./checks.js";
import { drillCorruptBackup, drillRestore, drillUpgradeRollback, type LabDrills, type LabUpgrade } from "./drills.js";
import { labVariant, type LabChangeInputs, type LabTailnet } from "./lab-changes.js";
import { headscaleMachine } from "./plan.js";
import type { LabRuntime } from "./runtime.js";
import type { LabRun } from "./setup.js";

/** The upgrade the drills deploy and roll back: the next minor release after the lab's headscale, and its program (default: from the cache). */
export interface LabUpgradeTo {
  readonly version: string;
  readonly headscale?: string;
}

/** How the faults step runs. */
export interface FaultOptions {
  /** How the DERP node of the failover goes down. */
  readonly derpFailure: DerpFailure;
  /** The disaster drills, or why they cannot run. */
  readonly drills: LabDrills | { readonly skip: string };
}

/** What the fault checks may do to the running lab: every process by pid. */
export function labFaults(rt: LabRuntime, running: Running): LabFaults {
  return {
    failDerper: async (node: string, how: DerpFailure) => {
      const proc = running.derpers.get(node);
      if (!proc) throw new Error(`no derper runs DERP node ${node}`);
      if (how === "kill") return rt.kill(proc, "SIGKILL");
      const r = await rt.run(proc.machine, ["ip", "link", "set", "eth0", "down"]);
      if (r.code !== 0) throw new Error(`ip link set eth0 down in ${proc.machine} failed: ${r.stderr.trim()}`);
    },
    stopHeadscale: () => rt.stop(running.headscale),
    startHeadscale: async () => {
      running.headscale = await running.startHeadscale("headscale (restarted)");
    },
    headscaleUp: running.headscaleUp,
  };
}

/** The fault checks, then the drills, between the first two plain clients. */
export async function runFaults(ctx: CheckContext, options: FaultOptions, progress: (line: string) => void): Promise<void> {
  const { regions, clients } = ctx;
  const skip = (id: string, title: string, why: string) => skipCheck(ctx, id, title, why);
  progress("faults:");
  if (clients.length < 2) {
    for (const id of ["fault:derp-failover", "fault:headscale-down", "fault:headscale-restart"]) skip(id, id, "needs --clients 2 or more");
    return;
  }
  const [a, b] = [clients[0]!, clients[1]!];
  const failover = regions.find(
    (r) => !r.embedded && r.id !== ctx.probe?.regionId && r.nodes.filter((n) => !n.stunOnly && ctx.derpers.has(n.name)).length >= 2,
  );
  if (failover) await checkDerpFailover(ctx, failover, a, b, options.derpFailure);
  else skip("fault:derp-failover", "one node of a two-node region killed", "the model has no region with two DERP nodes");
  await checkHeadscaleDown(ctx, a, b);
  await checkHeadscaleRestart(ctx, a, b);
  const drills = options.drills;
  if ("skip" in drills) {
    for (const id of ["drill:corrupt-backup", "drill:restore", "drill:upgrade-rollback"]) skip(id, id, drills.skip);
    return;
  }
  progress("disaster drills:");
  await drillCorruptBackup(ctx, drills);
  await drillRestore(ctx, drills, a, b);
  await drillUpgradeRollback(ctx, drills, a, b);
}

/**
 * The drills' access to the running lab: the backup script the kit rendered for headscale's host,
 * run in headscale's namespace; headscale as a lab process; the upgrade's two deployments (the
 * variant's files in place, what its unit runs before it starts, then that version's program).
 */
export function labDrills(
  run: LabRun,
  lab: LabTailnet,
  inputs: LabChangeInputs,
  running: Running,
  upgradeTo: LabUpgradeTo | undefined,
  binDir: string | undefined,
): LabDrills | { skip: string } {
  const { rt, runDir } = run;
  const { plan, bins } = run.setup;
  const hsHost = lab.tailnet.headscale.host;
  const files = `hosts/${hsHost}/backup`;
  const rendered = (name: string) => join(runDir, "rendered", files, name);
  if (!lab.files.some((f) => f.path === `${files}/headscale-backup.sh`) || !lab.tailnet.headscale.backup?.schedule)
    return { skip: "the spec turns headscale's scheduled backups off (headscale.backup.enabled: false)" };
  const [script, config] = [rendered("headscale-backup.sh"), rendered("headscale-backup.env")];
  const hsMachine = headscaleMachine(plan);
  const backups: BackupHost = {
    description: `lab machine ${hsMachine.name}`,
    script: async (args) => {
      const r = await rt.run(hsMachine.name, ["sh", script, config, ...args], { timeoutMs: 120_000 });
      return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    stopHeadscale: () => rt.stop(running.headscale),
    startHeadscale: async () => {
      running.headscale = await running.startHeadscale("headscale (restored)");
    },
    healthy: running.headscaleUp,
  };
  const cli = async (args: string[]) => {
    const r = await running.headscaleCli(args);
    if (r.code !== 0) throw new Error(`headscale ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  };
  return {
    backups,
    tailnet: lab.tailnet,
    createUser: async (name) => void (await cli(["users", "create", name, "-o", "json"])),
    users: async () => ((JSON.parse((await cli(["users", "list", "-o", "json"])).trim() || "[]") ?? []) as { name: string }[]).map((u) => u.name).sort(),
    upgrade: labUpgrade(rt, lab, inputs, running, bins, backups, hsMachine.name, config, upgradeTo, binDir),
  };
}

function labUpgrade(
  rt: LabRuntime,
  lab: LabTailnet,
  inputs: LabChangeInputs,
  running: Running,
  bins: LabBinaries,
  backups: BackupHost,
  machine: string,
  config: string,
  upgradeTo: LabUpgradeTo | undefined,
  binDir: string | undefined,
): LabUpgrade | { skip: string } {
  const from = lab.tailnet.headscale.version;
  if (!upgradeTo) return { skip: `no upgrade to drill: give --upgrade-to <release> (the next minor release after ${from.version})` };
  const to = findHeadscaleVersion(upgradeTo.version);
  if (!to) return { skip: `--upgrade-to ${upgradeTo.version}: the kit renders for headscale ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")}` };
  const step = planUpgrade(from, to);
  if (!step.ok || step.path.length !== 1 || to.minor === from.minor)
    return { skip: `${from.version} -> ${to.version} is not one minor upgrade step (${step.explanation})` };
  let toBinary: string;
  try {
    toBinary =
      upgradeTo.headscale ??
      findLabBinaries({ headscale: to.version, tailscale: lab.tailnet.derp.derperVersion }, { ...(binDir !== undefined && { binDir }) }).headscale;
  } catch (e) {
    if (e instanceof LabBinariesMissing) return { skip: `headscale ${to.version} is not built: ${e.message.split("\n")[1]?.trim() ?? e.message}` };
    throw e;
  }
  return {
    from: from.version,
    to: to.version,
    deploy: async (which) => {
      const variant = labVariant(lab, inputs, (hs) => {
        delete hs.upgradeFrom;
        delete hs.rollbackFrom;
        if (which === "upgrade") Object.assign(hs, { version: to.version, upgradeFrom: from.version });
        else Object.assign(hs, { version: from.version, rollbackFrom: to.version });
      });
      await rt.stop(running.headscale);
      for (const { hostPath, file } of placeHeadscaleFiles(variant.tailnet)) writeFileSync(hostPath, file.content, { mode: file.mode });
      const env = variant.files.find((f) => f.path === `hosts/${variant.tailnet.headscale.host}/backup/headscale-backup.env`)!;
      writeFileSync(config, env.content);
      let output = "";
      for (const s of variant.tailnet.headscale.backup!.beforeStart) {
        const r = await backups.script(beforeStartArgs(s));
        output += r.stdout;
        if (r.code !== 0) throw new Error(`${s.step} ${s.from} ${s.to} before headscale started failed: ${(r.stderr || r.stdout).trim()}`);
      }
      running.useHeadscale(which === "upgrade" ? toBinary : bins.headscale);
      running.headscale = await running.startHeadscale(`headscale ${which === "upgrade" ? to.version : from.version}`);
      return { output };
    },
    version: async () => (await rt.run(machine, [running.headscale.argv[0]!, "version"])).stdout.trim(),
  };
}
