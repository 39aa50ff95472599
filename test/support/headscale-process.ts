/**
 * Running the real headscale on what the kit renders, for the integration tests.
 *
 * - `freeLoopbackPorts(n)`: distinct free TCP ports on 127.0.0.1 (bind to port 0, read, close).
 * - `prepareHeadscale(tailnet, options)`: a temporary directory with `etc/`, `lib/` and `run/`, the
 *   tailnet relocated into it (listeners on 127.0.0.1 free ports), and headscale's files written to
 *   `etc/`: the rendered config.yaml and derp.yaml, or for negative tests a config object mutated
 *   from `headscaleConfigObject()` (serialised with the renderer's own `toYaml`) and/or raw
 *   derp.yaml text.
 * - `headscaleConfigtest(binary, sandbox)`: `headscale configtest -c`, exit code and output.
 * - `startHeadscale(binary, sandbox)`: `headscale serve` as a child process, waited on (bounded)
 *   until `/health` answers or the process exits.
 * - `stopAllHeadscale()` / `cleanupSandboxes()`: for afterEach/afterAll; every started process is
 *   stopped by its pid (SIGTERM, then SIGKILL), every temporary directory removed.
 *
 * All traffic stays on 127.0.0.1. The child gets no HEADSCALE_* variables from the test runner's
 * environment (headscale reads them as config overrides) and NO_COLOR, so its log is plain text.
 */
import { execa, type ResultPromise } from "execa";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { relocateHeadscale, type PreparedTailnet } from "../../model/index.js";
import { headscaleConfigObject, placeHeadscaleFiles, renderTailnet, type RenderedFile } from "../../render/index.js";
import { toYaml } from "../../render/yaml-text.js";

/** A plain JSON-like config object, as `headscaleConfigObject()` returns it. */
export type ConfigObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// ports

/** `count` distinct free TCP ports on 127.0.0.1: all are bound at once (so they differ), then released. */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

// ---------------------------------------------------------------------------------------------
// sandboxes

/** A temporary directory holding one headscale's config, state and socket. */
export interface HeadscaleSandbox {
  readonly root: string;
  /** The tailnet as headscale runs it here: relocated paths and loopback listeners. */
  readonly tailnet: PreparedTailnet;
  readonly configDir: string;
  readonly configPath: string;
  readonly derpYamlPath: string;
  /** The config object config.yaml was serialised from (after any `config` change). */
  readonly configObject: ConfigObject;
  /** What was written: config.yaml's text, and derp.yaml's (undefined when none was written). */
  readonly configYaml: string;
  readonly derpYaml: string | undefined;
  /** Every file the renderer produced for the relocated tailnet (derp.json included). */
  readonly rendered: readonly RenderedFile[];
  /** `http://127.0.0.1:<port>` of the main listener (`/health`). */
  readonly serverBase: string;
  /** `http://127.0.0.1:<port>` of the metrics/debug listener (`/debug/derp`). */
  readonly metricsBase: string;
}

/** How to deviate from the rendered files (negative tests). */
export interface PrepareOptions {
  /**
   * Change the config before it is written: receives a deep copy of `headscaleConfigObject()` for
   * the relocated tailnet; may mutate it in place or return a replacement. The result is
   * serialised with `toYaml`, exactly as the renderer serialises.
   */
  readonly config?: (config: ConfigObject) => ConfigObject | void;
  /** Raw derp.yaml text to write instead of the rendered one. */
  readonly derpYaml?: string;
}

const sandboxes = new Set<string>();

/**
 * Creates a temporary directory for `tailnet` (already resolved), relocates headscale into it
 * with listeners on free loopback ports, and writes config.yaml and derp.yaml into its config dir.
 */
export async function prepareHeadscale(tailnet: PreparedTailnet, options: PrepareOptions = {}): Promise<HeadscaleSandbox> {
  const root = mkdtempSync(join(tmpdir(), "hs-it-"));
  sandboxes.add(root);
  const paths = { configDir: join(root, "etc"), stateDir: join(root, "lib"), runDir: join(root, "run") };
  for (const dir of Object.values(paths)) mkdirSync(dir, { recursive: true });
  // headscale's unix socket goes in runDir; Linux caps socket paths at 107 bytes.
  if (join(paths.runDir, "headscale.sock").length > 100) {
    throw new Error(`temporary directory ${root} is too deep for headscale's unix socket; set TMPDIR to a shorter path`);
  }
  const [listen, metrics, grpc] = (await freeLoopbackPorts(3)) as [number, number, number];
  const relocated = relocateHeadscale(tailnet, {
    paths,
    listenAddr: `127.0.0.1:${listen}`,
    metricsListenAddr: `127.0.0.1:${metrics}`,
    grpcListenAddr: `127.0.0.1:${grpc}`,
  });
  const rendered = renderTailnet(relocated);
  const renderedText = (path: string): string | undefined => rendered.find((f) => f.path === path)?.content;

  let configObject = headscaleConfigObject(relocated);
  let configYaml = renderedText("headscale/config.yaml")!;
  if (options.config) {
    const copy = structuredClone(configObject);
    configObject = options.config(copy) ?? copy;
    configYaml = toYaml(configObject);
  }
  const configPath = join(paths.configDir, "config.yaml");
  writeFileSync(configPath, configYaml);

  // Every other file headscale reads (the policy) goes where config.yaml says, as rendered.
  for (const { hostPath, file } of placeHeadscaleFiles(relocated)) {
    if (!["headscale/config.yaml", "headscale/derp.yaml"].includes(file.path)) {
      mkdirSync(dirname(hostPath), { recursive: true });
      writeFileSync(hostPath, file.content);
    }
  }
  const derpYaml = options.derpYaml ?? renderedText("headscale/derp.yaml");
  const derpYamlPath = join(paths.configDir, "derp.yaml");
  if (derpYaml !== undefined) writeFileSync(derpYamlPath, derpYaml);

  return {
    root,
    tailnet: relocated,
    configDir: paths.configDir,
    configPath,
    derpYamlPath,
    configObject,
    configYaml,
    derpYaml,
    rendered,
    serverBase: `http://127.0.0.1:${listen}`,
    metricsBase: `http://127.0.0.1:${metrics}`,
  };
}

