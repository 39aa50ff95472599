/**
 * `cdktf-tailnet restore` (cli/restore.ts) against the real headscale: a running headscale whose
 * database and noise key are deleted is brought back from the newest backup (the rendered backup
 * script took it while headscale ran), on the state and key it had; what was created after the
 * backup is reported lost; a damaged backup and one from a newer headscale are refused before
 * headscale is touched, with messages pinned here. How each `--via` reaches the host (ssh, docker,
 * local) is checked with stand-in programs that record their arguments.
 */
import { execa } from "execa";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { backupHostFor, type BackupHost } from "../../cli/backup-host.js";
import { runCli } from "../../cli/main.js";
import { formatBackupList, parseBackupList, restoreBackup, RestoreRefused, versionRefusal } from "../../cli/restore.js";
import { loadTailnet, relocateHeadscale } from "../../model/index.js";
import type { PreparedTailnet } from "../../model/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { renderBackupFiles } from "../../render/index.js";
import { backupSpec } from "../support/backup-fixture.js";
import { cleanupSandboxes, httpGet, prepareHeadscale, startHeadscale, stopAllHeadscale, type HeadscaleProcess } from "../support/headscale-process.js";
import { missingTool, skipReason } from "../support/requirements.js";
import { scratchDir } from "../support/scratch.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

afterAll(async () => {
  await stopAllHeadscale();
  cleanupSandboxes();
});

const version = upstreamVersions.headscale.at(-1)!.replace(/^v/, "");
const skip = skipReason("restore", upstreamSkipReason, missingTool("sqlite3"));

/** headscale in a sandbox with the rendered backup script next to it, reached as the CLI reaches a host. */
async function sandboxHost(): Promise<{
  host: BackupHost;
  tailnet: PreparedTailnet;
  state: string;
  headscale: () => HeadscaleProcess;
  cli: (...args: string[]) => Promise<string>;
}> {
  const bin = upstreamBinary("headscale", version);
  const sandbox = await prepareHeadscale(prepareTailnet(backupSpec(undefined, version)));
  const tailnet = relocateHeadscale(sandbox.tailnet, { paths: sandbox.tailnet.headscale.paths, backupDir: join(sandbox.root, "backups") });
  const files = renderBackupFiles(tailnet);
  const script = join(sandbox.configDir, "headscale-backup.sh");
  const config = join(sandbox.configDir, "headscale-backup.env");
  writeFileSync(script, files.find((f) => f.path.endsWith(".sh"))!.content);
  writeFileSync(config, files.find((f) => f.path.endsWith(".env"))!.content);
  let proc = await startHeadscale(bin, sandbox);
  if (!proc.ready) throw new Error(`headscale did not start:\n${proc.output()}`);
  const host: BackupHost = {
    description: "the test's sandbox",
    script: async (args) => {
      const r = await execa("sh", [script, config, ...args], { reject: false });
      return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    stopHeadscale: () => proc.stop(),
    startHeadscale: async () => {
      proc = await startHeadscale(bin, sandbox);
    },
    healthy: async () => (await httpGet(`${sandbox.serverBase}/health`))?.body.includes("pass") ?? false,
  };
  const cli = async (...args: string[]) => (await execa(bin, ["-c", sandbox.configPath, ...args])).stdout;
  return { host, tailnet, state: tailnet.headscale.paths.stateDir, headscale: () => proc, cli };
}

const users = async (cli: (...args: string[]) => Promise<string>) =>
  ((JSON.parse(await cli("users", "list", "-o", "json")) ?? []) as { name: string }[]).map((u) => u.name).sort();

describe.skipIf(!!skip)(`restore on the real headscale ${version}`, () => {
  it("brings headscale back from the newest backup after its database and noise key were deleted while it ran", async () => {
    const { host, tailnet, state, headscale, cli } = await sandboxHost();
    await cli("users", "create", "alice");
    const key = readFileSync(join(state, "noise_private.key"));
    const taken = await host.script(["backup"]);
    expect(taken.code, taken.stderr).toBe(0);
    await cli("users", "create", "bob"); // after the backup: lost by the restore
    // The disaster, while headscale runs.
    for (const f of ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "noise_private.key"]) rmSync(join(state, f), { force: true });
    const before = headscale().pid;
    const progress: string[] = [];
    const result = await restoreBackup(tailnet, host, { onProgress: (l) => progress.push(l), nodes: () => users(cli) });
    expect(headscale().pid).not.toBe(before);
    expect(result.backup.name).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${version.replace(/\./g, "\\.")}$`));
    expect(result.fetched).toBe(false);
    expect(result.manifest.integrity).toBe("ok");
    expect(result.lostNodes).toEqual(["bob"]);
    expect(result.downtimeMs).toBeLessThan(30_000);
    expect(await users(cli)).toEqual(["alice"]);
    expect(readFileSync(join(state, "noise_private.key")).equals(key)).toBe(true);
    expect(progress[0]).toMatch(/^verified \d{8}T\d{6}Z-[\d.]+: db\.sqlite noise_private\.key \(integrity ok\), made by headscale [\d.]+$/);
    expect(progress.at(-1)).toMatch(/^headscale is healthy again, [\d.]+ s after it was stopped$/);
  }, 90_000);

  it("refuses a damaged backup, and one from a newer headscale, without stopping headscale", async () => {
    const { host, tailnet, state, headscale } = await sandboxHost();
    const taken = await host.script(["backup"]);
    expect(taken.code, taken.stderr).toBe(0);
    const name = (await host.script(["list"])).stdout.split("\n")[0]!.replace(/^local /, "");
    const db = join(tailnet.headscale.backup!.paths.dir, name, "db.sqlite");
    const bytes = readFileSync(db);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(db, bytes);
    const pid = headscale().pid;
    const refused = await restoreBackup(tailnet, host, { backup: name }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RestoreRefused);
    expect((refused as Error).message).toBe(`backup ${name} is damaged: db.sqlite: FAILED; it was not restored, nothing was changed, headscale keeps running`);
    expect(headscale().pid).toBe(pid);
    expect(await host.healthy()).toBe(true);
    // A spec that targets 0.28.0 would open it: refused.
    const older = relocateHeadscale(loadTailnet(backupSpec(undefined, "0.28.0")), {
      paths: tailnet.headscale.paths,
      backupDir: tailnet.headscale.backup!.paths.dir,
    });
    const newer = await restoreBackup(older, host, { backup: name }).catch((e: unknown) => e);
    expect((newer as Error).message).toBe(
      `backup ${name} holds a database headscale ${version} used, newer than headscale 0.28.0, which would open it: headscale does not migrate a database back. Restore a backup made by 0.28.0 or older (one taken before the upgrade to ${version} is named *-before-${version}), or set headscale.version to ${version}; nothing was changed`,
    );
    expect(headscale().pid).toBe(pid);
    const none = await restoreBackup(tailnet, host, { backup: "20200101T000000Z-0.29.3" }).catch((e: unknown) => e);
    expect((none as Error).message).toBe(`there is no backup 20200101T000000Z-0.29.3 on the test's sandbox (the newest is ${name}): nothing was changed`);
    expect(readFileSync(join(state, "noise_private.key")).length).toBeGreaterThan(0);
  }, 90_000);
});

