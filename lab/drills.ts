/**
 * Disaster drills of `lab --faults` (issue 16), run on the lab's real headscale with the backup
 * script the kit renders for its host, and `cdktf-tailnet restore`'s own function:
 *
 * - `drill:corrupt-backup`: a backup whose database snapshot has one byte changed is refused by the
 *   restore with a message naming it, and headscale is never stopped;
 * - `drill:restore`: a backup is taken while the tailnet runs; a user is created after it (what a
 *   restore loses); headscale's database and noise key are deleted while it runs; the restore
 *   brings it back from the newest backup. Every node comes back online with the node id it had
 *   (no re-registration) and a relayed ping passes; reported: the recovery time, and what was lost;
 * - `drill:upgrade-rollback`: headscale upgraded to the next minor release the way the kit deploys
 *   it (the pre-upgrade backup first, then the new version on the migrated database), then rolled
 *   back with a rollback spec (the backup restored before the old version starts again); every
 *   node online and a relayed ping after each step.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BackupHost } from "../cli/backup-host.js";
import { restoreBackup, RestoreRefused } from "../cli/restore.js";
import type { ResolvedTailnet } from "../model/index.js";
import { fmtMs, listNodes, relayPing, short, timed, waitAllOnline, type CheckContext, type LabCheck } from "./checks.js";
import type { LabMachine } from "./plan.js";

/** What the drills may do to the running lab. */
export interface LabDrills {
  /** The lab's headscale as `cdktf-tailnet restore` reaches a host (the rendered script in headscale's namespace). */
  readonly backups: BackupHost;
  /** The tailnet as the lab runs it (relocated into the run directory). */
  readonly tailnet: ResolvedTailnet;
  /** Creates a headscale user (state made after a backup, which a restore loses). */
  createUser(name: string): Promise<void>;
  /** headscale's users. */
  users(): Promise<string[]>;
  /** The upgrade drill's two deployments, or why it cannot run. */
  readonly upgrade: LabUpgrade | { readonly skip: string };
}

/** One deployment of the upgrade drill: stop headscale, put the version's files in place, run what its unit runs before it starts, start that version. */
export interface LabUpgrade {
  readonly from: string;
  readonly to: string;
  /** `to` with `upgradeFrom: from` (pre-upgrade backup), or `from` with `rollbackFrom: to` (the restore). */
  deploy(step: "upgrade" | "rollback"): Promise<{ output: string }>;
  /** The release headscale's /version (or CLI) reports now. */
  version(): Promise<string>;
}

const NAME = /^\S+$/;

/** Takes a backup with the rendered script now; its name. */
async function takeBackup(drills: LabDrills): Promise<string> {
  const r = await drills.backups.script(["backup"]);
  if (r.code !== 0) throw new Error(`the backup script failed: ${(r.stderr || r.stdout).trim()}`);
  const list = await drills.backups.script(["list"]);
  const name = list.stdout.split("\n")[0]?.replace(/^local /, "") ?? "";
  if (!NAME.test(name)) throw new Error(`no backup listed after a backup: ${list.stdout}`);
  return name;
}

