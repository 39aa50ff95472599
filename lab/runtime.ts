/**
 * The lab's machinery on Linux: network namespaces joined by veth pairs to a bridge in a switch
 * namespace (no default route anywhere, nothing in the root namespace), and processes started in
 * them. Every process is tracked by pid and stopped by pid; every namespace the run created is
 * deleted by name. Each process sees the lab's hosts file, resolv.conf and nsswitch.conf bound
 * over /etc in the private mount namespace `ip netns exec` gives it, so nothing on the machine's
 * /etc changes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LAB_SUBNET6, type LabMachine, type LabPlan } from "./plan.js";

/** Files bound over /etc inside every lab namespace. */
export interface LabEtc {
  readonly hosts: string;
  readonly resolvConf: string;
  readonly nsswitchConf: string;
}

/** The outcome of a one-shot command. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** A long-running lab process. */
export interface LabProcess {
  readonly name: string;
  readonly pid: number;
  readonly machine: string;
  /** The command line, as run inside the machine's namespace. */
  readonly argv: readonly string[];
  readonly logFile: string;
  /** Set once it exited. */
  readonly exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  /** Its log so far. */
  log(): string;
}

const BIND_ETC = [
  'mount --bind "$1" /etc/hosts',
  'mount --bind "$2" /etc/resolv.conf',
  'if [ -e /etc/nsswitch.conf ]; then mount --bind "$3" /etc/nsswitch.conf; fi',
  "shift 3",
  'exec "$@"',
].join(" && ");

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown when the run was interrupted (Ctrl-C). */
export class LabAborted extends Error {
  constructor() {
    super("interrupted");
    this.name = "LabAborted";
  }
}

/** Told about every namespace before it is created and every process once started (lab/state.ts). */
export interface LabRecorder {
  namespace(ns: string): void;
  process(p: { name: string; machine: string; pid: number }): void;
}

export class LabRuntime {
  /** Namespaces this run created (deleted at the end, each by name). */
  readonly namespaces: string[] = [];
  private readonly processes = new Map<number, LabProcess & { child: ChildProcess }>();
  private readonly oneShots = new Set<ChildProcess>();
  private readonly nsOf = new Map<string, string>();
  private aborted = false;

  constructor(
    /** Per-run prefix of every namespace name, e.g. `tl3f9a-`. */
    readonly prefix: string,
    readonly etc: LabEtc,
    /** The environment every lab process starts from. */
    readonly baseEnv: Readonly<Record<string, string>>,
    private readonly recorder?: LabRecorder,
  ) {}

  /** Records, then creates, a namespace. */
  private async addNamespace(ns: string): Promise<void> {
    this.recorder?.namespace(ns);
    this.namespaces.push(ns);
    await this.ip(["netns", "add", ns]);
  }

  /** The switch namespace's name. */
  get switchNamespace(): string {
    return `${this.prefix}switch`;
  }

  /** The namespace of a machine. */
  namespaceOf(machine: string): string {
    const ns = this.nsOf.get(machine);
    if (!ns) throw new Error(`no namespace for lab machine ${machine}`);
    return ns;
  }

  /** Stops waiting work and one-shot commands; long-running processes are stopped by cleanup(). */
  abort(): void {
    this.aborted = true;
    for (const child of this.oneShots) child.kill("SIGKILL");
  }

  throwIfAborted(): void {
    if (this.aborted) throw new LabAborted();
  }

  /** Sleeps, unless the run is interrupted. */
  async pause(ms: number): Promise<void> {
    this.throwIfAborted();
    await sleep(ms);
    this.throwIfAborted();
  }

  /** Runs a command in the root namespace (only `ip` is ever run there). */
  private async rootRun(argv: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
    return this.spawnOneShot(argv, this.baseEnv, timeoutMs);
  }

