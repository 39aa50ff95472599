/**
 * `doctor --via <how>`: the newest backup of headscale's state that can be seen from its host (on
 * the host, or in the restic repository): its age against the schedule the spec sets, and its
 * integrity (checksums and PRAGMA integrity_check, by the backup script on the host).
 */
import type { ResolvedTailnet } from "../model/index.js";
import type { BackupHost } from "./backup-host.js";
import type { DoctorFinding } from "./doctor-finding.js";
import { listBackups, parseManifest } from "./restore.js";

/** How much older than its interval the newest backup may be: the timer's slack and the backup's own time. */
export function allowedBackupAgeSeconds(intervalSeconds: number): number {
  return intervalSeconds + Math.max(600, Math.round(intervalSeconds / 10));
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** The backup findings for `tailnet`'s headscale on `host`; `now` for tests. */
export async function checkBackups(tailnet: ResolvedTailnet, host: BackupHost, now = new Date()): Promise<DoctorFinding[]> {
  const backup = tailnet.headscale.backup;
  const target = tailnet.headscale.host ?? "headscale";
  const ok = (detail: string): DoctorFinding => ({ check: "backup", target, ok: true, detail, fix: "" });
  const bad = (detail: string, fix: string): DoctorFinding => ({ check: "backup", target, ok: false, detail, fix });
  if (!backup?.schedule) return [ok("scheduled backups are off in the spec (headscale.backup.enabled: false): nothing to check")];
  const service = backup.runs === "container" ? `docker logs of the backup container on ${target}` : `journalctl -u ${backup.paths.service} on ${target}`;
  let listing: Awaited<ReturnType<typeof listBackups>>;
  try {
    listing = await listBackups(host);
  } catch (e) {
    return [
      bad((e as Error).message, `check that the backup script is installed on ${target} (${backup.paths.script}) and that ${host.description} reaches it`),
    ];
  }
  const findings: DoctorFinding[] = [];
  if (listing.resticUnreachable) {
    findings.push(
      bad(
        `the restic repository ${backup.restic?.repository ?? ""} cannot be read from ${target}`,
        `check the repository, its password file ${backup.restic?.passwordFile ?? ""} and its credentials on ${target}; ${service} says what restic answered`,
      ),
    );
  }
  const newest = listing.backups[0];
  const schedule = `every ${backup.schedule.interval}`;
  if (!newest)
    return [
      ...findings,
      bad(
        `no backup of headscale on ${target}${backup.restic ? " or in its restic repository" : ""} (${schedule})`,
        `look at ${service}; take one now with the backup script's backup command`,
      ),
    ];
  const age = Math.max(0, Math.round((now.getTime() - newest.created.getTime()) / 1000));
  const allowed = allowedBackupAgeSeconds(backup.schedule.intervalSeconds);
  let integrity = "not checked: only in the restic repository (restore fetches it first)";
  if (newest.where.includes("local")) {
    const v = await host.script(["verify", newest.name]);
    if (v.code !== 0) {
      const why =
        (v.stderr || v.stdout)
          .trim()
          .split("\n")
          .at(-1)
          ?.replace(/^backup: error: /, "") ?? "";
      findings.push(
        bad(
          `the newest backup ${newest.name} fails its check: ${why}`,
          `take a new backup now and look at ${service}; restore an older one with cdktf-tailnet restore --backup <name> if needed`,
        ),
      );
      return findings;
    }
    integrity = parseManifest(v.stdout).integrity === "ok" ? "integrity ok" : "keys only (no database: PostgreSQL)";
  }
  const where = newest.where.join(" and ");
  const detail = `newest backup ${newest.name} (headscale ${newest.version}, ${where}) is ${duration(age)} old, ${integrity}; ${schedule}, ${backup.keep} kept`;
  findings.push(
    age <= allowed
      ? ok(detail)
      : bad(
          `${detail}: older than the schedule allows (${duration(allowed)})`,
          `the backups stopped: look at ${service} (and that its timer or container runs); nodes registered since ${newest.created.toISOString()} are in no backup`,
        ),
  );
  return findings;
}
