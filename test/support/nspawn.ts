/**
 * Booting a VM-like machine on this host: systemd as PID 1 in a systemd-nspawn container whose
 * root is a throw-away overlay of this machine's own root file system (so it has systemd,
 * cloud-init, nftables and curl exactly as installed here), with a private network (loopback
 * only), and real cloud-init seeded with user-data through its NoCloud data source.
 *
 * - The overlay's upper layer is a tmpfs in a private mount namespace (`unshare -m`): nothing the
 *   machine writes reaches this host's disk, and every mount vanishes with the namespace.
 * - /etc/systemd/system starts empty except cloud-init's four units, and the machine boots into a
 *   target of the test's own (`systemd.unit=`), so none of this host's services start in it.
 * - Each boot gets a cgroup of its own (created here, removed afterwards), so concurrent boots
 *   and this host's own processes never meet; nspawn runs with --keep-unit --register=no, since
 *   PID 1 of this host is not systemd.
 * - After cloud-init's final stage a probe script runs as root; what it writes to /out is
 *   returned, then the machine powers off.
 */
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { missingTool, needsRoot } from "./requirements.js";

/** cgroup roots a boot needs a directory in: cgroup2 (unified), and the named systemd hierarchy on hybrid hosts. */
function cgroupRoots(): string[] {
  const fsType = (path: string) => {
    try {
      return execFileSync("stat", ["-fc", "%T", path], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  if (fsType("/sys/fs/cgroup") === "cgroup2fs") return ["/sys/fs/cgroup"];
  return ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"].filter((p) => existsSync(join(p, "cgroup.procs")));
}

function computeSkipReason(): string | undefined {
  const missing = needsRoot("booting a machine with systemd-nspawn") ?? missingTool("systemd-nspawn", "cloud-init");
  if (missing) return missing;
  if (!existsSync("/lib/systemd/systemd")) return "systemd is not installed, so there is nothing to boot";
  const roots = cgroupRoots();
  if (roots.length === 0) return "no writable cgroup hierarchy for the machine's systemd";
  const probe = join(roots[0]!, `cdktf-tailnet-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (e) {
    return `cannot create a cgroup for the machine (${(e as Error).message})`;
  }
  return undefined;
}

/** Why boot tests are skipped, or undefined when they run. */
export const nspawnSkipReason: string | undefined = computeSkipReason();

/** A file put into the machine's image before it boots. */
export interface ImageFile {
  /** Absolute path in the machine. */
  readonly path: string;
  /** Content, or a file on this host to copy. */
  readonly content?: string | Buffer;
  readonly copyFrom?: string;
  readonly mode?: number;
}

export interface BootOptions {
  /** Names the machine (its host name) and its cgroup. */
  readonly name: string;
  /** cloud-init user-data, seeded through NoCloud. */
  readonly userData: string;
  /** Extra files in the image: what a cloud image or the operator would have put there. */
  readonly files?: readonly ImageFile[];
  /** POSIX sh script run as root after cloud-init's final stage; it writes its findings to /out. */
  readonly probe: string;
  readonly timeoutMs?: number;
}

export interface BootResult {
  /** The directory the probe wrote to (/out in the machine). */
  readonly outDir: string;
  /** The container's console (systemd's boot messages). */
  readonly console: string;
  readonly exitCode: number | undefined;
}

const temps: string[] = [];

/** Removes the directories boots left (call from afterAll); CDKTF_TAILNET_KEEP_BOOTS=1 keeps them to look at. */
export function cleanupBoots(): void {
  if (process.env.CDKTF_TAILNET_KEEP_BOOTS) return;
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) removeCgroup(child);
  }
  rmdirSync(dir);
}

/** Boots the machine, runs cloud-init on `userData`, then the probe; resolves when it powered off. */
export async function bootVm(options: BootOptions): Promise<BootResult> {
  const work = mkdtempSync(join(tmpdir(), `cdktf-boot-${options.name}-`));
  temps.push(work);
  const image = join(work, "image");
  const outDir = join(work, "out");
  mkdirSync(outDir);
  const put = (path: string, content: string | Buffer, mode = 0o644) => {
    const target = join(image, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    chmodSync(target, mode);
  };
  for (const f of options.files ?? []) {
    if (f.copyFrom) {
      const target = join(image, f.path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(f.copyFrom, target);
      chmodSync(target, f.mode ?? 0o755);
    } else {
      put(f.path, f.content ?? "", f.mode);
    }
  }
  put("/var/lib/cloud/seed/nocloud/user-data", options.userData, 0o600);
  put("/var/lib/cloud/seed/nocloud/meta-data", `instance-id: cdktf-test-${options.name}\nlocal-hostname: ${options.name}\n`, 0o600);
  // The image's own configuration, as a cloud image would have it: a locale that exists.
  put("/etc/cloud/cloud.cfg.d/99-cdktf-test-image.cfg", "locale: C.UTF-8\n");
  put("/cdktf-probe.sh", options.probe, 0o755);
  put(
    "/etc/systemd/system/cdktf-probe.service",
    "[Unit]\nDescription=cdktf-tailnet test probe\nAfter=cloud-final.service\nSuccessAction=poweroff-force\nFailureAction=poweroff-force\n\n[Service]\nType=oneshot\nExecStart=/bin/sh /cdktf-probe.sh\nStandardOutput=journal+console\n",
  );
  put("/etc/systemd/system/cdktf-test.target", "[Unit]\nDescription=cdktf-tailnet test machine\nWants=cloud-init.target cdktf-probe.service\n");

  const cgroupName = `cdktf-tailnet-boot-${process.pid}-${options.name}`;
  const cgroups = cgroupRoots().map((root) => join(root, cgroupName));
  const script = `set -eu
for cg in ${cgroups.join(" ")}; do mkdir "$cg"; echo $$ > "$cg/cgroup.procs"; done
root=${work}/root; upper=${work}/upper
mkdir -p "$root" "$upper"
mount -t tmpfs tmpfs "$upper"
mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd
mkdir -p "$upper/u" "$upper/w"
mount -t overlay overlay -o "lowerdir=/,upperdir=$upper/u,workdir=$upper/w" "$root"
# A fresh machine: no units of this host enabled, no cloud-init state.
rm -rf "$root/etc/systemd/system" "$root/var/lib/cloud" "$root"/var/log/cloud-init*
mkdir -p "$root/etc/systemd/system/cloud-init.target.wants"
for u in cloud-init-local cloud-init cloud-config cloud-final; do ln -s "/lib/systemd/system/$u.service" "$root/etc/systemd/system/cloud-init.target.wants/$u.service"; done
cp -a ${image}/. "$root/"
exec systemd-nspawn -q -D "$root" --machine=${options.name} --register=no --keep-unit --link-journal=no --private-network \\
  --bind=${outDir}:/out -b -- systemd.unit=cdktf-test.target
`;
  writeFileSync(join(work, "boot.sh"), script);
  try {
    const run = await execa("unshare", ["-m", "--propagation", "private", "bash", join(work, "boot.sh")], {
      reject: false,
      all: true,
      timeout: options.timeoutMs ?? 90_000,
      env: { SYSTEMD_LOG_COLOR: "0", SYSTEMD_COLORS: "0" },
    });
    return { outDir, console: run.all ?? "", exitCode: run.exitCode };
  } finally {
    for (const cg of [...cgroups].reverse()) {
      try {
        removeCgroup(cg);
      } catch {
        // a process still in it (a timed-out boot): leave it to the kernel; nothing else uses the name
      }
    }
  }
}
