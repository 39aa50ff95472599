/**
 * The rendered backup script (templates/headscale-backup.sh.hbs) with the real sqlite3 and restic,
 * on a live SQLite database in WAL mode that another process keeps writing, as headscale does:
 * - every backup is a consistent snapshot that passes PRAGMA integrity_check, never a file copy;
 *   it appears under its name only once complete; keys are copied 0600; scheduled backups beyond
 *   `keep` go, the ones taken before an upgrade stay;
 * - the database's directory read-only (a read-only mount, as the Docker container has it):
 *   snapshots still work, with headscale running (WAL files present) or stopped (none);
 * - verify refuses a damaged backup (a changed byte: checksums; a changed byte with its checksum
 *   rewritten: integrity_check) with a message naming it; restore puts a backup back atomically,
 *   moves what it replaces (with the old WAL files) aside, and keeps owner and mode;
 * - pre-upgrade and rollback each run once, and a rollback restores the backup taken before the
 *   upgrade;
 * - restic: every backup is copied to a local repository (encrypted with the password from its
 *   file), listed, fetched back and restored; the credentials file is read as data, and a name it
 *   must not set is refused without echoing its value;
 * - shellcheck finds nothing.
 */
import { execa, type ResultPromise } from "execa";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupFixture, backupSpec, type BackupFixture } from "../support/backup-fixture.js";
import { missingTool, needsRoot, skipReason } from "../support/requirements.js";
import { scratchDir } from "../support/scratch.js";

const skip = skipReason("backup script", missingTool("sqlite3", "restic"));
const NAME = /^\d{8}T\d{6}Z-0\.29\.3$/;

/** A process holding the database open and writing to it, as headscale does (WAL mode). */
class Writer {
  readonly #proc: ResultPromise;
  constructor(db: string) {
    this.#proc = execa("sqlite3", [db], { stdin: "pipe", reject: false });
    this.sql("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS nodes(id INTEGER PRIMARY KEY, name TEXT, blob TEXT);");
  }
  sql(statements: string): void {
    this.#proc.stdin!.write(`${statements}\n`);
  }
  /** Inserts `n` rows. */
  insert(n: number, prefix: string): void {
    this.sql(
      `BEGIN; ${Array.from({ length: n }, (_, i) => `INSERT INTO nodes(name, blob) VALUES ('${prefix}-${i}', hex(randomblob(512)));`).join(" ")} COMMIT;`,
    );
  }
  async close(): Promise<void> {
    this.#proc.stdin!.end(".quit\n");
    await this.#proc;
  }
}

async function count(db: string): Promise<number> {
  return Number((await execa("sqlite3", [`file:${db}?mode=ro`, "SELECT count(*) FROM nodes"])).stdout.trim());
}

/** Waits until the writer's rows are visible to another connection. */
async function settled(db: string, rows: number): Promise<void> {
  for (let i = 0; i < 100 && (await count(db).catch(() => -1)) < rows; i++) await new Promise((r) => setTimeout(r, 50));
}

