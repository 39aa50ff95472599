/**
 * Backups of headscale's state, derived once from the model: what is backed up (the SQLite
 * database and the private keys, file names in headscale's state directory), how often, how many
 * stay on the host, where copies go (restic), where the kit keeps things on the host, and what
 * runs before headscale starts during an upgrade (a snapshot of the old version's database) or a
 * rollback (that snapshot restored). Also the validation rules of `headscale.backup` and
 * `headscale.rollbackFrom` (called by validate.ts).
 *
 * Secrets never enter the model: the restic password, the S3 or REST credentials and the SFTP key
 * are named by the path of a file on the host, and only those names are resolved.
 */
import type { CheckContext } from "./context.js";
import { DEFAULTS } from "./defaults.js";
import type { BackupElement, HeadscaleElement, HostElement, ResticElement } from "./elements.js";
import type { IssueList } from "./issues.js";
import { isDnsName, isIp, parseGoDuration } from "./net.js";
import type { HeadscaleBackupSpec } from "./spec.js";
import { findHeadscaleVersion, planUpgrade } from "./versions.js";
import { BACKUP_PATHS, HEADSCALE_STATE_FILES } from "./paths.js";
import type { ResolvedBackup, ResolvedBeforeStart, ResolvedRestic } from "./resolved.js";

/** The shortest and longest schedule (seconds). */
const INTERVAL_RANGE = { min: 300, max: 86_400 } as const;

/** The names of the credentials file that the backup script reads (anything else is refused there). */
export const RESTIC_CREDENTIAL_NAMES: readonly string[] = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_DEFAULT_REGION",
  "RESTIC_REST_USERNAME",
  "RESTIC_REST_PASSWORD",
];

