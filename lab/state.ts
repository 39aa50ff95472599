/**
 * What a lab run puts on the machine, written down while it runs, so that nothing depends on the
 * lab process living to its end:
 *
 * - `<state dir>/lock`: the run that holds the machine (its id, the lab process's pid and start
 *   time), created exclusively: a second lab is refused while the first one's process lives, and
 *   told to run `cdktf-tailnet lab down` when a killed one left something behind;
 * - `<state dir>/run-<id>.json`: the run's namespaces (written before each is created), every
 *   process it started (pid and start time, so a reused pid is never mistaken for it) and its run
 *   directory.
 *
 * `labDown()` (`cdktf-tailnet lab down`) stops a running lab through its own cleanup (SIGTERM to
 * the lab process), then removes whatever a run left: the processes it recorded, every process
 * still inside one of its namespaces (`ip netns pids`), the namespaces (recorded, and any named
 * `tl<id>-*` for a run id it knows, or whose switch namespace `tl<id>-switch` is still there
 * although no record names the run) and the run directory.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { writeFileAtomic } from "../fsx/atomic-file.js";
import { isRunning, type ProcessId, processId } from "../fsx/process-id.js";

/** Where lab runs are recorded (a runtime directory: emptied at boot, when namespaces go too). */
export const DEFAULT_LAB_STATE_DIR = "/run/cdktf-tailnet/lab";

/** The state directory: `CDKTF_TAILNET_LAB_STATE_DIR`, else {@link DEFAULT_LAB_STATE_DIR}. */
export function labStateDir(): string {
  return process.env.CDKTF_TAILNET_LAB_STATE_DIR ?? DEFAULT_LAB_STATE_DIR;
}

/** Every lab namespace is named `tl<run id>-<machine>`, the run id 4 hex digits. */
export const LAB_NAMESPACE = /^tl([0-9a-f]{4})-[a-z0-9.-]+$/;

/** Run directories are `<tmp>/tailnet-lab-<run id>-<random>`. */
export const RUN_DIR_PREFIX = "tailnet-lab-";

/** A lab run as recorded. */
export interface LabRunState {
  readonly runId: string;
  /** Prefix of every namespace name of the run, `tl<id>-`. */
  readonly prefix: string;
  readonly tailnet: string;
  /** The process running the lab (the CLI, a test, a benchmark). */
  readonly owner: ProcessId & { readonly command: string };
  readonly startedAt: string;
  runDir: string | undefined;
  readonly namespaces: string[];
  readonly processes: (ProcessId & { readonly name: string; readonly machine: string })[];
}

interface LockFile {
  readonly runId: string;
  readonly owner: ProcessId & { readonly command: string };
  readonly tailnet: string;
  readonly startedAt: string;
}

