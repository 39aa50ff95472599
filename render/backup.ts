/**
 * headscale's backups (model/backup.ts): the POSIX sh script that takes, lists, checks and
 * restores them (templates/headscale-backup.sh.hbs; sqlite3 for the snapshot and the integrity
 * check, restic for off-host copies), its settings file (data, no secrets), and how it runs:
 *
 * - on a systemd host (a VM target, or headscale installed by hand): `cdktf-tailnet-headscale-
 *   backup.service`, started by its `.timer`, as headscale's own user (its files are that user's,
 *   0600), which may read headscale's state directory and write only the backup directory; restic's
 *   secrets reach it as systemd credentials, never through the environment or a command line;
 * - on a Docker host: a container from an image the kit builds (a Debian base with sqlite3 and
 *   restic), with headscale's data volume mounted read-only and the backups in a volume of their own.
 *
 * Files, under `hosts/<host>/backup/`: `headscale-backup.sh` (0755), `headscale-backup.env`, and
 * either the service and timer or `Dockerfile`. Rendered whenever headscale runs on a host and
 * backups are on, or an upgrade or rollback needs the script before headscale starts.
 */
import { beforeStartArgs, VM_PATHS, type ResolvedBackup, type ResolvedHost, type ResolvedTailnet } from "../model/index.js";
import { HELPER_BASE_IMAGE, scriptFile } from "./ddns.js";
import { renderEnvFile } from "./env-file.js";
import { publicFile, type RenderedFile } from "./files.js";
import { renderTemplate } from "./templates.js";
import { hostNamed } from "../model/walk.js";

/** The system user headscale runs as on a systemd host (the kit's unit, and Debian's package). */
export const HEADSCALE_SYSTEM_USER = "headscale";

/** Debian packages the script runs: sqlite3 always, restic (and ssh for sftp) with a repository. */
export function backupPackages(backup: ResolvedBackup): string[] {
  return ["sqlite3", ...(backup.restic ? ["restic", "ca-certificates"] : []), ...(backup.restic?.sftp ? ["openssh-client"] : [])].sort();
}

/** A secret restic reads: its systemd credential name and the file on the host. */
export interface BackupSecret {
  readonly credential: string;
  readonly file: string;
}

/** The files on the host that restic's secrets are read from. */
export function backupSecrets(backup: ResolvedBackup): BackupSecret[] {
  const r = backup.restic;
  if (!r) return [];
  return [
    { credential: "restic-password", file: r.passwordFile },
    ...(r.credentialsFile ? [{ credential: "restic-credentials", file: r.credentialsFile }] : []),
    ...(r.sftp
      ? [
          { credential: "restic-ssh-key", file: r.sftp.keyFile },
          { credential: "restic-known-hosts", file: r.sftp.knownHostsFile },
        ]
      : []),
  ];
}

/** The script's settings as name/value pairs, in file order. */
export function backupSettings(tailnet: ResolvedTailnet, host: ResolvedHost, backup: ResolvedBackup): [string, string | number][] {
  const r = backup.restic;
  return [
    ["HEADSCALE_VERSION", tailnet.headscale.version.version],
    ["HEADSCALE_STATE_DIR", tailnet.headscale.paths.stateDir],
    ["BACKUP_HOST", host.name],
    ["BACKUP_DATABASE", backup.database ?? ""],
    ["BACKUP_KEYS", backup.keys.join(" ")],
    ["BACKUP_DIR", backup.paths.dir],
    ["BACKUP_KEEP", backup.keep],
    ["BACKUP_INTERVAL_SECONDS", backup.schedule?.intervalSeconds ?? 0],
    ["BACKUP_RESTIC_REPOSITORY", r?.repository ?? ""],
    ["BACKUP_RESTIC_PASSWORD_FILE", r?.passwordFile ?? ""],
    ["BACKUP_RESTIC_CREDENTIALS_FILE", r?.credentialsFile ?? ""],
    ["BACKUP_RESTIC_SFTP_TARGET", r?.sftp?.target ?? ""],
    ["BACKUP_RESTIC_SFTP_PORT", r?.sftp?.port ?? ""],
    ["BACKUP_RESTIC_SSH_KEY_FILE", r?.sftp?.keyFile ?? ""],
    ["BACKUP_RESTIC_SSH_KNOWN_HOSTS_FILE", r?.sftp?.knownHostsFile ?? ""],
    ["BACKUP_RESTIC_KEEP_HOURLY", r?.keep.hourly ?? 0],
    ["BACKUP_RESTIC_KEEP_DAILY", r?.keep.daily ?? 0],
    ["BACKUP_RESTIC_KEEP_WEEKLY", r?.keep.weekly ?? 0],
  ];
}

