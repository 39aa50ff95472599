/**
 * `cdktf-tailnet restore`: lists headscale's backups where they are (on its host, and in the
 * restic repository), verifies the chosen one (checksums, PRAGMA integrity_check) and refuses one
 * made by a newer headscale than the one that would open it, then stops headscale, puts the
 * database and keys back with headscale's owner and mode, starts it and waits until it is healthy.
 * Nothing is stopped before the backup is known to be good. The lab's disaster drills use the same
 * function with the lab's host (lab/drills.ts).
 */
import { compareReleases, findHeadscaleVersion, planUpgrade, type ResolvedTailnet } from "../model/index.js";
import type { BackupHost } from "./backup-host.js";

/** One backup, as the host lists it. */
export interface BackupEntry {
  /** `<UTC time>-<version>[-before-<version>]`. */
  readonly name: string;
  /** The headscale release that made it (for a backup before an upgrade: the one upgraded from). */
  readonly version: string;
  /** When it was taken. */
  readonly created: Date;
  /** The upgrade it was taken before, if any. */
  readonly before: string | undefined;
  /** Where it is: on the host, in the restic repository, or both. */
  readonly where: readonly ("local" | "restic")[];
}

/** What the host's backups look like. */
export interface BackupListing {
  /** Newest first. */
  readonly backups: readonly BackupEntry[];
  /** The restic repository is configured but could not be read. */
  readonly resticUnreachable: boolean;
}

/** A restore the kit will not do: nothing was changed. */
export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RestoreRefused";
  }
}

const NAME = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-(\d+\.\d+\.\d+)(?:-before-(\d+\.\d+\.\d+))?$/;

/** Parses a backup's name; undefined for anything else. */
export function parseBackupName(name: string): Omit<BackupEntry, "where"> | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { name, version: m[7]!, before: m[8], created: new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) };
}

/** The output of the script's `list`. */
export function parseBackupList(text: string): BackupListing {
  const byName = new Map<string, BackupEntry>();
  let resticUnreachable = false;
  for (const line of text.split("\n")) {
    if (line === "restic-unreachable") resticUnreachable = true;
    const m = /^(local|restic) (\S+)$/.exec(line);
    const parsed = m ? parseBackupName(m[2]!) : undefined;
    if (!m || !parsed) continue;
    const where = m[1] as "local" | "restic";
    const seen = byName.get(parsed.name);
    byName.set(parsed.name, { ...parsed, where: seen ? [...seen.where, where] : [where] });
  }
  return { backups: [...byName.values()].sort((a, b) => (a.name < b.name ? 1 : -1)), resticUnreachable };
}

/** The script's last error line, without its prefix. */
function scriptError(r: { stdout: string; stderr: string; code: number }): string {
  const line = (r.stderr || r.stdout).trim().split("\n").at(-1) ?? "";
  return line.replace(/^backup: error: /, "") || `the backup script exited with ${r.code}`;
}

/** Lists the backups on `host`. */
export async function listBackups(host: BackupHost): Promise<BackupListing> {
  const r = await host.script(["list"]);
  if (r.code !== 0) throw new Error(`listing the backups on ${host.description} failed: ${scriptError(r)}`);
  return parseBackupList(r.stdout);
}