describe("restore's parts", () => {
  it("reads the script's list: newest first, where each is, a repository that could not be read", () => {
    const listing = parseBackupList(
      "local 20260102T030405Z-0.29.3\nlocal 20260101T000000Z-0.28.0-before-0.29.3\nrestic 20260102T030405Z-0.29.3\nrestic 20251231T230000Z-0.29.3\nrestic-unreachable\n",
    );
    expect(listing.resticUnreachable).toBe(true);
    expect(listing.backups.map((b) => [b.name, b.version, b.before, b.where.join("+")])).toEqual([
      ["20260102T030405Z-0.29.3", "0.29.3", undefined, "local+restic"],
      ["20260101T000000Z-0.28.0-before-0.29.3", "0.28.0", "0.29.3", "local"],
      ["20251231T230000Z-0.29.3", "0.29.3", undefined, "restic"],
    ]);
    expect(listing.backups[0]!.created.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(formatBackupList(listing, new Date("2026-01-02T04:04:05Z"))).toBe(
      [
        "backup                                 headscale  age         where",
        "20260102T030405Z-0.29.3                0.29.3     60 min ago  local+restic",
        "20260101T000000Z-0.28.0-before-0.29.3  0.28.0     28 h ago    local         taken before the upgrade to 0.29.3",
        "20251231T230000Z-0.29.3                0.29.3     29 h ago    restic",
        "(the restic repository could not be read)",
      ].join("\n"),
    );
  });

  it("the command: usage, --via required, the spec checked first", async () => {
    const run = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const help = await run("help", "restore");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: cdktf-tailnet restore <spec> --via <how> \[--backup <name>\] \[--list\] \[--json\]\n/);
    expect((await run("--help")).out).toContain("  restore <spec> --via <how>     list headscale's backups, restore one (verified first)");
    const dir = scratchDir("cdktf-restore-cli-");
    const spec = join(dir, "tailnet.yaml");
    writeFileSync(spec, stringify(backupSpec(undefined)));
    const noVia = await run("restore", spec);
    expect(noVia.code).toBe(2);
    expect(noVia.err).toMatch(/^cdktf-tailnet restore: restore needs --via: where headscale and its backups are\nusage: cdktf-tailnet restore/);
  });

  it("opens a backup only with a headscale that can: never older, never skipping a minor version", () => {
    expect(versionRefusal("b", "0.28.0", undefined, "0.28.0")).toBeUndefined();
    expect(versionRefusal("b", "0.28.0", undefined, "0.29.3")).toBeUndefined(); // migrated forward at start
    expect(versionRefusal("b", "0.28.0", "v0.29.3", "0.28.0")).toMatch(/^backup b holds a database headscale 0\.29\.3 used, newer than headscale 0\.28\.0/);
    expect(versionRefusal("b", "0.27.1", undefined, "0.29.3")).toMatch(/^backup b was made by headscale 0\.27\.1; headscale 0\.27\.1 -> 0\.29\.3 skips 0\.28/);
  });

  it("reaches the host as --via says: ssh with sudo, docker with the backup image and volumes, local with systemctl", async () => {
    const bin = scratchDir("cdktf-restore-stubs-");
    const log = join(bin, "calls");
    for (const program of ["ssh", "docker", "systemctl", "sh", "headscale"]) {
      writeFileSync(
        join(bin, program),
        `#!/bin/bash\nprintf '%s\\n' "${program} $*" >> ${log}\ncase "$*" in *"inspect -f"*) echo cdktf-tailnet/headscale-backup-hs:abc ;; esac\nexit 0\n`,
      );
      chmodSync(join(bin, program), 0o755);
    }
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const spec = backupSpec({ restic: { repository: "sftp:backup@backup.example.com:/srv/restic" } });
      const tailnet = loadTailnet(spec);
      const calls = async (via: string) => {
        writeFileSync(log, "");
        const host = backupHostFor(via, tailnet);
        await host.script(["verify", "20260102T030405Z-0.29.3"]);
        await host.stopHeadscale();
        await host.startHeadscale();
        await host.healthy();
        return readFileSync(log, "utf8").trim().split("\n");
      };
      expect(await calls("ssh:root@vm.example.com")).toEqual([
        "ssh -o BatchMode=yes root@vm.example.com -- sudo -n sh /usr/local/lib/cdktf-tailnet/headscale-backup.sh /etc/cdktf-tailnet/headscale-backup.env verify 20260102T030405Z-0.29.3",
        "ssh -o BatchMode=yes root@vm.example.com -- sudo -n systemctl stop headscale.service",
        "ssh -o BatchMode=yes root@vm.example.com -- sudo -n systemctl start headscale.service",
        "ssh -o BatchMode=yes root@vm.example.com -- sudo -n headscale health",
      ]);
      expect(await calls("docker:headscale@ssh://deploy@engine.example.com")).toEqual([
        "docker -H ssh://deploy@engine.example.com inspect -f {{.Config.Image}} headscale-backup",
        "docker -H ssh://deploy@engine.example.com run --rm --network bridge --cap-drop ALL --security-opt no-new-privileges:true -v headscale-data:/var/lib/headscale -v headscale-backups:/var/lib/headscale-backup " +
          "--mount type=bind,source=/etc/cdktf-tailnet/restic-password,target=/etc/cdktf-tailnet/restic-password,readonly " +
          "--mount type=bind,source=/etc/cdktf-tailnet/restic-ssh-key,target=/etc/cdktf-tailnet/restic-ssh-key,readonly " +
          "--mount type=bind,source=/etc/cdktf-tailnet/restic-known-hosts,target=/etc/cdktf-tailnet/restic-known-hosts,readonly " +
          "cdktf-tailnet/headscale-backup-hs:abc verify 20260102T030405Z-0.29.3",
        "docker -H ssh://deploy@engine.example.com stop headscale",
        "docker -H ssh://deploy@engine.example.com start headscale",
        "docker -H ssh://deploy@engine.example.com exec headscale headscale health",
      ]);
      expect(await calls("local:headscale,/etc/headscale/config.yaml")).toEqual([
        "sh /usr/local/lib/cdktf-tailnet/headscale-backup.sh /etc/cdktf-tailnet/headscale-backup.env verify 20260102T030405Z-0.29.3",
        "systemctl stop headscale.service",
        "systemctl start headscale.service",
        "headscale -c /etc/headscale/config.yaml health",
      ]);
      expect(() => backupHostFor("ftp:x", tailnet)).toThrow(
        '--via "ftp:x": use local:<binary>[,<config>], docker:<container>[@ssh://user@host] or ssh:<user@host>',
      );
    } finally {
      process.env.PATH = path;
    }
  });
});