/** headscale-backup.env: what the script reads. */
export function renderBackupEnv(tailnet: ResolvedTailnet, host: ResolvedHost, backup: ResolvedBackup): string {
  const secrets = backupSecrets(backup);
  return renderEnvFile(
    [
      `Rendered by cdktf-tailnet for host "${host.name}" (tailnet "${tailnet.name}"); do not edit.`,
      `Settings of ${backup.paths.script}: backups of headscale's state into ${backup.paths.dir}.`,
      secrets.length === 0
        ? "No secrets: none are needed (no restic repository)."
        : `No secrets: restic reads them from ${secrets.map((s) => s.file).join(", ")} (0600 root).`,
    ],
    backupSettings(tailnet, host, backup),
  );
}

/** The script. */
export function renderBackupScript(tailnet: ResolvedTailnet, host: ResolvedHost): string {
  return renderTemplate("headscale-backup.sh", { host: host.name, tailnet: tailnet.name });
}

/** `/var/lib/<name>` -> `<name>` (systemd's StateDirectory= is relative to /var/lib). */
export function underVarLib(path: string): string {
  if (!path.startsWith("/var/lib/")) throw new Error(`cdktf-tailnet: ${path} is not under /var/lib`);
  return path.slice("/var/lib/".length);
}

/** The ExecStartPre= command lines of headscale's unit (words, unquoted): each step before it starts, as the backup script runs it. */
export function backupExecStartPre(backup: ResolvedBackup | undefined): string[][] {
  return (backup?.beforeStart ?? []).map((step) => ["/bin/sh", backup!.paths.script, backup!.paths.config, ...beforeStartArgs(step)]);
}

/** `cdktf-tailnet-headscale-backup.service` and `.timer`, as `[file name, text]`; none when scheduled backups are off. */
export function renderBackupUnits(tailnet: ResolvedTailnet, host: ResolvedHost, backup: ResolvedBackup): [string, string][] {
  const schedule = backup.schedule;
  if (!schedule) return [];
  const r = backup.restic;
  const network = r !== undefined && r.kind !== "local";
  const data = {
    host: host.name,
    tailnet: tailnet.name,
    user: HEADSCALE_SYSTEM_USER,
    stateDir: tailnet.headscale.paths.stateDir,
    dir: backup.paths.dir,
    keep: backup.keep,
    timer: backup.paths.timer,
    service: backup.paths.service,
    script: backup.paths.script,
    config: backup.paths.config,
    // Under /var/lib (as the kit puts it): systemd makes it; elsewhere (relocated) it must exist.
    stateDirectory: backup.paths.dir.startsWith("/var/lib/") ? underVarLib(backup.paths.dir) : false,
    credentials: backupSecrets(backup).map((s) => ({ name: s.credential, file: s.file })),
    repository: r ? `restic repository (${r.kind})` : false,
    localRepository: r?.kind === "local" ? r.repository : false,
    network,
    addressFamilies: network ? ["AF_UNIX", "AF_INET", "AF_INET6"] : ["AF_UNIX"],
    interval: schedule.interval,
    intervalSeconds: schedule.intervalSeconds,
  };
  return [
    [backup.paths.service, renderTemplate("cdktf-tailnet-headscale-backup.service", data)],
    [backup.paths.timer, renderTemplate("cdktf-tailnet-headscale-backup.timer", data)],
  ];
}