/** Another lab holds the machine, or a killed one left something behind: nothing was started. */
export class LabBusy extends Error {
  constructor(
    message: string,
    readonly reason: "running" | "leftovers",
    readonly runId: string,
  ) {
    super(message);
    this.name = "LabBusy";
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function ownerCommand(): string {
  try {
    return readFileSync("/proc/self/cmdline", "utf8")
      .split("\0")
      .filter((a) => a !== "")
      .join(" ")
      .slice(0, 300);
  } catch {
    return process.argv.join(" ");
  }
}

function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

/** Namespaces on the machine (`ip netns list`, names only). */
export async function listNamespaces(): Promise<string[]> {
  const r = await command(["ip", "netns", "list"], 10_000);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n !== "");
}

/** What a run left on the machine now. */
export interface LabLeftovers {
  readonly runId: string;
  readonly namespaces: readonly string[];
  /** Recorded processes still running, and every process inside one of the run's namespaces. */
  readonly pids: readonly number[];
  readonly runDirs: readonly string[];
}

/** The run directory a run recorded, else (killed before it recorded one) those named after its id. */
function runDirsOf(runId: string, recorded: string | undefined): string[] {
  const dirs = new Set<string>();
  if (recorded) return isRunDir(recorded) && existsSync(recorded) ? [recorded] : [];
  try {
    for (const entry of readdirSync(tmpdir())) {
      if (entry.startsWith(`${RUN_DIR_PREFIX}${runId}-`)) dirs.add(join(tmpdir(), entry));
    }
  } catch {
    // no temporary directory to look in
  }
  return [...dirs];
}

/** Only directories the lab makes are ever removed: `<tmp>/tailnet-lab-<id>-*`. */
function isRunDir(path: string): boolean {
  return new RegExp(`^${RUN_DIR_PREFIX}[0-9a-f]{4}-`).test(basename(path));
}

async function namespacePids(ns: string): Promise<number[]> {
  const r = await command(["ip", "netns", "pids", ns], 10_000);
  return r.stdout
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** What run `runId` (with its state, when recorded) left on the machine. */
async function leftoversOf(runId: string, state: LabRunState | undefined, namespaces: readonly string[]): Promise<LabLeftovers> {
  const prefix = `tl${runId}-`;
  const mine = [...new Set([...(state?.namespaces ?? []), ...namespaces.filter((n) => n.startsWith(prefix))])].filter((n) => namespaces.includes(n));
  const pids = new Set<number>();
  for (const p of state?.processes ?? []) if (isRunning(p)) pids.add(p.pid);
  for (const ns of mine) for (const pid of await namespacePids(ns)) pids.add(pid);
  return { runId, namespaces: mine, pids: [...pids].sort((a, b) => a - b), runDirs: runDirsOf(runId, state?.runDir) };
}

const nothingLeft = (l: LabLeftovers) => l.namespaces.length === 0 && l.pids.length === 0 && l.runDirs.length === 0;

function describeLeftovers(l: LabLeftovers): string {
  const parts = [
    ...(l.namespaces.length
      ? [
          `${l.namespaces.length} namespace${l.namespaces.length === 1 ? "" : "s"} (${l.namespaces.slice(0, 3).join(", ")}${l.namespaces.length > 3 ? ", ..." : ""})`,
        ]
      : []),
    ...(l.pids.length
      ? [`${l.pids.length} process${l.pids.length === 1 ? "" : "es"} (pid ${l.pids.slice(0, 5).join(", ")}${l.pids.length > 5 ? ", ..." : ""})`]
      : []),
    ...(l.runDirs.length ? [`its run directory ${l.runDirs.join(", ")}`] : []),
  ];
  return parts.join(", ");
}

/**
 * The record of one running lab: takes the machine's lock when created, writes the run's state as
 * it grows, and gives both up at the end.
 */
export class LabRunRecord {
  private released = false;

  private constructor(
    readonly dir: string,
    private readonly state: LabRunState,
  ) {}

  get statePath(): string {
    return join(this.dir, `run-${this.state.runId}.json`);
  }

  /**
   * Takes the lock for run `runId`, or throws LabBusy: another lab's process still runs, or a lab
   * that did not end (killed) left namespaces, processes or its run directory behind. A lock whose
   * lab left nothing is taken over. With `waitMs`, waits that long for a running lab to end (or for
   * what a killed one left to be removed).
   */
  static async acquire(options: {
    dir: string;
    runId: string;
    tailnet: string;
    waitMs?: number;
    onWait?: (message: string) => void;
    signal?: AbortSignal;
  }): Promise<LabRunRecord> {
    const { dir, runId } = options;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const me = processId(process.pid)!;
    const lock: LockFile = { runId, owner: { ...me, command: ownerCommand() }, tailnet: options.tailnet, startedAt: new Date().toISOString() };
    const lockPath = join(dir, "lock");
    const deadline = Date.now() + (options.waitMs ?? 0);
    let told = false;
    for (;;) {
      try {
        const fd = openSync(lockPath, "wx", 0o600);
        try {
          writeSync(fd, `${JSON.stringify(lock, null, 2)}\n`);
        } finally {
          closeSync(fd);
        }
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const held = readJson<LockFile>(lockPath);
      if (held === undefined) {
        // Being written this very moment (or torn): look again shortly.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (isRunning(held.owner)) {
        const message =
          `another lab is running on this machine: run ${held.runId} of tailnet ${held.tailnet}, started ${ago(held.startedAt)} by pid ${held.owner.pid} (${held.owner.command}).\n` +
          `Only one lab runs at a time: wait for it to end, stop it with Ctrl-C where it runs, or run \`cdktf-tailnet lab down\` (stops it and removes everything it made).`;
        if (Date.now() < deadline && !options.signal?.aborted) {
          if (!told) options.onWait?.(`waiting for lab ${held.runId} (pid ${held.owner.pid}) to end`);
          told = true;
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        throw new LabBusy(message, "running", held.runId);
      }
      const state = readJson<LabRunState>(join(dir, `run-${held.runId}.json`));
      const left = await leftoversOf(held.runId, state, await listNamespaces());
      if (!nothingLeft(left)) {
        if (Date.now() < deadline && !options.signal?.aborted) {
          if (!told)
            options.onWait?.(`waiting for what lab ${held.runId} (pid ${held.owner.pid}, gone) left behind to be removed (\`cdktf-tailnet lab down\`)`);
          told = true;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        throw new LabBusy(
          `a lab that did not end cleanly (run ${held.runId} of tailnet ${held.tailnet}, started ${ago(held.startedAt)} by pid ${held.owner.pid}, which is gone: killed?) left ${describeLeftovers(left)} behind.\n` +
            `Remove them first: \`cdktf-tailnet lab down\` (as root).`,
          "leftovers",
          held.runId,
        );
      }
      // The lab ended without releasing its lock and left nothing: take the lock over.
      rmSync(join(dir, `run-${held.runId}.json`), { force: true });
      rmSync(lockPath, { force: true });
    }
    const record = new LabRunRecord(dir, {
      runId,
      prefix: `tl${runId}-`,
      tailnet: options.tailnet,
      owner: lock.owner,
      startedAt: lock.startedAt,
      runDir: undefined,
      namespaces: [],
      processes: [],
    });
    record.write();
    return record;
  }

  private write(): void {
    if (!this.released) writeFileAtomic(this.statePath, `${JSON.stringify(this.state, null, 2)}\n`, 0o600);
  }

  set runDir(dir: string) {
    this.state.runDir = dir;
    this.write();
  }

  /** Called before the namespace is created. */
  namespace(ns: string): void {
    this.state.namespaces.push(ns);
    this.write();
  }

  /** Called once a process started. */
  process(p: { name: string; machine: string; pid: number }): void {
    const id = processId(p.pid);
    if (!id) return;
    this.state.processes.push({ ...id, name: p.name, machine: p.machine });
    this.write();
  }

  /** Gives the machine back: the run cleaned up after itself. */
  release(): void {
    if (this.released) return;
    this.released = true;
    rmSync(this.statePath, { force: true });
    const lockPath = join(this.dir, "lock");
    if (readJson<LockFile>(lockPath)?.runId === this.state.runId) rmSync(lockPath, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// lab down

/** What `lab down` found and removed. */
export interface LabDownReport {
  /** Runs it dealt with: a running lab it stopped, or what killed labs left. */
  readonly runs: readonly {
    readonly runId: string;
    readonly tailnet: string | undefined;
    /** The lab process was alive and was asked to stop (SIGTERM); whether it finished its own cleanup in time. */
    readonly stoppedOwner: { readonly pid: number; readonly cleanedUp: boolean } | undefined;
    readonly killed: readonly number[];
    readonly namespaces: readonly string[];
    readonly runDirs: readonly string[];
  }[];
  /** What could not be removed. */
  readonly problems: readonly string[];
}

function command(argv: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`, each pid by number; returns those that would not go. */
async function killAll(ids: readonly ProcessId[], graceMs: number): Promise<number[]> {
  const send = (id: ProcessId, signal: NodeJS.Signals) => {
    if (!isRunning(id)) return;
    try {
      process.kill(id.pid, signal);
    } catch {
      // gone meanwhile
    }
  };
  for (const id of ids) send(id, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (ids.some(isRunning) && Date.now() < deadline) await sleep(100);
  for (const id of ids) send(id, "SIGKILL");
  const hard = Date.now() + 3_000;
  while (ids.some(isRunning) && Date.now() < hard) await sleep(50);
  return ids.filter(isRunning).map((id) => id.pid);
}

/**
 * Stops a running lab and removes everything any lab run left on this machine: processes (by pid),
 * namespaces, run directories, and the records themselves.
 */
export async function labDown(options: { stateDir?: string; onProgress?: (line: string) => void; ownerTimeoutMs?: number } = {}): Promise<LabDownReport> {
  const dir = options.stateDir ?? labStateDir();
  const say = options.onProgress ?? (() => undefined);
  const problems: string[] = [];
  const runs: LabDownReport["runs"][number][] = [];
  const lockPath = join(dir, "lock");
  const states = new Map<string, LabRunState>();
  const readStates = () => {
    states.clear();
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const m = /^run-([0-9a-f]{4})\.json$/.exec(entry);
      if (!m) continue;
      const s = readJson<LabRunState>(join(dir, entry));
      if (s) states.set(m[1]!, s);
    }
  };
  readStates();
  const lock = readJson<LockFile>(lockPath);

  // A running lab stops itself (its own cleanup, as on Ctrl-C); what it cannot remove in time is removed below.
  const stopped = new Map<string, { pid: number; cleanedUp: boolean }>();
  const owners = new Map<string, ProcessId & { command: string }>();
  const tailnets = new Map<string, string>();
  if (lock) {
    owners.set(lock.runId, lock.owner);
    tailnets.set(lock.runId, lock.tailnet);
  }
  for (const [id, s] of states) {
    owners.set(id, s.owner);
    tailnets.set(id, s.tailnet);
  }
  for (const [runId, owner] of owners) {
    if (!isRunning(owner) || owner.pid === process.pid) continue;
    say(`lab ${runId} is running (pid ${owner.pid}: ${owner.command}): asking it to stop (SIGTERM) and clean up`);
    try {
      process.kill(owner.pid, "SIGTERM");
    } catch {
      // ended meanwhile
    }
    const deadline = Date.now() + (options.ownerTimeoutMs ?? 20_000);
    while (isRunning(owner) && existsSync(join(dir, `run-${runId}.json`)) && Date.now() < deadline) await sleep(100);
    const cleanedUp = !existsSync(join(dir, `run-${runId}.json`));
    stopped.set(runId, { pid: owner.pid, cleanedUp });
    say(cleanedUp ? `lab ${runId} stopped and cleaned up after itself` : `lab ${runId} did not finish its cleanup in time: removing what it made`);
  }
  readStates();

  // Every run with a record, and every run whose namespaces are still there.
  const namespaces = await listNamespaces();
  const runIds = new Set<string>([...states.keys(), ...(lock && !stopped.get(lock.runId)?.cleanedUp ? [lock.runId] : [])]);
  // Runs nothing records (their record is gone): namespaces a lab made, told by the run's switch
  // namespace. Only with the machine's own state directory: one given explicitly (tests) knows
  // only its own runs, and must not take a lab recorded elsewhere for an orphan.
  if (options.stateDir === undefined) {
    for (const ns of namespaces) {
      const m = LAB_NAMESPACE.exec(ns);
      if (m && !owners.has(m[1]!) && namespaces.includes(`tl${m[1]}-switch`)) runIds.add(m[1]!);
    }
  }
  const lockNow = readJson<LockFile>(lockPath);
  for (const runId of [...runIds].sort()) {
    const state = states.get(runId);
    // A lab that runs and was not asked to stop: one that started meanwhile (it was waiting for
    // the lab stopped above), or this very process's. Never touched.
    const owner = state?.owner ?? (lockNow?.runId === runId ? lockNow.owner : undefined) ?? owners.get(runId);
    if (owner && isRunning(owner) && !stopped.has(runId)) continue;
    const left = await leftoversOf(runId, state, namespaces);
    const killed: number[] = [];
    if (left.pids.length > 0) {
      say(`lab ${runId}: stopping ${left.pids.length} process(es) by pid: ${left.pids.join(", ")}`);
      const ids = left.pids.map((pid) => processId(pid)).filter((x): x is ProcessId => x !== undefined);
      const stubborn = await killAll(ids, 3_000);
      for (const pid of stubborn) problems.push(`lab ${runId}: process ${pid} did not stop`);
      killed.push(...left.pids.filter((p) => !stubborn.includes(p)));
    }
    // Switch last: it names the run until the end.
    const ordered = [...left.namespaces].sort((a, b) => (a.endsWith("-switch") ? 1 : 0) - (b.endsWith("-switch") ? 1 : 0));
    const deleted: string[] = [];
    for (const ns of ordered) {
      const r = await command(["ip", "netns", "del", ns], 10_000);
      if (r.code === 0 || /No such file/.test(r.stderr)) deleted.push(ns);
      else problems.push(`lab ${runId}: namespace ${ns}: ${r.stderr.trim()}`);
    }
    if (deleted.length) say(`lab ${runId}: deleted ${deleted.length} namespace(s): ${deleted.join(", ")}`);
    const removedDirs: string[] = [];
    for (const d of left.runDirs) {
      try {
        if (statSync(d).isDirectory()) rmSync(d, { recursive: true, force: true });
        removedDirs.push(d);
      } catch (e) {
        problems.push(`lab ${runId}: run directory ${d}: ${(e as Error).message}`);
      }
    }
    if (removedDirs.length) say(`lab ${runId}: removed ${removedDirs.join(", ")}`);
    if (!problems.some((p) => p.startsWith(`lab ${runId}:`))) {
      rmSync(join(dir, `run-${runId}.json`), { force: true });
      if (readJson<LockFile>(lockPath)?.runId === runId) rmSync(lockPath, { force: true });
    }
    runs.push({ runId, tailnet: tailnets.get(runId), stoppedOwner: stopped.get(runId), killed, namespaces: deleted, runDirs: removedDirs });
  }
  for (const [runId, s] of stopped) {
    if (!runs.some((r) => r.runId === runId)) runs.push({ runId, tailnet: tailnets.get(runId), stoppedOwner: s, killed: [], namespaces: [], runDirs: [] });
  }
  // A lock whose lab is gone and left nothing.
  const still = readJson<LockFile>(lockPath);
  if (still && !isRunning(still.owner) && !runs.some((r) => r.runId === still.runId && problems.some((p) => p.startsWith(`lab ${r.runId}:`))))
    rmSync(lockPath, { force: true });
  return { runs, problems };
}
