/**
 * Running the kit's rendered host scripts (DDNS updater, ACME client) in a test: write the
 * rendered files into a temp dir, point the few host paths the spec cannot name (state
 * directories, derper's certificate directory, the restart command) into it, and run them with
 * a clean environment, as systemd would. Loopback stub servers for "what is my IP".
 */
import { execa } from "execa";
import { chmodSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { shSingleQuote } from "../../render/escape/shell.js";
import type { RenderedFile } from "../../render/index.js";

/** The value of `NAME='value'` in a rendered settings file. */
export function envValue(text: string, name: string): string {
  const m = new RegExp(`^${name}='([^']*)'$`, "m").exec(text);
  if (!m) throw new Error(`${name} is not in the settings file`);
  return m[1]!;
}

/** The settings file with some values replaced (each must exist already). */
export function setEnv(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [name, value] of Object.entries(values)) {
    envValue(out, name);
    out = out.replace(new RegExp(`^${name}='[^']*'$`, "m"), () => `${name}=${shSingleQuote(value)}`);
  }
  return out;
}

/** Writes rendered files (by base name) into `dir`, with their modes; returns name -> path. */
export function writeRendered(files: readonly RenderedFile[], dir: string, transform: (f: RenderedFile) => string = (f) => f.content): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const f of files) {
    const name = f.path.split("/").pop()!;
    const path = join(dir, name);
    writeFileSync(path, transform(f));
    chmodSync(path, f.mode);
    paths[name] = path;
  }
  return paths;
}

export interface ScriptRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a script with only PATH (and `env`) in its environment: no proxies, no test-runner leftovers. */
export async function runScript(script: string, args: readonly string[], env: Record<string, string> = {}, timeout = 60_000): Promise<ScriptRun> {
  const started = Date.now();
  const r = await execa("/bin/sh", [script, ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...env },
    timeout,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - started };
}

/** A "what is my IP" stub on 127.0.0.1: answers every GET with `address` (settable), counts requests. */
export async function startAddressStub(initial: string): Promise<{ url: string; set(address: string): void; requests(): number; close(): Promise<void> }> {
  let address = initial;
  let count = 0;
  const server: Server = createServer((_req, res) => {
    count++;
    res.writeHead(200, { "content-type": "text/plain" }).end(`${address}\n`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    set: (a) => (address = a),
    requests: () => count,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