/** The backup container's image, for a Docker host. */
export function renderBackupDockerfile(tailnet: ResolvedTailnet, host: ResolvedHost, backup: ResolvedBackup): string {
  return renderTemplate("headscale-backup.Dockerfile", {
    host: host.name,
    tailnet: tailnet.name,
    baseImage: HELPER_BASE_IMAGE,
    packages: ["ca-certificates", "openssh-client", "restic", "sqlite3"],
    script: backup.paths.script,
    config: backup.paths.config,
    dir: backup.paths.dir,
  });
}

/** The host headscale runs on and its backups, when anything of them is rendered. */
export function backupOf(tailnet: ResolvedTailnet): { host: ResolvedHost; backup: ResolvedBackup } | undefined {
  const backup = tailnet.headscale.backup;
  if (!backup || (!backup.schedule && backup.beforeStart.length === 0)) return undefined;
  const host = hostNamed(tailnet, tailnet.headscale.host);
  return host && { host, backup };
}

/** The backup files of headscale's host, under `hosts/<host>/backup/`. */
export function renderBackupFiles(tailnet: ResolvedTailnet): RenderedFile[] {
  const of = backupOf(tailnet);
  if (!of) return [];
  const { host, backup } = of;
  const dir = `hosts/${host.name}/backup`;
  const files = [
    scriptFile(`${dir}/headscale-backup.sh`, renderBackupScript(tailnet, host)),
    publicFile(`${dir}/headscale-backup.env`, renderBackupEnv(tailnet, host, backup)),
  ];
  if (backup.runs === "container") files.push(publicFile(`${dir}/Dockerfile`, renderBackupDockerfile(tailnet, host, backup)));
  else for (const [name, text] of renderBackupUnits(tailnet, host, backup)) files.push(publicFile(`${dir}/${name}`, text));
  return files;
}

/** What a systemd host needs for headscale's backups, by absolute path on the host. */
export interface BackupInstall {
  readonly files: readonly { readonly path: string; readonly content: string; readonly owner: string; readonly permissions: string }[];
  /** Debian packages the script runs (sorted). */
  readonly packages: readonly string[];
  /** The timer, to `systemctl enable --now`. */
  readonly timers: readonly string[];
  /** A local restic repository's directory, made for headscale's user. */
  readonly directories: readonly { readonly path: string; readonly user: string }[];
  /** What the operator must do by hand: the secrets, which no rendered file carries. */
  readonly notes: readonly string[];
}

const NOTHING: BackupInstall = { files: [], packages: [], timers: [], directories: [], notes: [] };

/** The backups of a systemd host that runs headscale; nothing for any other host (or a Docker host). */
export function backupInstall(tailnet: ResolvedTailnet, host: ResolvedHost): BackupInstall {
  const of = backupOf(tailnet);
  if (!of || of.host.name !== host.name || of.backup.runs !== "systemd") return NOTHING;
  const { backup } = of;
  const file = (path: string, content: string, permissions: string) => ({ path, content, owner: "root:root", permissions });
  const units = renderBackupUnits(tailnet, host, backup);
  const r = backup.restic;
  const what: Record<string, string> = {
    "restic-password": "the restic repository's password",
    "restic-credentials": "the repository's credentials (NAME=value lines)",
    "restic-ssh-key": "the SSH private key restic logs in to the sftp server with",
    "restic-known-hosts": "the sftp server's host key (a known_hosts line)",
  };
  return {
    files: [
      file(backup.paths.script, renderBackupScript(tailnet, host), "0755"),
      file(backup.paths.config, renderBackupEnv(tailnet, host, backup), "0644"),
      ...units.map(([unit, text]) => file(`${VM_PATHS.unitDir}/${unit}`, text, "0644")),
    ],
    packages: backupPackages(backup),
    timers: units.length > 0 ? [backup.paths.timer] : [],
    directories: r?.kind === "local" ? [{ path: r.repository, user: HEADSCALE_SYSTEM_USER }] : [],
    notes: backupSecrets(backup).map((s) => `put ${what[s.credential]} into ${s.file} (0600 root:root); the backup unit reads it from there`),
  };
}
