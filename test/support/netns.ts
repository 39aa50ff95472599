/**
 * Two network namespaces joined by a veth pair, for testing a host's firewall with real
 * connections: `server` (the host: its ruleset is loaded there, listeners run there) and `client`
 * (addresses of the test's choosing, IPv4 and IPv6). Nothing else is connected to them and there
 * is no default route, so no traffic leaves the pair. Listeners and probes run
 * test/support/netns-agent.mjs inside the namespaces.
 *
 * `createNetnsPair()` sets it up; `close()` stops the listeners it started (by pid) and deletes
 * both namespaces.
 */
import { execa, type ResultPromise } from "execa";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { missingTool, needsRoot } from "./requirements.js";

const AGENT = fileURLToPath(new URL("./netns-agent.mjs", import.meta.url));

function computeSkipReason(): string | undefined {
  const missing = needsRoot("network namespaces and nftables") ?? missingTool("ip", "nft");
  if (missing) return missing;
  const name = `cdktf-probe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", name], { stdio: "ignore" });
    execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
  } catch {
    return "this machine does not allow creating network namespaces";
  }
  return undefined;
}

/** Why the namespace tests are skipped, or undefined when they run. */
export const netnsSkipReason: string | undefined = computeSkipReason();

export interface NetnsPair {
  readonly server: string;
  readonly client: string;
  /** The server's addresses. */
  readonly serverV4: string;
  readonly serverV6: string;
  /** Runs a command in a namespace; throws on failure. */
  exec(ns: string, command: string, args: readonly string[]): Promise<string>;
  /** Starts listeners in the server namespace; resolves once they are bound. */
  listen(ports: readonly { protocol: "tcp" | "udp"; port: number }[]): Promise<void>;
  /** Connects from the client namespace; `open` when the listener answered. */
  probe(probes: readonly Probe[]): Promise<Record<string, "open" | "closed">>;
  close(): Promise<void>;
}

export interface Probe {
  readonly id: string;
  readonly protocol: "tcp" | "udp";
  /** A client address to connect from. */
  readonly src: string;
  readonly dst: string;
  readonly port: number;
}

/** Creates the pair; the client gets `clientAddresses` (IPv4 and IPv6, any mix), each routed to the server. */
export async function createNetnsPair(clientAddresses: readonly string[]): Promise<NetnsPair> {
  const tag = `${process.pid}`;
  const server = `cdktf-fw-srv-${tag}`;
  const client = `cdktf-fw-cli-${tag}`;
  const serverV4 = "198.18.0.1";
  const serverV6 = "2001:db8:ffff::1";
  const listeners: ResultPromise[] = [];
  const ip = (...args: string[]) => execa("ip", args);
  const inNs = (ns: string, ...args: string[]) => execa("ip", ["netns", "exec", ns, ...args]);
  const close = async () => {
    for (const l of listeners.splice(0)) {
      if (l.pid !== undefined) {
        try {
          process.kill(l.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await l.catch(() => undefined);
    }
    for (const ns of [server, client]) await ip("netns", "del", ns).catch(() => undefined);
  };
  try {
    await ip("netns", "add", server);
    await ip("netns", "add", client);
    await ip("link", "add", "vsrv", "netns", server, "type", "veth", "peer", "name", "vcli", "netns", client);
    for (const [ns, dev] of [
      [server, "vsrv"],
      [client, "vcli"],
    ] as const) {
      await inNs(ns, "ip", "link", "set", "lo", "up");
      await inNs(ns, "ip", "link", "set", dev, "up");
    }
    await inNs(server, "ip", "addr", "add", `${serverV4}/32`, "dev", "vsrv");
    await inNs(server, "ip", "-6", "addr", "add", `${serverV6}/128`, "dev", "vsrv", "nodad");
    for (const a of clientAddresses) {
      const v6 = a.includes(":");
      await inNs(client, "ip", ...(v6 ? ["-6"] : []), "addr", "add", `${a}/${v6 ? 128 : 32}`, "dev", "vcli", ...(v6 ? ["nodad"] : []));
      await inNs(server, "ip", ...(v6 ? ["-6"] : []), "route", "add", `${a}/${v6 ? 128 : 32}`, "dev", "vsrv");
    }
    await inNs(client, "ip", "route", "add", `${serverV4}/32`, "dev", "vcli");
    await inNs(client, "ip", "-6", "route", "add", `${serverV6}/128`, "dev", "vcli");
  } catch (e) {
    await close();
    throw e;
  }
  return {
    server,
    client,
    serverV4,
    serverV6,
    async exec(ns, command, args) {
      return (await inNs(ns, command, ...args)).stdout;
    },
    async listen(ports) {
      const child = execa("ip", ["netns", "exec", server, process.execPath, AGENT, "listen", ...ports.map((p) => `${p.protocol}:${p.port}`)], {
        reject: false,
      });
      listeners.push(child);
      await new Promise<void>((resolve, reject) => {
        let seen = "";
        child.stdout!.on("data", (d: Buffer) => {
          seen += d.toString();
          if (seen.includes("ready")) resolve();
        });
        child.then((r) => reject(new Error(`listeners exited: ${r.stderr}`)), reject);
      });
    },
    async probe(probes) {
      const r = await inNs(client, process.execPath, AGENT, "probe", JSON.stringify(probes));
      return JSON.parse(r.stdout) as Record<string, "open" | "closed">;
    },
    close,
  };
}