/** A damaged backup is refused before headscale is touched. */
export async function drillCorruptBackup(ctx: CheckContext, drills: LabDrills): Promise<LabCheck> {
  return timed(ctx, "drill:corrupt-backup", "a damaged backup is refused by the restore, headscale untouched", async () => {
    const name = await takeBackup(drills);
    const backup = drills.tailnet.headscale.backup!;
    const db = join(backup.paths.dir, name, backup.database ?? backup.keys[0]!);
    const bytes = readFileSync(db);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(db, bytes);
    const refused = await restoreBackup(drills.tailnet, drills.backups, { backup: name }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Out of the way of the next drill's "newest backup".
    rmSync(join(backup.paths.dir, name), { recursive: true, force: true });
    const up = await ctx.faults!.headscaleUp();
    if (!(refused instanceof RestoreRefused))
      return {
        status: "fail",
        detail: refused ? `the restore failed otherwise: ${short((refused as Error).message, 300)}` : `the damaged backup ${name} was restored`,
      };
    const detail = `refused: ${refused.message}${up ? "" : "; but headscale does not answer /health"}`;
    return up ? { status: "pass", detail, data: { backup: name, message: refused.message } } : { status: "fail", detail };
  });
}

/** The database and noise key deleted while headscale runs; restored from the newest backup. */
export async function drillRestore(ctx: CheckContext, drills: LabDrills, a: LabMachine, b: LabMachine): Promise<LabCheck> {
  return timed(ctx, "drill:restore", "database and noise key deleted while the tailnet runs, restored from the latest backup", async () => {
    const taken = await takeBackup(drills);
    await drills.createUser("registered-after-backup");
    const idsBefore = new Map((await listNodes(ctx)).map((n) => [n.given_name ?? n.name ?? "", String(n.id)]));
    const usersBefore = await drills.users();
    const state = drills.tailnet.headscale.paths.stateDir;
    const backup = drills.tailnet.headscale.backup!;
    for (const f of [backup.database, backup.database && `${backup.database}-wal`, backup.database && `${backup.database}-shm`, ...backup.keys])
      if (f) rmSync(join(state, f), { force: true });
    const t0 = Date.now();
    const result = await restoreBackup(drills.tailnet, drills.backups, { nodes: async () => (await listNodes(ctx)).map((n) => n.given_name ?? n.name ?? "") });
    const { onlineMs, online, expected, nodes } = await waitAllOnline(ctx, t0);
    if (onlineMs === undefined)
      return {
        status: "fail",
        detail: `restored ${result.backup.name}, but after 90 s only ${online.length}/${expected.length} nodes are online (missing ${expected.filter((n) => !online.includes(n)).join(", ")})`,
      };
    const reregistered = expected.filter((n) => {
      const node = nodes.find((x) => x.given_name === n || x.name === n);
      return node && idsBefore.get(n) !== undefined && String(node.id) !== idsBefore.get(n);
    });
    const usersAfter = await drills.users();
    const lost = { nodes: result.lostNodes ?? [], users: usersBefore.filter((u) => !usersAfter.includes(u)) };
    const ping = await relayPing(ctx, a, await ctx.self(b.name), undefined, 1, 20_000);
    const detail =
      `restored ${result.backup.name}${result.backup.name === taken ? "" : ` (not ${taken})`}: headscale healthy ${(result.downtimeMs / 1000).toFixed(2)} s after it was stopped, ` +
      `every node (${expected.length}) online ${(onlineMs / 1000).toFixed(2)} s after the restore began, ${reregistered.length === 0 ? "each with its node id (none registered again)" : `re-registered: ${reregistered.join(", ")}`}; ` +
      `lost: ${lost.nodes.length ? `nodes ${lost.nodes.join(", ")}` : "no node"}, ${lost.users.length ? `users ${lost.users.join(", ")} (created after the backup)` : "no user"}; ` +
      `relayed ping ${a.name} -> ${b.name} ${ping.pongs.length ? `answers (${fmtMs(ping.pongs[0]!.ms)})` : "does NOT answer"}`;
    const ok = ping.pongs.length > 0 && reregistered.length === 0 && result.backup.name === taken;
    return { status: ok ? "pass" : "fail", detail, data: { backup: result.backup.name, downtimeMs: result.downtimeMs, recoveryMs: onlineMs, lost } };
  });
}

/** Upgrade to the next minor release as the kit deploys it, then roll back with the pre-upgrade backup. */
export async function drillUpgradeRollback(ctx: CheckContext, drills: LabDrills, a: LabMachine, b: LabMachine): Promise<LabCheck> {
  const up = drills.upgrade;
  if ("skip" in up) {
    const check: LabCheck = { id: "drill:upgrade-rollback", title: "an upgrade rolled back with its backup", status: "skip", detail: up.skip, durationMs: 0 };
    ctx.report(check);
    return check;
  }
  return timed(
    ctx,
    "drill:upgrade-rollback",
    `headscale ${up.from} -> ${up.to} deployed, then rolled back to ${up.from} with the backup taken before the upgrade`,
    async () => {
      const idsBefore = new Map((await listNodes(ctx)).map((n) => [n.given_name ?? n.name ?? "", String(n.id)]));
      const step = async (which: "upgrade" | "rollback", version: string) => {
        const t0 = Date.now();
        const { output } = await up.deploy(which);
        const running = await up.version();
        const { onlineMs, online, expected } = await waitAllOnline(ctx, t0);
        if (onlineMs === undefined)
          throw new Error(
            `after the ${which}, only ${online.length}/${expected.length} nodes are online after 90 s (missing ${expected.filter((n) => !online.includes(n)).join(", ")})`,
          );
        if (!running.includes(version)) throw new Error(`after the ${which}, headscale reports ${running}, not ${version}`);
        const ping = await relayPing(ctx, a, await ctx.self(b.name), undefined, 1, 20_000);
        if (ping.pongs.length === 0) throw new Error(`after the ${which}, the relayed ping ${a.name} -> ${b.name} does not answer: ${short(ping.output, 200)}`);
        return { ms: onlineMs, output, ping: ping.pongs[0]!.ms };
      };
      const upgraded = await step("upgrade", up.to);
      const rolled = await step("rollback", up.from);
      const nodes = await listNodes(ctx);
      const reregistered = [...idsBefore].filter(([n, id]) => nodes.some((x) => (x.given_name ?? x.name) === n && String(x.id) !== id)).map(([n]) => n);
      const backupLine = upgraded.output.split("\n").find((l) => l.includes("kept for a rollback")) ?? "";
      const detail =
        `upgrade: the pre-upgrade backup first (${short(backupLine.replace(/^backup: /, ""), 240)}), ${up.to} on the migrated database, every node online after ${(upgraded.ms / 1000).toFixed(2)} s; ` +
        `rollback: the backup restored, ${up.from} again, every node online after ${(rolled.ms / 1000).toFixed(2)} s${reregistered.length ? `; re-registered: ${reregistered.join(", ")}` : ", none registered again"}; relayed pings answer (${fmtMs(upgraded.ping)}, ${fmtMs(rolled.ping)})`;
      return { status: reregistered.length === 0 ? "pass" : "fail", detail, data: { upgradeMs: upgraded.ms, rollbackMs: rolled.ms } };
    },
  );
}