/** Removes every sandbox created so far. */
export function cleanupSandboxes(): void {
  for (const root of sandboxes) {
    rmSync(root, { recursive: true, force: true });
    sandboxes.delete(root);
  }
}

// ---------------------------------------------------------------------------------------------
// running headscale

/** The environment headscale runs with: the runner's, minus HEADSCALE_* overrides, plus NO_COLOR. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HEADSCALE_")) env[k] = v;
  }
  env.NO_COLOR = "1";
  return env;
}

/** The outcome of a one-shot headscale command. */
export interface CommandResult {
  readonly exitCode: number | undefined;
  /** stdout and stderr, interleaved. */
  readonly output: string;
  readonly timedOut: boolean;
}

/** Runs `headscale configtest -c <config>` (bounded to 30 s). */
export async function headscaleConfigtest(binary: string, sandbox: HeadscaleSandbox): Promise<CommandResult> {
  const result = await execa(binary, ["configtest", "-c", sandbox.configPath], {
    cwd: sandbox.root,
    env: childEnv(),
    extendEnv: false,
    reject: false,
    all: true,
    stdin: "ignore",
    timeout: 30_000,
    killSignal: "SIGKILL",
  });
  return { exitCode: result.exitCode, output: String(result.all ?? ""), timedOut: result.timedOut };
}

/** A `headscale serve` child process. */
export interface HeadscaleProcess {
  readonly pid: number;
  /** `/health` answered `{"status":"pass"}` before the process exited or the wait ran out. */
  readonly ready: boolean;
  /** Set once the process has exited (e.g. it refused the config). */
  readonly exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Stops it by pid: SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

const running = new Map<number, HeadscaleProcess>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** GETs a URL on loopback with a short timeout; undefined when nothing answers. */
export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

/**
 * Starts `headscale serve -c <config>` and waits (polling every 100 ms, at most `waitMs`) until
 * `/health` answers `{"status":"pass"}` or the process exits. The process is registered for
 * `stopAllHeadscale()` before anything can fail.
 */
export async function startHeadscale(binary: string, sandbox: HeadscaleSandbox, waitMs = 15_000): Promise<HeadscaleProcess> {
  const child: ResultPromise = execa(binary, ["serve", "-c", sandbox.configPath], {
    cwd: sandbox.root,
    env: childEnv(),
    extendEnv: false,
    reject: false,
    buffer: false,
    stdin: "ignore",
    cleanup: true,
  });
  const pid = child.pid;
  if (pid === undefined) {
    const failed = await child;
    throw new Error(`headscale serve did not start: ${failed.message ?? "no pid"}`);
  }
  let log = "";
  child.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  let exit: HeadscaleProcess["exit"];
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  // Awaiting the execa promise itself too, so it never rejects unhandled.
  void child.catch(() => undefined);

  let ready = false;
  const handle: HeadscaleProcess = {
    pid,
    get ready() {
      return ready;
    },
    get exit() {
      return exit;
    },
    output: () => log,
    stop: async () => {
      if (exit === undefined) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
        const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
        if (!stopped) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
          await Promise.race([exited, sleep(5_000)]);
        }
      }
      running.delete(pid);
    },
  };
  running.set(pid, handle);

  const deadline = Date.now() + waitMs;
  while (exit === undefined && Date.now() < deadline) {
    const health = await httpGet(`${sandbox.serverBase}/health`);
    if (health?.status === 200) {
      try {
        if ((JSON.parse(health.body) as { status?: unknown }).status === "pass") {
          ready = true;
          break;
        }
      } catch {
        // not JSON yet: keep polling
      }
    }
    await Promise.race([exited, sleep(100)]);
  }
  return handle;
}

/**
 * Waits (bounded) for a `headscale serve` that is expected to refuse its config to exit, and
 * returns how it ended; a process still running after `waitMs` is stopped and reported as such.
 */
export async function serveExpectingRefusal(binary: string, sandbox: HeadscaleSandbox, waitMs = 15_000): Promise<CommandResult & { ready: boolean }> {
  const hs = await startHeadscale(binary, sandbox, waitMs);
  const deadline = Date.now() + waitMs;
  while (hs.exit === undefined && !hs.ready && Date.now() < deadline) await sleep(50);
  const stillRunning = hs.exit === undefined;
  const ready = hs.ready;
  if (stillRunning) await hs.stop();
  else running.delete(hs.pid);
  return { exitCode: stillRunning ? undefined : (hs.exit?.code ?? undefined), output: hs.output(), timedOut: stillRunning, ready };
}

/** Stops every `headscale serve` still running, each by its pid. */
export async function stopAllHeadscale(): Promise<void> {
  await Promise.all([...running.values()].map((p) => p.stop()));
}

/** How many started processes are still registered as running (for leak checks). */
export function runningHeadscaleCount(): number {
  return running.size;
}
