/**
 * A Debian image that boots like a small VM: systemd as PID 1, sshd (key login only, host keys
 * made at first boot), nftables, sudo and curl. Built with debootstrap (minbase) from the Debian
 * mirror apt already uses here, then tarred into
 * `${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/images/`, named by a hash of the recipe: later
 * runs (and CI on the same machine) import the cached tarball. Images cannot be pulled here.
 */
import { execa } from "execa";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasCommand } from "./commands.js";
import type { DockerEngine } from "./docker-engine.js";
import { cacheDir } from "./upstream.js";

const PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "nftables", "sudo", "curl", "ca-certificates"];

/** Files written into the root file system after debootstrap: [path, content, mode]. */
const TWEAKS: readonly [string, string, number][] = [
  // Host keys are made at first boot, so every container has its own (the image has none).
  [
    "/etc/systemd/system/ssh.service.d/host-keys.conf",
    "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n",
    0o644,
  ],
  [
    "/etc/ssh/sshd_config.d/cdktf-test.conf",
    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\nListenAddress 127.0.0.1\n",
    0o644,
  ],
  ["/etc/hostname", "vm\n", 0o644],
  // systemd makes a machine id at boot when the file is empty.
  ["/etc/machine-id", "", 0o444],
];
/** Units that have nothing to do in a container. */
const MASKED = [
  "getty@tty1.service",
  "console-getty.service",
  "systemd-udevd.service",
  "systemd-remount-fs.service",
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "e2scrub_all.timer",
  "fstrim.timer",
];

function osRelease(key: string): string | undefined {
  try {
    return readFileSync("/etc/os-release", "utf8").match(new RegExp(`^${key}="?([^"\\n]*)"?$`, "m"))?.[1];
  } catch {
    return undefined;
  }
}

/** The Debian mirror apt is configured with for `suite` (deb822 .sources, then sources.list). */
export function debianMirror(suite: string): string {
  const dir = "/etc/apt/sources.list.d";
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".sources"))
        .map((f) => join(dir, f))
    : [];
  for (const file of files) {
    for (const stanza of readFileSync(file, "utf8").split(/\n\s*\n/)) {
      const field = (name: string) =>
        stanza
          .match(new RegExp(`^${name}:\\s*(.+)$`, "mi"))?.[1]
          ?.trim()
          .split(/\s+/) ?? [];
      if (field("Enabled")[0] === "no" || !field("Types").includes("deb")) continue;
      const uri = field("URIs").find((u) => /^https?:\/\//.test(u));
      if (uri && field("Suites").includes(suite) && field("Components").includes("main")) return uri;
    }
  }
  if (existsSync("/etc/apt/sources.list")) {
    for (const line of readFileSync("/etc/apt/sources.list", "utf8").split("\n")) {
      const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+(\S+)\s+(.*)$/);
      if (m && m[2] === suite && m[3]!.split(/\s+/).includes("main")) return m[1]!;
    }
  }
  return "http://deb.debian.org/debian";
}

export interface SystemdImage {
  /** The cached tarball. */
  readonly tarball: string;
  /** Seconds spent building it in this call (0 when it came from the cache). */
  readonly buildSeconds: number;
}

/**
 * A Debian minbase root file system with `packages`, tarred into the cache under a name made of
 * `label` and a hash of `recipe(suite)` (everything that shapes it); `tweak` changes the
 * root before it is tarred. Built once per machine; later calls return the cached tarball.
 */
export async function debianImageTarball(
  label: string,
  packages: readonly string[],
  recipe: (suite: string) => unknown,
  tweak: (root: string) => void = () => undefined,
): Promise<SystemdImage> {
  const suite = osRelease("VERSION_CODENAME") || "bookworm";
  const hash = createHash("sha256")
    .update(JSON.stringify(recipe(suite)))
    .digest("hex")
    .slice(0, 12);
  const dir = join(cacheDir, "images");
  const tarball = join(dir, `debian-${suite}-${label}-${hash}.tar`);
  if (existsSync(tarball) && statSync(tarball).size > 0) return { tarball, buildSeconds: 0 };
  if (!hasCommand("debootstrap")) throw new Error(`${tarball} is not built and debootstrap is not installed: apt-get install debootstrap`);
  const buildSeconds = await cachedTarball(tarball, async (root) => {
    const mirror = debianMirror(suite);
    const r = await execa("debootstrap", ["--variant=minbase", `--include=${packages.join(",")}`, suite, root, mirror], {
      reject: false,
      all: true,
      timeout: 15 * 60_000,
    });
    if (r.exitCode !== 0) throw new Error(`debootstrap ${suite} from ${mirror} failed (exit ${r.exitCode}):\n${(r.all ?? "").slice(-3000)}`);
    tweak(root);
    rmSync(join(root, "var/cache/apt/archives"), { recursive: true, force: true });
    mkdirSync(join(root, "var/cache/apt/archives/partial"), { recursive: true });
  });
  return { tarball, buildSeconds };
}

/**
 * `tarball` (in the cache's images folder), tarred from a root file system that `fill` makes in a
 * `.build-*` folder beside it (`work`, removed afterwards, also on failure); nothing when it is
 * already there. Resolves with the seconds spent building (0 from the cache).
 */
export async function cachedTarball(tarball: string, fill: (root: string, work: string) => Promise<void>): Promise<number> {
  if (existsSync(tarball) && statSync(tarball).size > 0) return 0;
  const dir = join(cacheDir, "images");
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const work = mkdtempSync(join(dir, ".build-"));
  try {
    const root = join(work, "root");
    await fill(root, work);
    mkdirSync(root, { recursive: true });
    const part = join(work, "image.tar");
    const tar = await execa("tar", ["--numeric-owner", "-C", root, "-cf", part, "."], { reject: false, all: true });
    if (tar.exitCode !== 0) throw new Error(`tar failed:\n${tar.all}`);
    renameSync(part, tarball);
  } finally {
    // Go's module cache is read-only: make everything removable first.
    await execa("chmod", ["-R", "u+w", work], { reject: false });
    rmSync(work, { recursive: true, force: true });
  }
  return (Date.now() - started) / 1000;
}

/** The cached tarball, built first when missing. */
export async function systemdImageTarball(): Promise<SystemdImage> {
  return debianImageTarball(
    "systemd-sshd",
    PACKAGES,
    (suite) => ({ suite, PACKAGES, TWEAKS, MASKED, version: 1 }),
    (root) => {
      for (const f of readdirSync(join(root, "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))) unlinkSync(join(root, "etc/ssh", f));
      for (const [path, content, mode] of TWEAKS) {
        const target = join(root, path);
        mkdirSync(join(target, ".."), { recursive: true });
        writeFileSync(target, content, { mode });
      }
      for (const unit of MASKED) {
        const target = join(root, "etc/systemd/system", unit);
        rmSync(target, { force: true });
        symlinkSync("/dev/null", target);
      }
    },
  );
}

/** Imports the tarball into `engine` as `tag`, with systemd as the command. */
export async function importSystemdImage(engine: DockerEngine, tarball: string, tag: string): Promise<void> {
  await engine.docker(["import", "-c", 'CMD ["/lib/systemd/systemd"]', "-c", "ENV container=docker", tarball, tag], { timeoutMs: 300_000 });
}