  private async ip(args: readonly string[]): Promise<void> {
    const r = await this.rootRun(["ip", ...args]);
    if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /**
   * Creates the switch namespace with a bridge, and one namespace per machine with `eth0` (its
   * lab address) plugged into the bridge. No routes besides the subnet's own: nothing leaves.
   */
  async createNetwork(plan: LabPlan): Promise<void> {
    const sw = this.switchNamespace;
    await this.addNamespace(sw);
    await this.ip(["-n", sw, "link", "set", "lo", "up"]);
    await this.ip(["-n", sw, "link", "add", "br0", "type", "bridge"]);
    await this.ip(["-n", sw, "link", "set", "br0", "up"]);
    let i = 0;
    for (const m of plan.machines) {
      this.throwIfAborted();
      const ns = `${this.prefix}${m.name}`;
      this.nsOf.set(m.name, ns);
      await this.addNamespace(ns);
      const port = `p${i++}`;
      await this.ip(["-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      await this.ip(["-n", sw, "link", "set", port, "master", "br0", "up"]);
      await this.ip(["-n", ns, "link", "set", "lo", "up"]);
      if (!m.ipv6Only) await this.ip(["-n", ns, "addr", "add", `${m.address}/${plan.prefixLength}`, "dev", "eth0"]);
      // nodad: usable at once, no duplicate address detection to wait for (the lab hands out every address).
      await this.ip(["-n", ns, "addr", "add", `${m.address6}/${LAB_SUBNET6.length}`, "dev", "eth0", "nodad"]);
      await this.ip(["-n", ns, "link", "set", "eth0", "up"]);
    }
  }

  /** Drops UDP to `port` over IPv6 in a machine (nftables in its namespace): IPv6 STUN closed (a break). */
  async dropIpv6Udp(machine: string, port: number): Promise<void> {
    const ns = this.namespaceOf(machine);
    const r = await this.rootRun([
      "ip",
      "netns",
      "exec",
      ns,
      "nft",
      `add table ip6 lab_break; add chain ip6 lab_break input { type filter hook input priority 0; policy accept; }; add rule ip6 lab_break input udp dport ${port} drop`,
    ]);
    if (r.code !== 0) throw new Error(`nft in ${machine} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  /**
   * A LAN behind a machine: a namespace of its own (`name`) joined to the machine by a veth pair,
   * the machine's side `ifname` (`lan0`, ...) with `routerAddress`, the LAN's side `eth0` with `lanAddress` (both
   * `/prefixLength`). The LAN has no other route: it reaches only the machine in front of it.
   */
  async createLan(machine: string, name: string, routerAddress: string, lanAddress: string, prefixLength: number, ifname = "lan0"): Promise<void> {
    this.throwIfAborted();
    const ns = `${this.prefix}${name}`;
    this.nsOf.set(name, ns);
    await this.addNamespace(ns);
    const router = this.namespaceOf(machine);
    await this.ip(["-n", router, "link", "add", ifname, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await this.ip(["-n", router, "addr", "add", `${routerAddress}/${prefixLength}`, "dev", ifname]);
    await this.ip(["-n", router, "link", "set", ifname, "up"]);
    await this.ip(["-n", ns, "link", "set", "lo", "up"]);
    await this.ip(["-n", ns, "addr", "add", `${lanAddress}/${prefixLength}`, "dev", "eth0"]);
    await this.ip(["-n", ns, "link", "set", "eth0", "up"]);
  }

  /**
   * The upstream of an exit node, as the internet is to it: a namespace (`name`) on a link of its
   * own (`exitAddress` and `gatewayAddress`, `/prefixLength`), the machine's default route via it,
   * and `listenerAddress` beyond it (on the namespace's loopback, not on the link: an exit node
   * serves no address of a network it is attached to). Nothing routes on from there.
   */
  async createUpstream(
    machine: string,
    name: string,
    up: { readonly exitAddress: string; readonly gatewayAddress: string; readonly listenerAddress: string; readonly prefixLength: number },
    ifname: string,
  ): Promise<void> {
    await this.createLan(machine, name, up.exitAddress, up.gatewayAddress, up.prefixLength, ifname);
    await this.ip(["-n", this.namespaceOf(name), "addr", "add", `${up.listenerAddress}/32`, "dev", "lo"]);
    await this.ip(["-n", this.namespaceOf(machine), "route", "add", "default", "via", up.gatewayAddress, "dev", ifname]);
  }

  /** `ip route add unreachable <address>` in a machine: it can no longer reach that address (IPv4 or IPv6). */
  async blockAddress(machine: string, address: string): Promise<void> {
    await this.ip(["-n", this.namespaceOf(machine), "route", "replace", "unreachable", `${address}/${address.includes(":") ? 128 : 32}`]);
  }

  /** The argv that runs `argv` inside a machine's namespace with the lab's /etc files. */
  private inNamespace(machine: string, argv: readonly string[]): string[] {
    const { hosts, resolvConf, nsswitchConf } = this.etc;
    return ["ip", "netns", "exec", this.namespaceOf(machine), "sh", "-c", BIND_ETC, "lab", hosts, resolvConf, nsswitchConf, ...argv];
  }

  private spawnOneShot(
    argv: readonly string[],
    env: Readonly<Record<string, string>>,
    timeoutMs: number,
    evenIfAborted = false,
    stdinOpen = false,
    onStdout?: (chunk: string) => void,
  ): Promise<RunResult> {
    if (!evenIfAborted) this.throwIfAborted();
    return new Promise((resolve) => {
      // stdinOpen: a pipe nothing is written to and that stays open until the command ends (`tailscale nc` stops at EOF on stdin).
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: [stdinOpen ? "pipe" : "ignore", "pipe", "pipe"] });
      this.oneShots.add(child);
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        onStdout?.(d.toString());
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        this.oneShots.delete(child);
        resolve({ code: null, stdout, stderr: `${stderr}${e.message}`, timedOut });
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        this.oneShots.delete(child);
        resolve({ code, stdout, stderr, timedOut });
      });
    });
  }

  /** Runs a one-shot command in a machine (bounded); never throws for a non-zero exit. */
  async run(
    machine: string,
    argv: readonly string[],
    options: { env?: Record<string, string>; timeoutMs?: number; stdinOpen?: boolean; onStdout?: (chunk: string) => void } = {},
  ): Promise<RunResult> {
    const result = await this.spawnOneShot(
      this.inNamespace(machine, argv),
      { ...this.baseEnv, ...options.env },
      options.timeoutMs ?? 30_000,
      false,
      options.stdinOpen ?? false,
      options.onStdout,
    );
    this.throwIfAborted();
    return result;
  }

  /** Starts a long-running process in a machine, its output appended to `logFile`. */
  start(name: string, machine: string, argv: readonly string[], options: { env?: Record<string, string>; logFile: string; cwd?: string }): LabProcess {
    this.throwIfAborted();
    const fd = openSync(options.logFile, "a");
    const full = this.inNamespace(machine, argv);
    let child: ChildProcess;
    try {
      child = spawn(full[0]!, full.slice(1), { env: { ...this.baseEnv, ...options.env }, stdio: ["ignore", fd, fd], cwd: options.cwd });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`${name} did not start`);
    let exit: LabProcess["exit"];
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        exit = { code, signal };
        resolve();
      });
      child.once("error", () => {
        exit ??= { code: null, signal: null };
        resolve();
      });
    });
    const logFile = options.logFile;
    const proc = {
      name,
      pid: child.pid,
      machine,
      argv: [...argv],
      logFile,
      child,
      get exit() {
        return exit;
      },
      exited,
      log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    };
    this.processes.set(child.pid, proc);
    this.history.push({ name, machine, pid: child.pid, argv: [...argv] });
    this.recorder?.process({ name, machine, pid: child.pid });
    return proc;
  }

  /** Kills one process by pid with `signal` (a fault the lab injects) and waits until it is gone. */
  async kill(proc: LabProcess, signal: NodeJS.Signals): Promise<void> {
    if (proc.exit === undefined) {
      try {
        process.kill(proc.pid, signal);
      } catch {
        // already gone
      }
      await Promise.race([proc.exited, sleep(5_000)]);
    }
    if (proc.exit !== undefined) this.processes.delete(proc.pid);
  }

  /** Every long-running process still tracked (started and not yet stopped). */
  get started(): readonly LabProcess[] {
    return [...this.processes.values()];
  }

  /** Every long-running process ever started, with its command line (for the report). */
  readonly history: { readonly name: string; readonly machine: string; readonly pid: number; readonly argv: readonly string[] }[] = [];

  /** Stops one process by pid: SIGTERM, then SIGKILL after 3 s. */
  async stop(proc: LabProcess): Promise<void> {
    if (proc.exit === undefined) {
      try {
        process.kill(proc.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const stopped = await Promise.race([proc.exited.then(() => true), sleep(3_000).then(() => false)]);
      if (!stopped) {
        try {
          process.kill(proc.pid, "SIGKILL");
        } catch {
          // already gone
        }
        await Promise.race([proc.exited, sleep(3_000)]);
      }
    }
    this.processes.delete(proc.pid);
  }

  /**
   * Stops every process by pid and deletes every namespace this run created. Safe to call more
   * than once; never throws (problems are returned, so the caller can report them).
   */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const child of this.oneShots) child.kill("SIGKILL");
    await Promise.all([...this.processes.values()].map((p) => this.stop(p)));
    for (const p of this.processes.values()) problems.push(`process ${p.name} (pid ${p.pid}) did not stop`);
    for (const ns of [...this.namespaces].reverse()) {
      const r = await this.spawnOneShot(["ip", "netns", "del", ns], this.baseEnv, 10_000, true);
      if (r.code !== 0 && !/No such file/.test(r.stderr)) problems.push(`namespace ${ns}: ${r.stderr.trim()}`);
    }
    this.namespaces.length = 0;
    return problems;
  }
}

/** A machine's display name with its address, for messages. */
export function describeMachine(m: LabMachine): string {
  return `${m.name} (${m.address})`;
}

function capabilities(): { netAdmin: boolean; sysAdmin: boolean } {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"}`);
    return { netAdmin: (eff & (1n << 12n)) !== 0n, sysAdmin: (eff & (1n << 21n)) !== 0n };
  } catch {
    return { netAdmin: false, sysAdmin: false };
  }
}

/** Why this machine cannot run a lab, or undefined when it can. */
export function labUnsupportedReason(): string | undefined {
  if (process.platform !== "linux") return `the lab needs Linux network namespaces (this is ${process.platform})`;
  const caps = capabilities();
  if (!caps.netAdmin || !caps.sysAdmin) return "the lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces";
  for (const tool of ["ip", "curl", "mount"]) {
    const found = (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").some((d) => existsSync(join(d, tool)));
    if (!found) return `the lab needs \`${tool}\` (Debian: ${tool === "ip" ? "iproute2" : tool === "mount" ? "mount" : tool})`;
  }
  return undefined;
}

/** The environment every lab process starts from: Go programs trust the lab CA only. */
export function labEnv(caFile: string, certDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LANG: "C",
    NO_COLOR: "1",
    // Go programs trust the lab CA only.
    SSL_CERT_FILE: caFile,
    SSL_CERT_DIR: certDir,
  };
}