/** A manifest's `key=value` lines. */
export function parseManifest(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/**
 * Why headscale `target` cannot open a database that headscale `made` (and `lastUsed`, the release
 * the database itself records, 0.29 and later) left, or undefined when it can: headscale never
 * migrates a database back, and moves up one minor version at a time.
 */
export function versionRefusal(name: string, made: string, lastUsed: string | undefined, target: string): string | undefined {
  const newest = [made, ...(lastUsed ? [lastUsed.replace(/^v/, "")] : [])]
    .filter((v) => /^\d+\.\d+\.\d+$/.test(v))
    .sort(compareReleases)
    .at(-1)!;
  if (compareReleases(newest, target) > 0) {
    return `backup ${name} holds a database headscale ${newest} used, newer than headscale ${target}, which would open it: headscale does not migrate a database back. Restore a backup made by ${target} or older (one taken before the upgrade to ${newest} is named *-before-${newest}), or set headscale.version to ${newest}`;
  }
  const from = findHeadscaleVersion(newest);
  const to = findHeadscaleVersion(target);
  if (from && to) {
    const plan = planUpgrade(from, to);
    if (!plan.ok) return `backup ${name} was made by headscale ${newest}; ${plan.explanation}`;
  }
  return undefined;
}

/** Options of {@link restoreBackup}. */
export interface RestoreOptions {
  /** The backup to restore; the newest when not given. */
  readonly backup?: string;
  /** Progress lines. */
  readonly onProgress?: (line: string) => void;
  /** How long to wait for headscale to be healthy again. @default 60000 ms */
  readonly healthTimeoutMs?: number;
  /** The nodes headscale has (names), when it can be asked: before the restore and after, to say what was lost. */
  readonly nodes?: () => Promise<string[]>;
}

/** What a restore did. */
export interface RestoreResult {
  readonly backup: BackupEntry;
  /** The manifest of the restored backup. */
  readonly manifest: Readonly<Record<string, string>>;
  /** Fetched from the restic repository first (the host did not have it). */
  readonly fetched: boolean;
  /** From stopping headscale until it answered its health check again. */
  readonly downtimeMs: number;
  /** Nodes headscale had before the restore and does not have after (registered after the backup); undefined when it could not be asked before. */
  readonly lostNodes: readonly string[] | undefined;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Restores a backup of `tailnet`'s headscale on `host` (see the module's description). */
export async function restoreBackup(tailnet: ResolvedTailnet, host: BackupHost, options: RestoreOptions = {}): Promise<RestoreResult> {
  const say = options.onProgress ?? (() => undefined);
  const listing = await listBackups(host);
  if (listing.resticUnreachable) say(`the restic repository cannot be read from ${host.description}; only the backups on the host are listed`);
  const backup = options.backup === undefined ? listing.backups[0] : listing.backups.find((b) => b.name === options.backup);
  if (!backup) {
    throw new RestoreRefused(
      options.backup === undefined
        ? `there is no backup of headscale on ${host.description}${listing.resticUnreachable ? " (the restic repository could not be read)" : ""}: nothing was changed`
        : `there is no backup ${options.backup} on ${host.description}${listing.backups.length ? ` (the newest is ${listing.backups[0]!.name})` : ""}: nothing was changed`,
    );
  }
  const target = tailnet.headscale.version.version;
  const early = versionRefusal(backup.name, backup.version, undefined, target);
  if (early) throw new RestoreRefused(`${early}; nothing was changed`);
  const fetched = !backup.where.includes("local");
  if (fetched) {
    say(`fetching ${backup.name} from the restic repository`);
    const f = await host.script(["fetch", backup.name]);
    if (f.code !== 0) throw new RestoreRefused(`fetching ${backup.name} from the restic repository failed: ${scriptError(f)}; nothing was changed`);
  }
  const v = await host.script(["verify", backup.name]);
  if (v.code !== 0) throw new RestoreRefused(`${scriptError(v)}; it was not restored, nothing was changed, headscale keeps running`);
  const manifest = parseManifest(v.stdout);
  const refusal = versionRefusal(backup.name, manifest.headscale_version ?? backup.version, manifest.database_version || undefined, target);
  if (refusal) throw new RestoreRefused(`${refusal}; nothing was changed`);
  say(
    `verified ${backup.name}: ${manifest.files} (integrity ${manifest.integrity || "not checked: no database"}), made by headscale ${manifest.headscale_version}`,
  );

  const before = options.nodes ? await options.nodes().catch(() => undefined) : undefined;
  const t0 = Date.now();
  say(`stopping headscale on ${host.description}`);
  await host.stopHeadscale();
  let restored = false;
  try {
    const r = await host.script(["restore", backup.name]);
    if (r.code !== 0) throw new Error(`restoring ${backup.name} failed: ${scriptError(r)}`);
    restored = true;
    say(r.stdout.trim().replace(/^backup: /, ""));
  } finally {
    say(restored ? "starting headscale" : "starting headscale again on the files it had");
    await host.startHeadscale();
  }
  const deadline = Date.now() + (options.healthTimeoutMs ?? 60_000);
  while (!(await host.healthy())) {
    if (Date.now() > deadline)
      throw new Error(
        `headscale was not healthy ${(options.healthTimeoutMs ?? 60_000) / 1000} s after the restore of ${backup.name}; see its log on ${host.description}`,
      );
    await pause(250);
  }
  const downtimeMs = Date.now() - t0;
  say(`headscale is healthy again, ${(downtimeMs / 1000).toFixed(1)} s after it was stopped`);
  const after = before && options.nodes ? await options.nodes().catch(() => undefined) : undefined;
  const lostNodes = before && after ? before.filter((n) => !after.includes(n)) : undefined;
  return { backup, manifest, fetched, downtimeMs, lostNodes };
}

/** The listing as a table, newest first. */
export function formatBackupList(listing: BackupListing, now = new Date()): string {
  if (listing.backups.length === 0) return "no backups";
  const age = (d: Date) => {
    const s = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
    return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} d`;
  };
  const rows = listing.backups.map((b) => [
    b.name,
    b.version,
    `${age(b.created)} ago`,
    b.where.join("+"),
    b.before ? `taken before the upgrade to ${b.before}` : "",
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["backup", "headscale", "age", "where"][i]!.length));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c))
      .join("  ")
      .trimEnd();
  return [
    line(["backup", "headscale", "age", "where", ""]),
    ...rows.map(line),
    ...(listing.resticUnreachable ? ["(the restic repository could not be read)"] : []),
  ].join("\n");
}