/** The parts of an sftp repository: `sftp:user@host:/path` or `sftp://user@host[:port]//path`. */
function parseSftp(repository: string): { target: string; port: number | undefined; path: string } | undefined {
  const url = /^sftp:\/\/([^/@\s]+@)?([^/:\s]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?\/(\/?[^\s]*)$/.exec(repository);
  if (url) return { target: `${url[1] ?? ""}${url[2]!.replace(/^\[(.*)\]$/, "$1")}`, port: url[3] === undefined ? undefined : Number(url[3]), path: url[4]! };
  const scp = /^sftp:([^/@:\s]+@)?([^/:\s]+):(\S+)$/.exec(repository);
  if (scp) return { target: `${scp[1] ?? ""}${scp[2]}`, port: undefined, path: scp[3]! };
  return undefined;
}

/** The kind of a restic repository string (validation has checked it). */
function repositoryKind(repository: string): ResolvedRestic["kind"] {
  if (repository.startsWith("/")) return "local";
  return repository.slice(0, repository.indexOf(":")) as ResolvedRestic["kind"];
}

// ---------------------------------------------------------------------------------------------
// first pass

/** `headscale.backup`, defaulted. */
export function defaultBackup(spec: HeadscaleBackupSpec | undefined): BackupElement {
  const d = DEFAULTS.headscale.backup;
  const r = spec?.restic;
  return {
    enabled: spec?.enabled ?? d.enabled,
    interval: spec?.interval ?? d.interval,
    keep: spec?.keep ?? d.keep,
    restic: r && {
      repository: r.repository,
      passwordFile: r.passwordFile ?? d.restic.passwordFile,
      credentialsFile: r.credentialsFile,
      sshKeyFile: r.sshKeyFile ?? d.restic.sshKeyFile,
      sshKnownHostsFile: r.sshKnownHostsFile ?? d.restic.sshKnownHostsFile,
      keepHourly: r.keepHourly ?? d.restic.keepHourly,
      keepDaily: r.keepDaily ?? d.restic.keepDaily,
      keepWeekly: r.keepWeekly ?? d.restic.keepWeekly,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// second pass

function resolveRestic(restic: ResticElement): ResolvedRestic {
  const kind = repositoryKind(restic.repository);
  const sftp = kind === "sftp" ? parseSftp(restic.repository)! : undefined;
  return {
    repository: restic.repository,
    kind,
    passwordFile: restic.passwordFile,
    credentialsFile: restic.credentialsFile,
    sftp: sftp && { target: sftp.target, port: sftp.port, keyFile: restic.sshKeyFile, knownHostsFile: restic.sshKnownHostsFile },
    keep: { hourly: restic.keepHourly, daily: restic.keepDaily, weekly: restic.keepWeekly },
  };
}

/** headscale's backups on the host that runs it. */
export function resolveBackup(hs: HeadscaleElement, host: HostElement): ResolvedBackup {
  const b = hs.backup;
  const to = hs.version.version;
  return {
    schedule: b.enabled ? { interval: b.interval, intervalSeconds: Math.round(parseGoDuration(b.interval)!) } : undefined,
    keep: b.keep,
    database: hs.database.type === "postgres" ? undefined : HEADSCALE_STATE_FILES.database,
    keys: [HEADSCALE_STATE_FILES.noiseKey, ...(hs.embeddedDerp ? [HEADSCALE_STATE_FILES.derpKey] : [])],
    runs: host.docker ? "container" : "systemd",
    restic: b.restic && resolveRestic(b.restic),
    paths: BACKUP_PATHS,
    beforeStart: [
      ...(hs.upgradeFrom ? [{ step: "pre-upgrade" as const, from: hs.upgradeFrom.version, to }] : []),
      ...(hs.rollbackFrom ? [{ step: "rollback" as const, from: hs.rollbackFrom.version, to }] : []),
    ],
  };
}

/** The names of headscale's Docker resources that hold its state and backups, from headscale's container name. */
export function backupNames(containerName: string): { dataVolume: string; container: string; volume: string; oneShot: (step: ResolvedBeforeStart) => string } {
  return {
    dataVolume: `${containerName}-data`,
    container: `${containerName}-backup`,
    volume: `${containerName}-backups`,
    oneShot: (step) => `${containerName}-backup-${step.step}-${step.from}-to-${step.to}`,
  };
}

/** The script's command line for a step before headscale starts (after the script and its settings file). */
export function beforeStartArgs(step: ResolvedBeforeStart): string[] {
  return [step.step, step.from, step.to];
}

// ---------------------------------------------------------------------------------------------
// validation

/** An absolute path with nothing a unit, a settings file or a Dockerfile would have to quote. */
const HOST_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9._@+~-]+)+$/;
/** A URL's host part: a DNS name or an address. */
const URL_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** What may follow a URL's host in a repository: a path of plain characters. */
const URL_PATH = /^(\/[A-Za-z0-9._~+=:@,/-]*)?$/;

function checkCount(issues: IssueList, path: string, value: number | undefined, max: number, what: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
    issues.add(path, `${value} is not a number of ${what} from 1 to ${max}`, `keep at least the newest one, e.g. ${Math.min(max, 14)}`);
  }
}

/** A URL repository (`s3:` or `rest:`): http(s), a host, a path; no user name or password. */
function checkUrlRepository(issues: IssueList, path: string, repository: string, scheme: "s3" | "rest"): void {
  const rest = repository.slice(scheme.length + 1);
  const m = /^(https?):\/\/([^/]*)(.*)$/.exec(rest);
  if (!m) {
    // s3 also accepts `s3:host/bucket` (https implied).
    const bare = scheme === "s3" ? /^([^/:@\s]+)(\/.*)$/.exec(rest) : null;
    if (bare && isDnsName(bare[1]!) && URL_PATH.test(bare[2]!) && bare[2]!.length > 1) return;
    issues.add(
      path,
      `${JSON.stringify(repository)} is not a ${scheme} repository restic reads`,
      scheme === "s3" ? `write "s3:https://host/bucket/path", e.g. "s3:https://s3.example.com/backups/headscale"` : `write "rest:https://host:8000/path"`,
    );
    return;
  }
  if (m[2]!.includes("@")) {
    issues.add(
      path,
      `${JSON.stringify(repository.replace(/\/\/[^/@]*@/, "//***@"))} holds a user name or password; the spec never holds secrets`,
      `remove them from the URL and put them into the credentials file (${scheme === "rest" ? "RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD" : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}) named by credentialsFile`,
    );
    return;
  }
  const host = m[2]!.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  if (!URL_HOST.test(m[2]!) || !(isDnsName(host) || isIp(host)) || !URL_PATH.test(m[3]!) || (scheme === "s3" && m[3]!.length <= 1)) {
    issues.add(
      path,
      `${JSON.stringify(repository)} is not a ${scheme} repository restic reads`,
      scheme === "s3" ? `write "s3:https://host/bucket/path" (a bucket is required)` : `write "rest:https://host:8000/path"`,
    );
  }
}

function checkRepository(issues: IssueList, path: string, repository: string | undefined): void {
  if (repository === undefined) return;
  if (repository.startsWith("/")) {
    if (!HOST_PATH.test(repository))
      issues.add(
        path,
        `${JSON.stringify(repository)} is not an absolute path of plain characters`,
        `give the repository's directory on the host, e.g. "/srv/backup/headscale"`,
      );
    return;
  }
  const scheme = /^([a-z0-9]+):/.exec(repository)?.[1];
  if (scheme === "sftp") {
    const sftp = parseSftp(repository);
    const target = sftp?.target.split("@");
    const host = target?.at(-1) ?? "";
    const user = target && target.length > 1 ? target[0]! : "";
    if (
      !sftp ||
      !(isDnsName(host) || isIp(host)) ||
      !/^[a-z_][a-z0-9_.-]{0,31}$|^$/.test(user) ||
      !/^\/?[A-Za-z0-9._@+~/-]+$/.test(sftp.path) ||
      (sftp.port !== undefined && (sftp.port < 1 || sftp.port > 65535))
    ) {
      issues.add(
        path,
        `${JSON.stringify(repository)} is not an sftp repository restic reads`,
        `write "sftp:user@host:/srv/restic/headscale", or "sftp://user@host:2222//srv/restic/headscale" for another port`,
      );
    }
    return;
  }
  if (scheme === "s3" || scheme === "rest") {
    checkUrlRepository(issues, path, repository, scheme);
    return;
  }
  issues.add(
    path,
    `${JSON.stringify(repository.length > 60 ? `${repository.slice(0, 57)}...` : repository)} is not a repository the kit supports`,
    `write an absolute path, "sftp:user@host:/path", "s3:https://host/bucket/path" or "rest:https://host:8000/path"`,
  );
}

/** The rules of `headscale.backup`. */
export function checkBackup(ctx: CheckContext): void {
  const issues = ctx.issues;
  const b = ctx.spec.headscale?.backup;
  if (!b) return;
  const at = "headscale.backup";
  if (b.interval !== undefined) {
    const seconds = parseGoDuration(b.interval);
    if (seconds === undefined || seconds < INTERVAL_RANGE.min || seconds > INTERVAL_RANGE.max) {
      issues.add(`${at}.interval`, `${JSON.stringify(b.interval)} is not a duration from 5m to 24h`, `write a Go duration such as "1h" or "6h"`);
    }
  }
  checkCount(issues, `${at}.keep`, b.keep, 10_000, "backups");
  const r = b.restic;
  if (!r) return;
  checkRepository(issues, `${at}.restic.repository`, r.repository);
  const sftp = typeof r.repository === "string" && r.repository.startsWith("sftp:");
  for (const key of ["sshKeyFile", "sshKnownHostsFile"] as const) {
    if (r[key] !== undefined && !sftp)
      issues.add(`${at}.restic.${key}`, "is set, but the repository is not an sftp: one", `remove ${key}, or use an sftp repository`);
  }
  checkCount(issues, `${at}.restic.keepHourly`, r.keepHourly, 10_000, "hours");
  checkCount(issues, `${at}.restic.keepDaily`, r.keepDaily, 10_000, "days");
  checkCount(issues, `${at}.restic.keepWeekly`, r.keepWeekly, 10_000, "weeks");
}

/**
 * The rule of `headscale.rollbackFrom`: allowed only as the reverse of an upgrade the kit backs up,
 * i.e. `version` -> `rollbackFrom` is one allowed upgrade step; not together with `upgradeFrom`.
 */
export function checkRollback(ctx: CheckContext): void {
  const { issues, version } = ctx;
  const hs = ctx.spec.headscale;
  if (hs?.rollbackFrom === undefined || !version) return;
  const at = "headscale.rollbackFrom";
  const from = findHeadscaleVersion(hs.rollbackFrom);
  if (!from) {
    issues.add(
      at,
      `headscale ${JSON.stringify(hs.rollbackFrom)} is not a release the kit knows`,
      "give the release deployed now, which version rolls back from",
    );
    return;
  }
  if (hs.upgradeFrom !== undefined) {
    issues.add(at, "is set together with upgradeFrom; a deployment either upgrades or rolls back", "remove one of upgradeFrom and rollbackFrom");
    return;
  }
  if (from.version === version.version) return;
  const reverse = planUpgrade(version, from);
  if (!reverse.ok || reverse.path.length !== 1) {
    issues.add(
      at,
      `headscale ${from.version} -> ${version.version} is not the reverse of one upgrade step the kit backs up (${version.version} -> ${from.version} ${reverse.ok ? "is not a single step" : "is not an allowed upgrade"}), so no backup taken before ${from.version} was deployed can hold ${version.version}'s database`,
      `roll back only to the release ${from.version} was upgraded from, or restore a backup by hand with cdktf-tailnet restore`,
    );
  }
}
