/**
 * A Docker engine of the test's own, and "VM" containers booted with systemd as PID 1 and sshd.
 *
 * - `startDockerEngine()` runs Debian's dockerd (package docker.io) with everything under a
 *   temporary directory: data root (vfs storage driver: works on any file system), exec root,
 *   pid file, socket, an empty daemon.json. `--iptables=false --ip6tables=false
 *   --ip-forward=false --ip-masq=false --bridge=none`: it touches neither this machine's firewall
 *   nor its sysctls, and creates no bridge. `stop()` removes its containers, ends dockerd by pid
 *   (and so its containerd), and removes the directory and the cgroups the containers had.
 * - `startDockerEngine({ bridgeNetwork: true })` instead runs dockerd inside a network namespace
 *   of the test's own (`ip netns add`, entered with `nsenter --net` so dockerd keeps this
 *   machine's mounts and cgroups), with Docker's default bridge there: containers get addresses
 *   on that bridge and published ports listen in that namespace, reached from the test with
 *   `inNetns()` (all of it inside the namespace; still no iptables rules, forwarding or
 *   masquerading: the userland proxy carries published ports).
 * - `bootSystemdContainer()` runs an image with systemd as PID 1 and **no network but its own
 *   loopback** (`--network none`). Docker's port publishing needs a bridge network, whose
 *   container addresses are private-range addresses with a default route through this machine;
 *   instead, `forwardToContainer()` listens on 127.0.0.1 here and hands each connection to a
 *   helper that runs inside the container's network namespace (`nsenter --net`) and connects to
 *   the container's own 127.0.0.1. All traffic stays on loopback, on both sides.
 * - The container's cgroups live under a parent of the test's own (`--cgroup-parent`), removed
 *   afterwards. On this machine's cgroup v1 (hybrid) layout, systemd in the container runs with
 *   `-v /sys/fs/cgroup:/sys/fs/cgroup:ro` in the host's cgroup namespace (Docker's default on v1):
 *   the controllers' own mounts stay writable below the read-only tmpfs, and systemd manages its
 *   sub-tree `<parent>/<container id>`. On a pure cgroup v2 host the container gets a cgroup
 *   namespace of its own and a writable cgroup2 mount (`--cgroupns=private`, rw bind), the usual
 *   recipe there; that path is not exercised on this machine.
 */
import { execa } from "execa";
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingTool, needsRoot } from "./requirements.js";

const FORWARD_HELPER = fileURLToPath(new URL("./netns-forward.mjs", import.meta.url));

/** Why a test that needs a Docker engine of its own skips, or undefined when it can run. */
export function dockerSkipReason(): string | undefined {
  return needsRoot("starting a Docker engine") ?? missingTool("dockerd", "docker", "nsenter", "/bin/busybox", "ip");
}

function cgroupV2Only(): boolean {
  try {
    return execFileSync("stat", ["-fc", "%T", "/sys/fs/cgroup"], { encoding: "utf8" }).trim() === "cgroup2fs";
  } catch {
    return false;
  }
}

/** Every cgroup hierarchy root of this machine (v1 controllers, the named systemd one, and unified). */
function cgroupRoots(): string[] {
  if (cgroupV2Only()) return ["/sys/fs/cgroup"];
  return readdirSync("/sys/fs/cgroup")
    .map((d) => join("/sys/fs/cgroup", d))
    .filter((p) => existsSync(join(p, "cgroup.procs")));
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) removeCgroupTree(child);
  }
  try {
    rmdirSync(dir);
  } catch {
    // still holds a process (a container that did not stop): the kernel keeps it; the name is unique
  }
}

