/**
 * Local stand-ins for the images a Docker-host stack names, made from the real programs the test
 * setup builds, since no registry can be reached here. Each mirrors what the kit relies on in the
 * real image:
 * - `docker.io/headscale/headscale:<v>`: headscale at /ko-app/headscale as the entrypoint, on PATH
 *   (the healthcheck runs `headscale health`), no shell, root (the official distroless image);
 * - the kit's helper image (`HELPER_IMAGE`, the official busybox): a static busybox with its
 *   applets in /bin (the one-shot seeds and helpers run `/bin/sh -c`);
 * - a derper image of the user's own (`derp.derper.image`): derper as the entrypoint, uid 65532,
 *   /var/lib/derper owned by it (what the kit's Dockerfile builds);
 * - the base of the kit's helper images (Debian bookworm-slim): a Debian minbase with the backup
 *   image's packages (`importBackupBaseImage`).
 * They are imported with `docker import` from a root file system written here; nothing is pulled.
 */
import { execa } from "execa";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DockerEngine } from "./docker-engine.js";
import { debianImageTarball } from "./systemd-image.js";

/** Where Debian's busybox-static installs its static binary. */
export const BUSYBOX = "/bin/busybox";

async function importRootfs(engine: DockerEngine, tag: string, build: (root: string) => void, changes: readonly string[]): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "cdktf-image-"));
  try {
    chmodSync(root, 0o755); // the image's "/" (mkdtemp makes it 0700)
    build(root);
    const tar = execa("tar", ["--numeric-owner", "-C", root, "-cf", "-", "."], { buffer: false });
    const load = execa("docker", ["import", ...changes.flatMap((c) => ["--change", c]), "-", tag], {
      env: { ...process.env, DOCKER_HOST: engine.host },
      all: true,
      reject: false,
    });
    tar.stdout!.pipe(load.stdin!);
    const [t, l] = await Promise.all([tar, load]);
    if (t.exitCode !== 0 || l.exitCode !== 0) throw new Error(`docker import ${tag} failed:\n${l.all}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function dirs(root: string, ...paths: string[]): void {
  for (const p of paths) mkdirSync(join(root, p), { recursive: true });
}

/** Imports the headscale image for `version` from the binary at `binary`. */
export async function importHeadscaleImages(engine: DockerEngine, version: string, binary: string): Promise<void> {
  await importRootfs(
    engine,
    `docker.io/headscale/headscale:${version}`,
    (root) => {
      dirs(root, "ko-app", "etc/headscale", "var/lib/headscale", "var/run/headscale", "tmp");
      chmodSync(join(root, "tmp"), 0o1777);
      copyFileSync(binary, join(root, "ko-app", "headscale"));
      chmodSync(join(root, "ko-app", "headscale"), 0o755);
    },
    ['ENTRYPOINT ["/ko-app/headscale"]', "ENV PATH=/ko-app:/usr/local/bin:/usr/bin:/bin"],
  );
}

/** Imports `tag` (the kit's helper image name) as a static busybox with its applets in /bin. */
export async function importBusyboxImage(engine: DockerEngine, tag: string): Promise<void> {
  await importRootfs(
    engine,
    tag,
    (root) => {
      dirs(root, "bin", "tmp");
      chmodSync(join(root, "tmp"), 0o1777);
      copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
      chmodSync(join(root, "bin", "busybox"), 0o755);
      for (const applet of ["sh", "cp", "mv", "rm", "mkdir", "chmod", "chown", "kill", "ls", "cat", "sleep"]) symlinkSync("busybox", join(root, "bin", applet));
    },
    ['CMD ["sh"]', "ENV PATH=/bin"],
  );
}

/** Imports a derper image tagged `tag` from the binary at `binary`. */
export async function importDerperImage(engine: DockerEngine, tag: string, binary: string): Promise<void> {
  await importRootfs(
    engine,
    tag,
    (root) => {
      dirs(root, "usr/local/bin", "var/lib/derper/certs", "etc/derper", "tmp");
      chmodSync(join(root, "tmp"), 0o1777);
      copyFileSync(binary, join(root, "usr", "local", "bin", "derper"));
      chmodSync(join(root, "usr", "local", "bin", "derper"), 0o755);
      chownSync(join(root, "var", "lib", "derper"), 65532, 65532);
      chownSync(join(root, "var", "lib", "derper", "certs"), 65532, 65532);
    },
    ['ENTRYPOINT ["/usr/local/bin/derper"]', "USER 65532:65532"],
  );
}

/** What the backup image's Dockerfile installs; its stand-in base has them already (no apt here). */
const BACKUP_BASE_PACKAGES = ["sqlite3", "restic", "openssh-client", "ca-certificates"];

/**
 * Imports a stand-in for the base image of the kit's helper images (`HELPER_BASE_IMAGE`, Debian
 * bookworm-slim) under that name: a Debian minbase (debootstrap, cached) with the backup image's
 * packages installed, so its Dockerfile's install step finds nothing missing and needs no network.
 */
export async function importBackupBaseImage(engine: DockerEngine, tag: string): Promise<void> {
  // What a slim image leaves out too (the Docker engine of the tests copies every layer per container).
  const slim = ["var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/lib/x86_64-linux-gnu/gconv"];
  const { tarball } = await debianImageTarball(
    "backup-base",
    BACKUP_BASE_PACKAGES,
    (suite) => ({ suite, packages: BACKUP_BASE_PACKAGES, slim, version: 2 }),
    (root) => {
      for (const dir of slim) rmSync(join(root, dir), { recursive: true, force: true });
    },
  );
  await engine.docker(["import", "-c", 'CMD ["/bin/bash"]', tarball, tag], { timeoutMs: 300_000 });
}
