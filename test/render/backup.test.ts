/**
 * headscale's backups as rendered (render/backup.ts): the settings file is data (single-quoted,
 * no secret: restic's are named by file), the script is the same for every host, a systemd host
 * gets the service and timer, a Docker host the Dockerfile; nothing is rendered where headscale
 * runs nowhere.
 */
import { describe, expect, it } from "vitest";

import { backupInstall, renderBackupFiles, renderTailnet } from "../../render/index.js";
import { backupSpec } from "../support/backup-fixture.js";
import { minimalSpec } from "../support/specs.js";
import { prepareTailnet } from "../../secrets/index.js";

const envValue = (text: string, name: string) => new RegExp(`^${name}='([^']*)'$`, "m").exec(text)?.[1];

describe("headscale's backup files", () => {
  it("settings name the state, the backups, the schedule and restic's secret files, never a secret", () => {
    const spec = backupSpec(
      { interval: "30m", keep: 5, restic: { repository: "sftp://backup@backup.example.com:2222//srv/restic/hs", keepWeekly: 4 } },
      "0.29.3",
    );
    spec.headscale.embeddedDerp = { enabled: true };
    const files = Object.fromEntries(renderBackupFiles(prepareTailnet(spec)).map((f) => [f.path, f]));
    expect(Object.keys(files).sort()).toEqual([
      "hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
      "hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
      "hosts/hs/backup/headscale-backup.env",
      "hosts/hs/backup/headscale-backup.sh",
    ]);
    expect(files["hosts/hs/backup/headscale-backup.sh"]!.mode).toBe(0o755);
    const env = files["hosts/hs/backup/headscale-backup.env"]!.content;
    expect(Object.fromEntries([...env.matchAll(/^([A-Z_]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]))).toEqual({
      HEADSCALE_VERSION: "0.29.3",
      HEADSCALE_STATE_DIR: "/var/lib/headscale",
      BACKUP_HOST: "hs",
      BACKUP_DATABASE: "db.sqlite",
      BACKUP_KEYS: "noise_private.key derp_server_private.key",
      BACKUP_DIR: "/var/lib/headscale-backup",
      BACKUP_KEEP: "5",
      BACKUP_INTERVAL_SECONDS: "1800",
      BACKUP_RESTIC_REPOSITORY: "sftp://backup@backup.example.com:2222//srv/restic/hs",
      BACKUP_RESTIC_PASSWORD_FILE: "/etc/cdktf-tailnet/restic-password",
      BACKUP_RESTIC_CREDENTIALS_FILE: "",
      BACKUP_RESTIC_SFTP_TARGET: "backup@backup.example.com",
      BACKUP_RESTIC_SFTP_PORT: "2222",
      BACKUP_RESTIC_SSH_KEY_FILE: "/etc/cdktf-tailnet/restic-ssh-key",
      BACKUP_RESTIC_SSH_KNOWN_HOSTS_FILE: "/etc/cdktf-tailnet/restic-known-hosts",
      BACKUP_RESTIC_KEEP_HOURLY: "24",
      BACKUP_RESTIC_KEEP_DAILY: "14",
      BACKUP_RESTIC_KEEP_WEEKLY: "4",
    });
    expect(env).toContain(
      "# No secrets: restic reads them from /etc/cdktf-tailnet/restic-password, /etc/cdktf-tailnet/restic-ssh-key, /etc/cdktf-tailnet/restic-known-hosts (0600 root).",
    );
    expect(files["hosts/hs/backup/cdktf-tailnet-headscale-backup.timer"]!.content).toContain("OnUnitActiveSec=1800s\n");
  });

  it("a Docker host gets the image's Dockerfile: the base image a build argument, packages only where it lacks them, the loop as its command", () => {
    const spec = backupSpec(undefined);
    spec.hosts![0]!.docker = { daemon: "unix:///var/run/docker.sock" };
    const files = Object.fromEntries(renderBackupFiles(prepareTailnet(spec)).map((f) => [f.path.split("/").pop()!, f.content]));
    expect(Object.keys(files).sort()).toEqual(["Dockerfile", "headscale-backup.env", "headscale-backup.sh"]);
    const dockerfile = files.Dockerfile!;
    expect(dockerfile).toContain("ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim\nFROM ${BASE_IMAGE}\n");
    expect(dockerfile).toContain("for p in ca-certificates openssh-client restic sqlite3; do dpkg-query");
    expect(dockerfile).toContain(
      "COPY headscale-backup.sh /usr/local/lib/cdktf-tailnet/headscale-backup.sh\nCOPY headscale-backup.env /etc/cdktf-tailnet/headscale-backup.env\n",
    );
    expect(dockerfile).toContain(
      'ENTRYPOINT ["/bin/sh", "/usr/local/lib/cdktf-tailnet/headscale-backup.sh", "/etc/cdktf-tailnet/headscale-backup.env"]\nCMD ["loop"]\n',
    );
  });

  it("renders nothing where headscale runs nowhere, and only the script (no units) when scheduled backups are off during an upgrade", () => {
    expect(renderBackupFiles(prepareTailnet(minimalSpec()))).toEqual([]);
    const off = backupSpec({ enabled: false });
    expect(renderBackupFiles(prepareTailnet(off))).toEqual([]);
    off.headscale.version = "0.29.3";
    off.headscale.upgradeFrom = "0.28.0";
    expect(renderBackupFiles(prepareTailnet(off)).map((f) => f.path.split("/").pop())).toEqual(["headscale-backup.sh", "headscale-backup.env"]);
    expect(envValue(renderBackupFiles(prepareTailnet(off))[1]!.content, "BACKUP_INTERVAL_SECONDS")).toBe("0");
  });

  it("the host's install list: sqlite3 always, restic with a repository, ssh for sftp; a local repository's directory for headscale's user; the secrets to put there by hand", () => {
    const spec = backupSpec({ restic: { repository: "/srv/restic/hs" } });
    const tailnet = prepareTailnet(spec);
    const install = backupInstall(tailnet, tailnet.hosts[0]!);
    expect(install.packages).toEqual(["ca-certificates", "restic", "sqlite3"]);
    expect(install.timers).toEqual(["cdktf-tailnet-headscale-backup.timer"]);
    expect(install.directories).toEqual([{ path: "/srv/restic/hs", user: "headscale" }]);
    expect(install.notes).toEqual([
      "put the restic repository's password into /etc/cdktf-tailnet/restic-password (0600 root:root); the backup unit reads it from there",
    ]);
    expect(install.files.map((f) => `${f.permissions} ${f.path}`)).toEqual([
      "0755 /usr/local/lib/cdktf-tailnet/headscale-backup.sh",
      "0644 /etc/cdktf-tailnet/headscale-backup.env",
      "0644 /etc/systemd/system/cdktf-tailnet-headscale-backup.service",
      "0644 /etc/systemd/system/cdktf-tailnet-headscale-backup.timer",
    ]);
  });

  it("is byte-identical on every render", () => {
    const spec = backupSpec({ restic: { repository: "s3:https://s3.example.com/bucket/hs", credentialsFile: "/etc/cdktf-tailnet/s3.env" } });
    expect(renderTailnet(prepareTailnet(spec))).toEqual(
      renderTailnet(
        prepareTailnet(backupSpec({ restic: { repository: "s3:https://s3.example.com/bucket/hs", credentialsFile: "/etc/cdktf-tailnet/s3.env" } })),
      ),
    );
  });
});
