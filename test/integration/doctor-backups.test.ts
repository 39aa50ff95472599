/**
 * `doctor --via`: the newest backup of headscale's state, checked on its host with the rendered
 * backup script and the real sqlite3: its age against the schedule the spec sets (a finding when
 * it is older than the schedule allows) and its integrity; no backup, a damaged one, and scheduled
 * backups turned off each say so. Messages pinned.
 */
import { execa } from "execa";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BackupHost } from "../../cli/backup-host.js";
import { allowedBackupAgeSeconds, checkBackups } from "../../cli/doctor-backups.js";
import { formatFindings } from "../../cli/doctor.js";
import { loadTailnet } from "../../model/index.js";
import { backupFixture, backupSpec, type BackupFixture } from "../support/backup-fixture.js";
import { missingTool, skipReason } from "../support/requirements.js";
import { scratchDir } from "../support/scratch.js";

const skip = skipReason("doctor: backups", missingTool("sqlite3"));

function hostOf(f: BackupFixture): BackupHost {
  return {
    description: "the test's host",
    script: (args) => f.run(args),
    stopHeadscale: async () => undefined,
    startHeadscale: async () => undefined,
    healthy: async () => true,
  };
}

describe.skipIf(!!skip)("doctor: headscale's newest backup", () => {
  it("reports its age and integrity, and a finding once it is older than the schedule allows", async () => {
    const f = backupFixture(scratchDir("cdktf-doctor-backup-"), backupSpec({ interval: "1h", keep: 24 }, "0.29.3"));
    const none = await checkBackups(f.tailnet, hostOf(f));
    expect(none).toEqual([
      {
        check: "backup",
        target: "hs",
        ok: false,
        detail: "no backup of headscale on hs (every 1h)",
        fix: "look at journalctl -u cdktf-tailnet-headscale-backup.service on hs; take one now with the backup script's backup command",
      },
    ]);

    await execa("sqlite3", [
      join(f.stateDir, "db.sqlite"),
      "PRAGMA journal_mode=WAL; CREATE TABLE nodes(id INTEGER PRIMARY KEY); INSERT INTO nodes DEFAULT VALUES;",
    ]);
    writeFileSync(join(f.stateDir, "noise_private.key"), "k\n", { mode: 0o600 });
    expect((await f.run(["backup"])).code).toBe(0);
    const [name] = readdirSync(f.backupDir).filter((n) => /^\d/.test(n));
    const taken = new Date(
      Date.UTC(+name!.slice(0, 4), +name!.slice(4, 6) - 1, +name!.slice(6, 8), +name!.slice(9, 11), +name!.slice(11, 13), +name!.slice(13, 15)),
    );
    const fresh = await checkBackups(f.tailnet, hostOf(f), new Date(taken.getTime() + 12 * 60_000));
    expect(fresh).toEqual([
      {
        check: "backup",
        target: "hs",
        ok: true,
        detail: `newest backup ${name} (headscale 0.29.3, local) is 12 min old, integrity ok; every 1h, 24 kept`,
        fix: "",
      },
    ]);

    expect(allowedBackupAgeSeconds(3600)).toBe(4200);
    const stale = await checkBackups(f.tailnet, hostOf(f), new Date(taken.getTime() + 3 * 3600_000));
    expect(stale[0]!.ok).toBe(false);
    expect(stale[0]!.detail).toBe(
      `newest backup ${name} (headscale 0.29.3, local) is 3.0 h old, integrity ok; every 1h, 24 kept: older than the schedule allows (70 min)`,
    );
    expect(stale[0]!.fix).toBe(
      `the backups stopped: look at journalctl -u cdktf-tailnet-headscale-backup.service on hs (and that its timer or container runs); nodes registered since ${taken.toISOString()} are in no backup`,
    );
    expect(formatFindings(stale)).toContain("FAIL  backup  hs     newest backup");

    const db = join(f.backupDir, name!, "db.sqlite");
    const bytes = readFileSync(db);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(db, bytes);
    const damaged = await checkBackups(f.tailnet, hostOf(f), new Date(taken.getTime() + 60_000));
    expect(damaged.map((x) => [x.ok, x.detail])).toEqual([[false, `the newest backup ${name} fails its check: backup ${name} is damaged: db.sqlite: FAILED`]]);
  });

  it("has nothing to check when the spec turns scheduled backups off", async () => {
    const tailnet = loadTailnet(backupSpec({ enabled: false }));
    const host: BackupHost = {
      description: "nowhere",
      script: () => Promise.reject(new Error("not asked")),
      stopHeadscale: async () => undefined,
      startHeadscale: async () => undefined,
      healthy: async () => true,
    };
    expect(await checkBackups(tailnet, host)).toEqual([
      { check: "backup", target: "hs", ok: true, detail: "scheduled backups are off in the spec (headscale.backup.enabled: false): nothing to check", fix: "" },
    ]);
  });
});
