/**
 * Stand-in base images for building the kit's own images here, where no registry can be reached.
 * The kit's Dockerfiles take their bases as build arguments (defaults: the kit's pins), so a test
 * builds them unchanged, passing these instead:
 * - `GO_IMAGE` of derper's Dockerfile: the Go toolchain of this machine (/usr/local/go) on a static
 *   busybox, laid out as the official Go image is (GOPATH /go, GOTOOLCHAIN=local), with a module
 *   proxy on disk (`/goproxy`, for GOPROXY=file:///goproxy) holding exactly the modules derper's
 *   pinned release needs, taken from this machine's module cache, and a warm build cache for them
 *   (with -trimpath a package's cache key does not depend on where its source lies), so the
 *   build in the engine compiles in seconds. It verifies no checksum against sum.golang.org
 *   (GOSUMDB=off: unreachable here); its modules were verified when this machine's cache was filled.
 * - `RUNTIME_IMAGE`: an image with nothing but /tmp, as distroless/static is for a static binary.
 * - `BASE_IMAGE` of the DNS helpers' Dockerfiles: a Debian minbase with their packages already
 *   installed (the Dockerfiles install only what a base lacks, so nothing is fetched).
 * Each is a tarball in `${CDKTF_TAILNET_CACHE:-~/.cache/cdktf-tailnet}/images/`, named by a hash of
 * its recipe and built once per machine.
 */
import { execa } from "execa";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { DockerEngine } from "./docker-engine.js";
import { BUSYBOX } from "./docker-images.js";
import { cachedTarball, debianImageTarball } from "./systemd-image.js";
import { cacheDir } from "./upstream.js";

/** This machine's Go toolchain. */
export const LOCAL_GO = "/usr/local/go";
/** Where the stand-in keeps its module proxy, and the build arguments that point derper's build at it. */
export const GO_STAND_IN_ARGS = { GOPROXY: "file:///goproxy", GOFLAGS: "-trimpath -mod=mod" } as const;

const APPLETS = ["sh", "mkdir", "ls", "cat", "cp", "mv", "rm", "chmod", "env", "true"];

async function goVersion(): Promise<string> {
  const r = await execa(join(LOCAL_GO, "bin", "go"), ["env", "GOVERSION"]);
  return r.stdout.trim();
}

/**
 * The Go builder stand-in for derper `tailscaleVersion`, tarred; built once per machine (the
 * module proxy and the warm build cache come from building derper once with this machine's Go).
 */
export async function goBuilderTarball(tailscaleVersion: string): Promise<{ tarball: string; buildSeconds: number }> {
  const go = await goVersion();
  const recipe = { go, tailscaleVersion, APPLETS, GO_STAND_IN_ARGS, version: 1 };
  const hash = createHash("sha256").update(JSON.stringify(recipe)).digest("hex").slice(0, 12);
  const tarball = join(cacheDir, "images", `go-builder-${go}-derper-${tailscaleVersion}-${hash}.tar`);
  const buildSeconds = await cachedTarball(tarball, async (root, work) => {
    mkdirSync(root, { mode: 0o755 });
    for (const d of ["bin", "tmp", "go/bin", "root/.cache", "usr/local"]) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
    copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
    chmodSync(join(root, "bin", "busybox"), 0o755);
    for (const applet of APPLETS) symlinkSync("busybox", join(root, "bin", applet));
    const cp = await execa("cp", ["-a", LOCAL_GO, join(root, "usr", "local", "go")], { reject: false, all: true });
    if (cp.exitCode !== 0) throw new Error(`copying ${LOCAL_GO} failed:\n${cp.all}`);
    // This machine's module cache, as scripts/build-upstream.sh left it (it fetched and verified derper's modules).
    const modCache = (await execa(join(LOCAL_GO, "bin", "go"), ["env", "GOMODCACHE"])).stdout.trim();
    // derper once, with this machine's module cache as the only source: what it fetches is the
    // proxy; what it compiles is the build cache.
    const modcache = join(work, "gomod");
    const r = await execa(join(LOCAL_GO, "bin", "go"), ["install", `tailscale.com/cmd/derper@v${tailscaleVersion}`], {
      reject: false,
      all: true,
      timeout: 20 * 60_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: work,
        GOTOOLCHAIN: "local",
        CGO_ENABLED: "0",
        GOPATH: join(work, "gopath"),
        GOMODCACHE: modcache,
        GOCACHE: join(root, "root", ".cache", "go-build"),
        GOPROXY: `file://${modCache}/cache/download`,
        GOSUMDB: "off",
        GOFLAGS: GO_STAND_IN_ARGS.GOFLAGS,
      },
    });
    if (r.exitCode !== 0)
      throw new Error(
        `go install derper@v${tailscaleVersion} from this machine's module cache failed (build it once with scripts/build-upstream.sh):\n${(r.all ?? "").slice(-3000)}`,
      );
    renameSync(join(modcache, "cache", "download"), join(root, "goproxy"));
  });
  return { tarball, buildSeconds };
}

/** Imports the Go builder stand-in as `tag`, its environment as the official Go image's. */
export async function importGoBuilder(engine: DockerEngine, tarball: string, tag: string): Promise<void> {
  const env = ["PATH=/go/bin:/usr/local/go/bin:/bin", "GOPATH=/go", "GOTOOLCHAIN=local", "GOSUMDB=off", "HOME=/root", "GOCACHE=/root/.cache/go-build"];
  await engine.docker(["import", ...env.flatMap((e) => ["-c", `ENV ${e}`]), tarball, tag], { timeoutMs: 600_000 });
}

/** Imports `tag` as a runtime base for a static binary: nothing but /tmp. */
export async function importRuntimeBase(engine: DockerEngine, tag: string): Promise<void> {
  const tarball = join(cacheDir, "images", "static-runtime-v1.tar");
  await cachedTarball(tarball, async (root) => {
    mkdirSync(join(root, "tmp"), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
  });
  await engine.docker(["import", tarball, tag], { timeoutMs: 120_000 });
}

/** The DNS helpers' packages (templates/acme.Dockerfile.hbs, templates/ddns.Dockerfile.hbs). */
export const HELPER_PACKAGES = ["ca-certificates", "lego", "procps", "curl", "jq", "bind9-dnsutils", "iproute2"];

/** Imports `tag` as the DNS helpers' base: a Debian minbase with their packages installed. */
export async function importHelperBase(engine: DockerEngine, tag: string): Promise<{ buildSeconds: number }> {
  const slim = ["var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"];
  const { tarball, buildSeconds } = await debianImageTarball(
    "dns-helpers-base",
    HELPER_PACKAGES,
    (suite) => ({ suite, HELPER_PACKAGES, slim, version: 1 }),
    (root) => {
      for (const dir of slim) rmSync(join(root, dir), { recursive: true, force: true });
    },
  );
  await engine.docker(["import", "-c", 'CMD ["/bin/bash"]', tarball, tag], { timeoutMs: 300_000 });
  return { buildSeconds };
}
