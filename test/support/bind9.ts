/**
 * A real BIND 9 (Debian's `bind9`) for the tests: one primary zone on 127.0.0.1 at a free port,
 * dynamic updates allowed only with the TSIG keys given, updates and queries logged to files so a
 * test can prove what was (not) sent. Started as a child process, stopped by its pid.
 *
 * - `bindSkipReason`: why the BIND tests cannot run here (named, dig or nsupdate missing), or undefined.
 * - `startBind9(options)`: writes named.conf and the zone into a fresh temp dir, starts `named -f`,
 *   waits (bounded) until it answers the zone's SOA.
 * - `lookup(server, name, type)`: `dig +short` against it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { freeLoopbackPorts } from "./headscale-process.js";
import { hasCommand } from "./commands.js";
import { missingTool } from "./requirements.js";
import { stopChild } from "./processes.js";

const NAMED = ["/usr/sbin/named", "named"].find((p) => (p.startsWith("/") ? existsSync(p) : hasCommand(p)));

/** Why the BIND tests are skipped, or undefined when named, dig and nsupdate are all here. */
export const bindSkipReason: string | undefined = (NAMED ? undefined : missingTool("/usr/sbin/named")) ?? missingTool("dig", "nsupdate");

export interface TsigKey {
  readonly name: string;
  readonly algorithm: string;
  /** base64 */
  readonly secret: string;
}

export interface BindOptions {
  /** e.g. `example.test` */
  readonly zone: string;
  /** Extra zone-file lines, relative to the origin, e.g. `derp-home IN A 192.0.2.1`. */
  readonly records: readonly string[];
  /** Keys allowed to update any name in the zone. */
  readonly keys: readonly TsigKey[];
}

export interface Bind9 {
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** Lines BIND logged for updates (granted, denied, applied). */
  updateLog(): string;
  /** Lines BIND logged for queries. */
  queryLog(): string;
  stop(): Promise<void>;
}

/** A random TSIG secret, base64 (as tsig-keygen makes them). */
export function tsigSecret(): string {
  return randomBytes(32).toString("base64");
}

function readOr(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

async function waitFor<T>(what: string, attempt: () => Promise<T | undefined>, child: ChildProcess, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}`);
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready after ${ms} ms`);
}

/** `dig +short` at the test server; the answer lines, sorted. */
export async function lookup(bind: Pick<Bind9, "port">, name: string, type: string): Promise<string[]> {
  const { stdout } = await execa("dig", ["+short", "+norecurse", "+time=2", "+tries=1", "-p", String(bind.port), "@127.0.0.1", name, type]);
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

/** Starts BIND on 127.0.0.1 with one zone; stop() ends it by its pid and removes its directory. */
export async function startBind9(options: BindOptions): Promise<Bind9> {
  const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-bind9-"));
  const [port] = await freeLoopbackPorts(1);
  const zoneFile = join(dir, `${options.zone}.zone`);
  writeFileSync(
    zoneFile,
    [
      "$TTL 300",
      `@ IN SOA ns.${options.zone}. hostmaster.${options.zone}. 1 3600 600 86400 60`,
      `@ IN NS ns.${options.zone}.`,
      "ns IN A 127.0.0.1",
      ...options.records,
      "",
    ].join("\n"),
  );
  const keys = options.keys.map((k) => `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };`);
  const grants = options.keys.map((k) => `grant "${k.name}" zonesub ANY;`).join(" ");
  writeFileSync(
    join(dir, "named.conf"),
    `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  querylog yes;
  allow-query { 127.0.0.1; };
};
controls { };
${keys.join("\n")}
logging {
  channel updates { file "${dir}/update.log"; severity info; print-time yes; };
  channel queries { file "${dir}/query.log"; severity info; print-time yes; };
  channel general { file "${dir}/named.log"; severity info; print-time yes; };
  category update { updates; };
  category update-security { updates; };
  category security { updates; };
  category queries { queries; };
  category default { general; };
};
zone "${options.zone}" {
  type primary;
  file "${zoneFile}";
  update-policy { ${grants} };
};
`,
  );
  const child = spawn(NAMED!, ["-f", "-4", "-n", "1", "-c", join(dir, "named.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d.toString()));
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("named", async () => ((await lookup({ port: port! }, options.zone, "SOA")).length > 0 ? true : undefined), child, 15_000);
  } catch (e) {
    const log = readOr(join(dir, "named.log"));
    await stop();
    throw new Error(`${(e as Error).message}\n${stderr}${log}`);
  }
  return {
    port: port!,
    dir,
    pid: child.pid!,
    updateLog: () => readOr(join(dir, "update.log")),
    queryLog: () => readOr(join(dir, "query.log")),
    stop,
  };
}