const names = (f: BackupFixture) =>
  existsSync(f.backupDir)
    ? readdirSync(f.backupDir)
        .filter((n) => /^\d/.test(n))
        .sort()
    : [];
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe.skipIf(!!skip)("the backup script on a live database", () => {
  let root: string;
  let f: BackupFixture;
  let writer: Writer;
  let db: string;
  const password = () => join(root, "restic-password");

  beforeAll(async () => {
    root = scratchDir("cdktf-backup-script-");
    f = backupFixture(root, backupSpec({ keep: 2, restic: { repository: join(root, "restic"), passwordFile: join(root, "restic-password") } }, "0.29.3"));
    writeFileSync(password(), "correct horse battery staple\n", { mode: 0o600 });
    db = join(f.stateDir, "db.sqlite");
    writer = new Writer(db);
    writer.insert(200, "before");
    writeFileSync(join(f.stateDir, "noise_private.key"), "privkey:0123456789abcdef\n", { mode: 0o600 });
    await settled(db, 200);
  });
  afterAll(async () => writer?.close());

  it("takes a consistent, checked snapshot of the live database and the noise key, copied to the restic repository", async () => {
    expect(existsSync(`${db}-wal`)).toBe(true); // live, in WAL mode
    const r = await f.run(["backup"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backup: initializing the restic repository$/m);
    expect(r.stdout).toMatch(/^backup: copied \d{8}T\d{6}Z-0\.29\.3 to the restic repository$/m);
    const [name] = names(f);
    expect(name).toMatch(NAME);
    const dir = join(f.backupDir, name!);
    expect(readdirSync(dir).sort()).toEqual(["SHA256SUMS", "db.sqlite", "manifest", "noise_private.key"]);
    for (const file of readdirSync(dir)) expect(mode(join(dir, file)), file).toBe("600");
    expect(mode(dir)).toBe("700");
    expect(readFileSync(join(dir, "noise_private.key"), "utf8")).toBe("privkey:0123456789abcdef\n");
    expect(await count(join(dir, "db.sqlite"))).toBe(200);
    expect((await execa("sqlite3", [join(dir, "db.sqlite"), "PRAGMA integrity_check"])).stdout).toBe("ok");
    const manifest = readFileSync(join(dir, "manifest"), "utf8");
    expect(manifest).toMatch(
      new RegExp(
        `^format=1\nname=${name}\ncreated=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\ncreated_epoch=\\d+\nheadscale_version=0\\.29\\.3\ndatabase_version=\nhost=hs\ndatabase=db\\.sqlite\nfiles=db\\.sqlite noise_private\\.key\nintegrity=ok\n$`,
      ),
    );
    // The repository is encrypted: nothing of the key or the manifest is readable in its files.
    const repoFiles = (await execa("find", [join(root, "restic"), "-type", "f"])).stdout.split("\n");
    for (const file of repoFiles) expect(readFileSync(file).includes("privkey:0123456789abcdef")).toBe(false);
    const list = await f.run(["list"]);
    expect(list.stdout.split("\n")).toEqual([`local ${name}`, `restic ${name}`]);
  });

  it("keeps every snapshot consistent while the database is written, and prunes beyond keep (the pre-upgrade backup stays)", async () => {
    const pre = await f.run(["pre-upgrade", "0.28.0", "0.29.3"]);
    expect(pre.code, pre.stderr).toBe(0);
    for (let i = 0; i < 3; i++) {
      writer.insert(300, `round-${i}`);
      const r = await f.run(["backup"]);
      expect(r.code, r.stderr).toBe(0);
    }
    const all = names(f);
    expect(all.filter((n) => n.includes("-before-"))).toHaveLength(1);
    expect(all.filter((n) => NAME.test(n))).toHaveLength(2);
    for (const n of all) {
      const v = await f.run(["verify", n]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toContain("integrity=ok");
    }
    // The repository keeps the newest of each hour (all of these are in one) and every pre-upgrade backup.
    const restic = (await f.run(["list"])).stdout.split("\n").filter((l) => l.startsWith("restic "));
    expect(restic).toEqual([`restic ${all.filter((n) => NAME.test(n)).at(-1)}`, `restic ${all.find((n) => n.includes("-before-"))}`]);
  });

  it("refuses a damaged backup with a message naming what is wrong", async () => {
    const name = names(f)
      .filter((n) => NAME.test(n))
      .at(-1)!;
    const file = join(f.backupDir, name, "db.sqlite");
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    writeFileSync(file, damaged);
    const bad = await f.run(["verify", name]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`backup: error: backup ${name} is damaged: db.sqlite: FAILED `);
    // The checksum rewritten to match: the database check still refuses it.
    const page = Buffer.from(original);
    page.fill(0x42, 100, 4096 * 2);
    writeFileSync(file, page);
    const sums = (await execa("sha256sum", ["db.sqlite", "noise_private.key", "manifest"], { cwd: join(f.backupDir, name) })).stdout;
    writeFileSync(join(f.backupDir, name, "SHA256SUMS"), `${sums}\n`);
    const corrupt = await f.run(["verify", name]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(new RegExp(`^backup: error: backup ${name} is damaged: its database fails PRAGMA integrity_check: `));
    const restore = await f.run(["restore", name]);
    expect(restore.code).toBe(1);
    writeFileSync(file, original);
    writeFileSync(
      join(f.backupDir, name, "SHA256SUMS"),
      `${(await execa("sha256sum", ["db.sqlite", "noise_private.key", "manifest"], { cwd: join(f.backupDir, name) })).stdout}\n`,
    );
    expect((await f.run(["verify", name])).code).toBe(0);
    expect((await f.run(["verify", "../../etc/passwd"])).stderr).toBe(
      "backup: error: ../../etc/passwd is not the name of a backup (<UTC time>-<version>[-before-<version>])",
    );
  });

  it("restores a backup when headscale is stopped: the database and key back, the old WAL files moved aside", async () => {
    await writer.close();
    const name = names(f)
      .filter((n) => NAME.test(n))
      .at(-1)!;
    const rows = await count(join(f.backupDir, name, "db.sqlite"));
    writeFileSync(join(f.stateDir, "noise_private.key"), "a new key headscale made\n", { mode: 0o600 });
    writeFileSync(`${db}-wal`, "stale wal");
    const r = await f.run(["restore", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^backup: restored ${name} into ${f.stateDir} \\(db\\.sqlite noise_private\\.key; owner 0:0, mode 0600\\); what it replaced is in ${f.stateDir}/\\.replaced-\\d{8}T\\d{6}Z$`,
      ),
    );
    expect(readFileSync(join(f.stateDir, "noise_private.key"), "utf8")).toBe("privkey:0123456789abcdef\n");
    expect(existsSync(`${db}-wal`)).toBe(false);
    expect(await count(db)).toBe(rows);
    expect(mode(db)).toBe("600");
    const aside = readdirSync(f.stateDir).find((n) => n.startsWith(".replaced-"))!;
    expect(readdirSync(join(f.stateDir, aside)).sort()).toEqual(["db.sqlite", "db.sqlite-wal", "noise_private.key"]);
    expect(readdirSync(f.stateDir).filter((n) => n.startsWith(".restore-"))).toEqual([]);
  });

  it("rolls back once, with the backup taken before the upgrade", async () => {
    const before = names(f).find((n) => n.includes("-before-"))!;
    expect(before).toMatch(/^\d{8}T\d{6}Z-0\.28\.0-before-0\.29\.3$/);
    const rows = await count(join(f.backupDir, before, "db.sqlite"));
    expect(rows).toBe(200);
    const r = await f.run(["rollback", "0.29.3", "0.28.0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`backup: rolled back from headscale 0.29.3 to 0.28.0 with ${before}; nodes and users registered since it was taken are gone`);
    expect(await count(db)).toBe(200);
    const again = await f.run(["rollback", "0.29.3", "0.28.0"]);
    expect(again.stdout).toBe("backup: headscale was rolled back from 0.29.3 to 0.28.0 already");
    const missing = await f.run(["rollback", "0.30.0", "0.29.3"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("there is no backup taken before headscale 0.30.0 was deployed (a name ending in -0.29.3-before-0.30.0 in");
  });

  it("fetches a backup from the restic repository when the host lost it, and restores it", async () => {
    const name = names(f)
      .filter((n) => NAME.test(n))
      .at(-1)!;
    const expected = readFileSync(join(f.backupDir, name, "db.sqlite"));
    await execa("rm", ["-rf", join(f.backupDir, name)]);
    expect((await f.run(["list"])).stdout.split("\n")).toContain(`restic ${name}`);
    const r = await f.run(["fetch", name]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(f.backupDir, name, "db.sqlite")).equals(expected)).toBe(true);
    expect((await f.run(["restore", name])).code).toBe(0);
    // Without the password nothing is read.
    chmodSync(password(), 0o600);
    writeFileSync(password(), "");
    const locked = await f.run(["list"]);
    expect(locked.stderr).toBe(`backup: error: no restic password: put the repository's password into ${password()} (0600 root)`);
    writeFileSync(password(), "correct horse battery staple\n");
  });

  it("reads the credentials file as data and refuses names restic does not use, without echoing values", async () => {
    const creds = join(root, "creds.env");
    writeFileSync(creds, "# comment\nAWS_ACCESS_KEY_ID=AKIAEXAMPLE\nEVIL=$(touch /tmp/cdktf-pwned)\n", { mode: 0o600 });
    const env = readFileSync(f.config, "utf8").replace(/^BACKUP_RESTIC_CREDENTIALS_FILE=''$/m, `BACKUP_RESTIC_CREDENTIALS_FILE='${creds}'`);
    const config = join(root, "etc", "with-creds.env");
    writeFileSync(config, env);
    const r = await execa("sh", [f.script, config, "list"], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`backup: error: the restic credentials file ${creds} sets EVIL, which is not one of restic's AWS_* or RESTIC_REST_* names`);
    expect(existsSync("/tmp/cdktf-pwned")).toBe(false);
  });
});

describe.skipIf(!!skip)("the backup script without a schedule's restic", () => {
  it("takes backups on a read-only mount of the state, with headscale running (WAL files) or stopped (none)", async (ctx) => {
    if (skipReason("backup on a read-only mount", needsRoot("a read-only bind mount"), missingTool("unshare"))) return ctx.skip();
    const root = scratchDir("cdktf-backup-ro-");
    const f = backupFixture(root, backupSpec(undefined, "0.29.3"));
    const db = join(f.stateDir, "db.sqlite");
    const writer = new Writer(db);
    writer.insert(50, "x");
    await settled(db, 50);
    writeFileSync(join(f.stateDir, "noise_private.key"), "k\n", { mode: 0o600 });
    const readOnly = () =>
      execa("unshare", ["-m", "sh", "-c", `mount --bind -o ro "$1" "$1" && exec sh "$2" "$3" backup`, "sh", f.stateDir, f.script, f.config], { reject: false });
    const live = await readOnly();
    expect(live.exitCode, live.stderr).toBe(0);
    await writer.close();
    for (const ext of ["-wal", "-shm"]) expect(existsSync(`${db}${ext}`), ext).toBe(false); // headscale stopped cleanly
    await new Promise((r) => setTimeout(r, 1100));
    const stopped = await readOnly();
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(names(f)).toHaveLength(2);
    for (const n of names(f)) expect(await count(join(f.backupDir, n, "db.sqlite"))).toBe(50);
  });

  it("says what is missing when headscale has no state yet, and backs up nothing before an upgrade then", async () => {
    const root = scratchDir("cdktf-backup-empty-");
    const f = backupFixture(root, backupSpec(undefined, "0.29.3"));
    const r = await f.run(["backup"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`backup: error: no database at ${f.stateDir}/db.sqlite: nothing to back up (has headscale started yet?)`);
    const pre = await f.run(["pre-upgrade", "0.28.0", "0.29.3"]);
    expect(pre.stdout).toBe(`backup: headscale has no state in ${f.stateDir} yet: nothing to back up before 0.29.3 starts`);
    expect(names(f)).toEqual([]);
    expect((await f.run(["pre-upgrade", "0.28.0", "0.29.3"])).stdout).toBe("backup: the backup before headscale 0.29.3 first started was taken already");
  });

  it.skipIf(!!skipReason("backup script: shellcheck", missingTool("shellcheck")))("passes shellcheck", async () => {
    const f = backupFixture(scratchDir("cdktf-backup-sc-"), backupSpec(undefined));
    const r = await execa("shellcheck", ["--shell=sh", f.script], { reject: false, all: true });
    expect(r.all).toBe("");
    expect(r.exitCode).toBe(0);
  });
});

/**
 * An sftp repository on another machine: sshd (openssh-server) in a network namespace the test
 * creates, reached from a second namespace through a veth pair, nothing else connected. restic
 * logs in with the key and checks the host key from the files the spec names; the copies reach
 * the server, and a backup the host lost is fetched back from there and restored.
 */
describe.skipIf(!!skip)("restic copies to an sftp repository on sshd in a network namespace", () => {
  const reason = skipReason("backup: sftp repository", needsRoot("network namespaces"), missingTool("ip", "/usr/sbin/sshd", "ssh-keygen", "unshare"));
  const tag = `${process.pid}`;
  const [server, client] = [`cdktf-bk-srv-${tag}`, `cdktf-bk-cli-${tag}`];
  let sshd: ResultPromise | undefined;
  let root: string;

  afterAll(async () => {
    if (sshd?.pid !== undefined) process.kill(sshd.pid, "SIGTERM");
    await sshd?.catch(() => undefined);
    for (const ns of [server, client]) await execa("ip", ["netns", "del", ns], { reject: false });
  });

  it("copies every backup there, lists it, and fetches and restores it when the host lost it", async (ctx) => {
    if (reason) return ctx.skip();
    root = scratchDir("cdktf-backup-sftp-");
    const ip = (...args: string[]) => execa("ip", args);
    for (const ns of [server, client]) await ip("netns", "add", ns);
    await ip("link", "add", `bk${tag}a`, "type", "veth", "peer", "name", `bk${tag}b`);
    await ip("link", "set", `bk${tag}a`, "netns", server);
    await ip("link", "set", `bk${tag}b`, "netns", client);
    for (const [ns, dev, address] of [
      [server, `bk${tag}a`, "10.99.7.1/24"],
      [client, `bk${tag}b`, "10.99.7.2/24"],
    ] as const) {
      await ip("-n", ns, "addr", "add", address, "dev", dev);
      await ip("-n", ns, "link", "set", dev, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
    }
    // The server: a host key, the client's key authorized, sftp only.
    const srv = join(root, "server");
    await execa("mkdir", ["-p", join(srv, "repo")]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(srv, "host_key")]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(root, "client_key")]);
    writeFileSync(join(srv, "authorized_keys"), readFileSync(join(root, "client_key.pub")));
    writeFileSync(join(root, "known_hosts"), `10.99.7.1 ${readFileSync(join(srv, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    writeFileSync(
      join(srv, "sshd_config"),
      [
        "ListenAddress 10.99.7.1",
        `HostKey ${join(srv, "host_key")}`,
        `AuthorizedKeysFile ${join(srv, "authorized_keys")}`,
        `PidFile ${join(srv, "sshd.pid")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UsePAM no",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    // sshd wants /run/sshd: a private /run in a mount namespace of its own, inside the server's network namespace.
    sshd = execa(
      "ip",
      [
        "netns",
        "exec",
        server,
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e -f "$1"',
        "sh",
        join(srv, "sshd_config"),
      ],
      { reject: false, all: true },
    );
    for (let i = 0; i < 100 && !existsSync(join(srv, "sshd.pid")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(srv, "sshd.pid")), "sshd did not start").toBe(true);

    writeFileSync(join(root, "password"), "sftp repository password\n", { mode: 0o600 });
    const f = backupFixture(
      root,
      backupSpec(
        {
          restic: {
            repository: `sftp:root@10.99.7.1:${join(srv, "repo")}`,
            passwordFile: join(root, "password"),
            sshKeyFile: join(root, "client_key"),
            sshKnownHostsFile: join(root, "known_hosts"),
          },
        },
        "0.29.3",
      ),
    );
    const inClient = (...args: string[]) => execa("ip", ["netns", "exec", client, "sh", f.script, f.config, ...args], { reject: false });
    const db = join(f.stateDir, "db.sqlite");
    const writer = new Writer(db);
    writer.insert(120, "sftp");
    await settled(db, 120);
    writeFileSync(join(f.stateDir, "noise_private.key"), "privkey:sftp\n", { mode: 0o600 });
    const b = await inClient("backup");
    await writer.close();
    expect(b.exitCode, `${b.stderr}\n${b.stdout}`).toBe(0);
    expect(b.stdout).toMatch(/^backup: copied \d{8}T\d{6}Z-0\.29\.3 to the restic repository$/m);
    expect(existsSync(join(srv, "repo", "config"))).toBe(true); // the repository is on the server
    const [name] = names(f);
    const list = await inClient("list");
    expect(list.stdout.split("\n")).toEqual([`local ${name}`, `restic ${name}`]);
    // The host lost its backups: fetched from the server, checked, restored.
    await execa("rm", ["-rf", f.backupDir]);
    const fetched = await inClient("fetch", name!);
    expect(fetched.exitCode, fetched.stderr).toBe(0);
    expect((await inClient("verify", name!)).exitCode).toBe(0);
    writeFileSync(join(f.stateDir, "noise_private.key"), "lost\n");
    const restored = await inClient("restore", name!);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(readFileSync(join(f.stateDir, "noise_private.key"), "utf8")).toBe("privkey:sftp\n");
    expect(await count(db)).toBe(120);
    // A wrong host key is refused (strict checking, nothing trusted on first use).
    writeFileSync(join(root, "known_hosts"), `10.99.7.1 ${readFileSync(join(root, "client_key.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    const spoofed = await inClient("list");
    expect(spoofed.stdout).toBe(`local ${name}\nrestic-unreachable`);
  });
});
