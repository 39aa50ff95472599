/**
 * headscale's backups in the model: on by default wherever headscale runs, what they hold, where
 * copies go, what runs before an upgrade or a rollback, and the warnings about what no backup
 * protects (model/backup.ts, model/warnings.ts).
 */
import { describe, expect, it } from "vitest";
import { loadTailnet, type TailnetSpec } from "../../model/index.js";
import { minimalSpec } from "../support/specs.js";
import { vmProxySpec, vmSpec } from "../support/vm-specs.js";

function withHost(spec: TailnetSpec, docker = false): TailnetSpec {
  spec.headscale.host = "hs";
  spec.hosts = [{ name: "hs", ...(docker ? { docker: { daemon: "unix:///var/run/docker.sock" } } : {}) }];
  return spec;
}

const headscaleWarnings = (spec: TailnetSpec) =>
  loadTailnet(spec)
    .warnings.filter((w) => w.path.startsWith("headscale.backup") || w.path === "headscale.database")
    .map((w) => [w.path, w.message, w.fix]);

describe("headscale's backups in the model", () => {
  it("are on by default where headscale runs: hourly, 48 kept, the database and the noise key, as systemd units", () => {
    const backup = loadTailnet(vmSpec()).headscale.backup;
    expect(backup).toEqual({
      schedule: { interval: "1h", intervalSeconds: 3600 },
      keep: 48,
      database: "db.sqlite",
      keys: ["noise_private.key"],
      runs: "systemd",
      restic: undefined,
      paths: {
        script: "/usr/local/lib/cdktf-tailnet/headscale-backup.sh",
        config: "/etc/cdktf-tailnet/headscale-backup.env",
        dir: "/var/lib/headscale-backup",
        service: "cdktf-tailnet-headscale-backup.service",
        timer: "cdktf-tailnet-headscale-backup.timer",
      },
      beforeStart: [],
    });
  });

  it("hold the embedded DERP server's key too when it runs, keys only for PostgreSQL, and run as a container on a Docker host", () => {
    const proxy = loadTailnet(vmProxySpec()).headscale.backup!;
    expect(proxy.database).toBeUndefined();
    expect(proxy.keys).toEqual(["noise_private.key", "derp_server_private.key"]);
    expect(loadTailnet(withHost(minimalSpec(), true)).headscale.backup!.runs).toBe("container");
    expect(loadTailnet(minimalSpec()).headscale.backup).toBeUndefined(); // no host: nothing is deployed
  });

  it("resolve restic repositories: defaults for the secret files and retention, sftp's target and port for ssh", () => {
    const spec = withHost(minimalSpec());
    spec.headscale.backup = { interval: "6h", keep: 10, restic: { repository: "sftp://backup@backup.example.com:2222//srv/restic/hs", keepDaily: 30 } };
    expect(loadTailnet(spec).headscale.backup!.restic).toEqual({
      repository: "sftp://backup@backup.example.com:2222//srv/restic/hs",
      kind: "sftp",
      passwordFile: "/etc/cdktf-tailnet/restic-password",
      credentialsFile: undefined,
      sftp: {
        target: "backup@backup.example.com",
        port: 2222,
        keyFile: "/etc/cdktf-tailnet/restic-ssh-key",
        knownHostsFile: "/etc/cdktf-tailnet/restic-known-hosts",
      },
      keep: { hourly: 24, daily: 30, weekly: 8 },
    });
    spec.headscale.backup.restic = { repository: "sftp:backup@10.0.0.2:/srv/restic", sshKeyFile: "/root/.ssh/backup" };
    expect(loadTailnet(spec).headscale.backup!.restic!.sftp).toEqual({
      target: "backup@10.0.0.2",
      port: undefined,
      keyFile: "/root/.ssh/backup",
      knownHostsFile: "/etc/cdktf-tailnet/restic-known-hosts",
    });
    spec.headscale.backup.restic = { repository: "s3:https://s3.example.com/backups/hs", credentialsFile: "/etc/cdktf-tailnet/s3.env" };
    expect(loadTailnet(spec).headscale.backup!.restic).toMatchObject({ kind: "s3", credentialsFile: "/etc/cdktf-tailnet/s3.env", sftp: undefined });
  });

  it("take a backup before an upgrade, and restore it before a rollback", () => {
    const spec = withHost(minimalSpec());
    spec.headscale.version = "0.29.3";
    spec.headscale.upgradeFrom = "0.28.0";
    expect(loadTailnet(spec).headscale.backup!.beforeStart).toEqual([{ step: "pre-upgrade", from: "0.28.0", to: "0.29.3" }]);
    delete spec.headscale.upgradeFrom;
    spec.headscale.version = "0.28.0";
    spec.headscale.rollbackFrom = "v0.29.3";
    const tailnet = loadTailnet(spec);
    expect(tailnet.headscale.backup!.beforeStart).toEqual([{ step: "rollback", from: "0.29.3", to: "0.28.0" }]);
    expect(tailnet.headscale.rollbackFrom!.version).toBe("0.29.3");
    // Even with scheduled backups off, the step runs.
    spec.headscale.backup = { enabled: false };
    expect(loadTailnet(spec).headscale.backup).toMatchObject({ schedule: undefined, beforeStart: [{ step: "rollback" }] });
  });

  it("warn about what no backup protects: without off-host copies, the backups themselves", () => {
    expect(headscaleWarnings(withHost(minimalSpec()))).toEqual([
      [
        "headscale.backup.restic",
        "headscale's backups stay on host hs (/var/lib/headscale-backup): losing the host loses the tailnet's state and every backup of it",
        'add headscale.backup.restic with a repository off the host, e.g. { repository: "sftp:backup@backup.example.com:/srv/restic/headscale" } (its password in /etc/cdktf-tailnet/restic-password on the host)',
      ],
    ]);
    expect(headscaleWarnings(withHost(minimalSpec(), true))[0]![1]).toBe(
      "headscale's backups stay on host hs (/var/lib/headscale-backup, a volume on its Docker engine): losing the host loses the tailnet's state and every backup of it",
    );
    const copied = withHost(minimalSpec());
    copied.headscale.backup = { restic: { repository: "/mnt/usb/restic" } };
    expect(headscaleWarnings(copied)).toEqual([]);
  });

  it("warn when scheduled backups are off, and that the kit does not back a PostgreSQL database up", () => {
    const off = withHost(minimalSpec());
    off.headscale.backup = { enabled: false };
    expect(headscaleWarnings(off)).toEqual([
      [
        "headscale.backup.enabled",
        "headscale keeps the whole tailnet's state, its private keys and its SQLite database in /var/lib/headscale on host hs, and scheduled backups are off (headscale.backup.enabled: false): losing it means every node registers again",
        "remove enabled: false (the kit then snapshots the database and keys on a schedule), or back the state up by other means",
      ],
    ]);
    const postgres = vmProxySpec();
    postgres.headscale.backup = { restic: { repository: "rest:https://backup.example.org:8000/hs" } };
    expect(headscaleWarnings(postgres)).toEqual([
      [
        "headscale.database",
        "the kit backs up headscale's private keys only: nothing of the kit backs up the PostgreSQL database, which holds every node, user, key and route",
        "back the database up with PostgreSQL's own tools (pg_dump or continuous archiving) on its own schedule",
      ],
    ]);
  });
});