export interface DockerEngine {
  /** `unix://...`, for DOCKER_HOST. */
  readonly host: string;
  /** The network namespace dockerd runs in (`bridgeNetwork` engines), for `ip netns exec`. */
  readonly netns: string | undefined;
  readonly pid: number;
  /** Runs the docker client against this engine. */
  docker(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** The cgroup parent this engine's containers get. */
  readonly cgroupParent: string;
  /** dockerd's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Options of {@link startDockerEngine}. */
export interface DockerEngineOptions {
  /** Run dockerd in a network namespace of its own with Docker's bridge network (see above). */
  readonly bridgeNetwork?: boolean;
  /**
   * Also listen on tcp://127.0.0.1:2376 (in that namespace, so `bridgeNetwork` is required) with
   * TLS, clients verified against `ca`: PEM file paths.
   */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** Starts dockerd; resolves once it answers. */
export async function startDockerEngine(options: DockerEngineOptions = {}): Promise<DockerEngine> {
  if (options.tls && !options.bridgeNetwork) throw new Error("startDockerEngine: tls needs bridgeNetwork (the TCP listener lives in the engine's namespace)");
  const netns = options.bridgeNetwork ? `cdktf-docker-${process.pid}` : undefined;
  if (netns) {
    execFileSync("ip", ["netns", "add", netns]);
    execFileSync("ip", ["-n", netns, "link", "set", "lo", "up"]);
  }
  const dir = mkdtempSync(join(tmpdir(), "cdktf-dockerd-"));
  const sock = join(dir, "docker.sock");
  const config = join(dir, "daemon.json");
  writeFileSync(config, "{}\n");
  // dockerd's and containerd's own temporary files stay in the engine's directory, removed with it:
  // when containerd is slow to stop, dockerd asks it for a stack dump (SIGUSR1) before killing it,
  // and containerd writes containerd.<pid>.stacks.log into its TMPDIR (seen on a loaded machine).
  const engineTemp = join(dir, "tmp");
  mkdirSync(engineTemp);
  const cgroupParent = `/cdktf-tailnet-docker-${process.pid}`;
  let output = "";
  const network = netns ? ["--bip=172.30.0.1/24", "--default-address-pool=base=172.30.0.0/16,size=24"] : ["--bridge=none"];
  const tls = options.tls
    ? ["--host", "tcp://127.0.0.1:2376", "--tlsverify", "--tlscacert", options.tls.ca, "--tlscert", options.tls.cert, "--tlskey", options.tls.key]
    : [];
  const child: ChildProcess = spawn(
    netns ? "nsenter" : "dockerd",
    [
      ...(netns ? [`--net=/run/netns/${netns}`, "--", "dockerd"] : []),
      "--config-file",
      config,
      "--data-root",
      join(dir, "data"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "dockerd.pid"),
      "--host",
      `unix://${sock}`,
      ...tls,
      "--storage-driver=vfs",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-forward=false",
      "--ip-masq=false",
      ...network,
      "--exec-opt",
      "native.cgroupdriver=cgroupfs",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: engineTemp } },
  );
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const host = `unix://${sock}`;
  const env = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, "client") };
  const docker = async (args: readonly string[], options: { input?: string; timeoutMs?: number } = {}) => {
    const r = await execa("docker", [...args], {
      env,
      reject: false,
      all: true,
      timeout: options.timeoutMs ?? 120_000,
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    if (r.exitCode !== 0) throw new Error(`docker ${args.join(" ")} failed (exit ${r.exitCode}):\n${r.all}`);
    return r.stdout;
  };

  const stop = async () => {
    try {
      const ids = (await docker(["ps", "-aq"], { timeoutMs: 20_000 })).split("\n").filter(Boolean);
      if (ids.length > 0) await docker(["rm", "-f", ...ids], { timeoutMs: 60_000 });
    } catch {
      // the engine is already gone: its containers went with it
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    // Mounts dockerd left behind if it was killed (netns and shm bind mounts under the exec root).
    try {
      const mounts = execFileSync("awk", [`index($2, "${dir}") == 1 { print $2 }`, "/proc/self/mounts"], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .reverse();
      for (const m of mounts) execFileSync("umount", ["-l", m], { stdio: "ignore" });
    } catch {
      // nothing mounted
    }
    rmSync(dir, { recursive: true, force: true });
    for (const root of cgroupRoots()) removeCgroupTree(join(root, cgroupParent));
    if (netns) execFileSync("ip", ["netns", "del", netns], { stdio: "ignore" });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      if (netns) execFileSync("ip", ["netns", "del", netns], { stdio: "ignore" });
      throw new Error(`dockerd exited before it answered:\n${output.slice(-3000)}`);
    }
    const r = await execa("docker", ["version", "--format", "{{.Server.Version}}"], { env, reject: false });
    if (r.exitCode === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not answer within 30 s:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { host, netns, pid: child.pid!, docker, cgroupParent, log: () => output, stop };
}

export interface SystemdContainer {
  readonly id: string;
  /** PID of the container's init (systemd) on this machine. */
  readonly pid: number;
  /** Runs a command in the container as root; throws on failure unless `allowFailure`. */
  exec(command: readonly string[], options?: { input?: string; allowFailure?: boolean }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** Options of {@link bootSystemdContainer}. */
export interface BootOptions {
  /** Attach to the engine's bridge (a `bridgeNetwork` engine) instead of `--network none`. */
  readonly bridge?: boolean;
  /** Extra `docker run` arguments, e.g. `["-v", "/path:/path"]`. */
  readonly extraArgs?: readonly string[];
}

/** Boots `image` with systemd as PID 1 and waits until systemd finished starting up. */
export async function bootSystemdContainer(engine: DockerEngine, image: string, name: string, options: BootOptions = {}): Promise<SystemdContainer> {
  if (options.bridge && !engine.netns) throw new Error("bootSystemdContainer: bridge needs an engine started with bridgeNetwork");
  const cgroupArgs = cgroupV2Only() ? ["--cgroupns=private", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"] : ["-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"];
  const id = (
    await engine.docker([
      "run",
      "-d",
      "--name",
      name,
      "--hostname",
      name,
      "--network",
      options.bridge ? "bridge" : "none",
      ...(options.extraArgs ?? []),
      // Mounts (the units' sandboxes) and nftables; and, as root on a VM has it, CAP_SYS_PTRACE:
      // without it systemd fails to set up PrivateUsers= together with ProtectProc=invisible
      // ("Failed to set up user namespacing: No such file or directory").
      "--cap-add",
      "SYS_ADMIN",
      "--cap-add",
      "NET_ADMIN",
      "--cap-add",
      "SYS_PTRACE",
      "--tmpfs",
      "/run",
      "--tmpfs",
      "/run/lock",
      ...cgroupArgs,
      "--cgroup-parent",
      engine.cgroupParent,
      "--stop-signal",
      "SIGRTMIN+3",
      image,
    ])
  ).trim();
  const pid = Number((await engine.docker(["inspect", "-f", "{{.State.Pid}}", id])).trim());
  const exec: SystemdContainer["exec"] = async (command, options = {}) => {
    const r = await execa("docker", ["exec", ...(options.input !== undefined ? ["-i"] : []), id, ...command], {
      env: { ...process.env, DOCKER_HOST: engine.host },
      reject: false,
      timeout: 120_000,
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    const result = { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    if (result.exitCode !== 0 && !options.allowFailure)
      throw new Error(`${command.join(" ")} in ${name} failed (exit ${result.exitCode}):\n${r.stdout}\n${r.stderr}`);
    return result;
  };
  const deadline = Date.now() + 60_000;
  let state = "";
  while (Date.now() < deadline) {
    state = (await exec(["systemctl", "is-system-running"], { allowFailure: true })).stdout.trim();
    if (state === "running" || state === "degraded") return { id, pid, exec };
    await new Promise((r) => setTimeout(r, 250));
  }
  const failed = (await exec(["systemctl", "--failed", "--no-pager"], { allowFailure: true })).stdout;
  throw new Error(`systemd in ${name} did not finish starting (state ${JSON.stringify(state)}):\n${failed}`);
}

export interface Forward {
  /** The port on 127.0.0.1 that reaches the container's 127.0.0.1:<targetPort>. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (a free port) and carries each connection to 127.0.0.1:`targetPort` inside
 * the network namespace of process `pid` (the container's init).
 */
export async function forwardToContainer(pid: number, targetPort: number): Promise<Forward> {
  const dir = mkdtempSync(join(tmpdir(), "cdktf-forward-"));
  const sock = join(dir, "forward.sock");
  const helper = spawn("nsenter", [`--net=/proc/${pid}/ns/net`, "--", process.execPath, FORWARD_HELPER, sock, String(targetPort)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    helper.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolve();
    });
    helper.once("exit", (code) => reject(new Error(`the forwarding helper exited (${code}) before it was ready`)));
  });
  const open = new Set<import("node:net").Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.once("close", () => open.delete(client));
    const upstream = connect(sock);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once("error", end).once("close", end);
    upstream.once("error", end).once("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (helper.exitCode === null && helper.signalCode === null) {
        const gone = new Promise<void>((resolve) => helper.once("exit", () => resolve()));
        helper.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A directory for scratch files of a test, removed by the returned function. */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
