/**
 * The lab's checks, each run against the real programs from inside the lab's namespaces:
 * - registered: every device and client is registered and online in headscale, with its tags and
 *   advertised routes / exit node;
 * - netcheck: `tailscale netcheck` from a client lists every region of the model with a latency,
 *   and no region outside the lab's map (Tailscale's public regions are dropped);
 * - derp <region>: `tailscale debug derp <region>` passes for every region;
 * - relay ping: `tailscale ping` between two clients answers through a DERP relay;
 * - mesh <region>: in a multi-node region, two clients homed on different nodes reach each other;
 * - verify: derper refuses a DERP client headscale does not know (the random key `debug derp`
 *   connects with), by asking headscale's /verify, and never refuses a registered node;
 * - pin: the IP-only node's pinned certificate is accepted without InsecureForTests;
 * - wrong pin: the same node under a wrong pin is refused;
 * - route <prefix>: a subnet router's advertised route is approved by the policy with no manual
 *   step, and a listener on the LAN behind the router answers a client across the tailnet;
 * - exit-node <device>: see exit-node.ts;
 * - faults (when asked for): one node of a two-node region killed, and how long until two clients
 *   relay through the other; headscale stopped while established peers keep talking; headscale
 *   restarted, and how long until every node is back online.
 */
import type { ResolvedDerpNode } from "../model/index.js";
import type { WrongPinProbe } from "./lab-changes.js";
import { tailnetHostname, type LabLan, type LabMachine } from "./plan.js";
import type { LabProcess, RunResult } from "./runtime.js";

/** One check's outcome. */
export interface LabCheck {
  /** Stable id, e.g. `registered`, `derp:hkg`, `mesh:hkg`. */
  readonly id: string;
  readonly title: string;
  readonly status: "pass" | "fail" | "skip";
  /** One line: numbers and names that show the result. */
  readonly detail: string;
  readonly durationMs: number;
  /** Structured evidence (parsed command output). */
  readonly data?: unknown;
}

/** What a tailscaled reports about itself (`tailscale status --json`, Self). */
export interface TailscaleSelf {
  readonly hostName: string;
  readonly nodeKey: string;
  readonly ipv4: string | undefined;
  /** Code of its home DERP region. */
  readonly relay: string;
}

/** A DERP region as clients get it: the model's regions, and headscale's embedded one. */
export interface CheckRegion {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  readonly noMeasureNoHome: boolean;
  readonly nodes: readonly CheckNode[];
  /** headscale's embedded DERP server (it verifies clients in-process, not through /verify). */
  readonly embedded: boolean;
}

export interface CheckNode {
  readonly name: string;
  readonly hostname: string;
  readonly derpPort: number;
  /** -1: no STUN. */
  readonly stunPort: number;
  readonly stunOnly: boolean;
  /** The node serves plain HTTP on port 80 (captive-portal checks). */
  readonly canPort80: boolean;
  /** The map gives the node an IPv6 address (the model does: its host's publicIpv6, or its own). */
  readonly ipv6: boolean;
}

/** What the checks need from the running lab. */
export interface CheckContext {
  readonly regions: readonly CheckRegion[];
  readonly probe: WrongPinProbe | undefined;
  readonly tailscaleMachines: readonly LabMachine[];
  readonly clients: readonly LabMachine[];
  readonly derpers: ReadonlyMap<string, LabProcess>;
  /** Lab address of the machine running a DERP node. */
  nodeAddress(nodeName: string): string;
  /** `tailscale <args>` against a machine's tailscaled, run in its namespace. */
  tailscale(machine: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** `headscale <args> -c <config>`, run in headscale's namespace. */
  headscale(args: readonly string[]): Promise<RunResult>;
  self(machine: string): Promise<TailscaleSelf>;
  /** The peers a machine's tailscaled knows (`tailscale status --json`, Peer). */
  peers(machine: string): Promise<TailscaleSelf[]>;
  /** A derper's counters from its /debug/varz (read from inside its namespace, over loopback). */
  derperVarz(nodeName: string): Promise<Map<string, number>>;
  /** The address families of the tailnet's node prefixes (prefixes.v4, prefixes.v6): every node gets one of each. */
  readonly nodeFamilies: readonly (4 | 6)[];
  /** Derper nodes the model has client verification on for (`-verify-client-url`). */
  readonly verifyingNodes: ReadonlySet<string>;
  /**
   * One disco ping from a machine's tailscaled to a Tailscale IP, through its LocalAPI (what
   * `tailscale ping` runs, without the CLI's one-second sleep after each pong and with the
   * latency unrounded).
   */
  pingOnce(machine: string, ip: string, timeoutMs: number): Promise<{ pong: Pong | undefined; error: string }>;
  /** `tailscale nc <host> <port>` from a machine, stdin kept open until the other side closes. */
  tailscaleNc(machine: string, host: string, port: number, timeoutMs: number): Promise<RunResult>;
  /** The routes a machine's tailscaled sees a peer serve (`tailscale status --json`, PrimaryRoutes). */
  peerRoutes(machine: string, peerHostName: string): Promise<readonly string[]>;
  /** Fault injection, when the lab runs its fault checks. */
  readonly faults?: LabFaults;
  pause(ms: number): Promise<void>;
  /** Reports a check's result as soon as it is known. */
  report(check: LabCheck): void;
}

/** How the failover fault takes a DERP node down. */
export type DerpFailure = "kill" | "link-down";

/** One disco ping's answer. */
export interface Pong {
  /** The DERP region's code when relayed, else the direct path's `ip:port`. */
  readonly via: string;
  readonly relayed: boolean;
  readonly ms: number;
  /** When the answer was in (Date.now()). */
  readonly at: number;
}

export const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`;

/** What the fault checks may do to the running lab (every process by pid). */
export interface LabFaults {
  /**
   * Takes one DERP node down: `kill` SIGKILLs its derper (the kernel resets its connections);
   * `link-down` takes its machine's link down, so it vanishes without closing anything.
   */
  failDerper(node: string, how: DerpFailure): Promise<void>;
  /** SIGTERM headscale and wait until it is gone. */
  stopHeadscale(): Promise<void>;
  /** Start headscale again on the same configuration and database; resolves once /health passes. */
  startHeadscale(): Promise<void>;
  /** headscale's /health answers. */
  headscaleUp(): Promise<boolean>;
}

export interface DebugDerpReport {
  Info: string[] | null;
  Warnings: string[] | null;
  Errors: string[] | null;
}

export const short = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Reports a check that did not run, and why. */
export function skipCheck(ctx: CheckContext, id: string, title: string, why: string): void {
  ctx.report({ id, title, status: "skip", detail: why, durationMs: 0 });
}

/** Runs a check's body, timing it; an error becomes a failed check (an interruption goes through). */
export async function timed(
  ctx: CheckContext,
  id: string,
  title: string,
  body: () => Promise<Omit<LabCheck, "id" | "title" | "durationMs">>,
): Promise<LabCheck> {
  const t0 = Date.now();
  let check: LabCheck;
  try {
    const r = await body();
    check = { id, title, ...r, durationMs: Date.now() - t0 };
  } catch (e) {
    if ((e as Error).name === "LabAborted") throw e;
    check = { id, title, status: "fail", detail: short((e as Error).message, 400), durationMs: Date.now() - t0 };
  }
  ctx.report(check);
  return check;
}

function derpNodes(region: CheckRegion): CheckNode[] {
  return region.nodes.filter((n) => !n.stunOnly);
}

// ---------------------------------------------------------------------------------------------
// registered

/** A node as `headscale nodes list -o json` prints it (the fields the checks read). */
export interface HeadscaleNode {
  id?: number | string;
  node_key?: string;
  given_name?: string;
  name?: string;
  online?: boolean;
  ip_addresses?: string[];
  tags?: string[];
  forced_tags?: string[];
  valid_tags?: string[];
  available_routes?: string[];
  approved_routes?: string[];
  user?: { name?: string; email?: string };
}

/** headscale's nodes, as its CLI lists them. */
export async function listNodes(ctx: CheckContext): Promise<HeadscaleNode[]> {
  const r = await ctx.headscale(["nodes", "list", "-o", "json"]);
  if (r.code !== 0) throw new Error(`headscale nodes list failed: ${r.stderr.trim() || r.stdout.trim()}`);
  const parsed = JSON.parse(r.stdout.trim() || "[]") as HeadscaleNode[] | null;
  return parsed ?? [];
}

export async function checkRegistered(ctx: CheckContext): Promise<LabCheck> {
  return timed(ctx, "registered", "every device registered and online in headscale", async () => {
    const expected = ctx.tailscaleMachines;
    let nodes: HeadscaleNode[] = [];
    const problemsOf = (list: HeadscaleNode[]) => {
      const problems: string[] = [];
      for (const m of expected) {
        const n = list.find((x) => x.given_name === tailnetHostname(m) || x.name === tailnetHostname(m));
        if (!n) {
          problems.push(`${m.name}: not registered`);
          continue;
        }
        if (!n.online) problems.push(`${m.name}: offline`);
        const families = ctx.nodeFamilies.filter((f) => !(n.ip_addresses ?? []).some((a) => (f === 4 ? a.includes(".") : a.includes(":"))));
        if (families.length > 0)
          problems.push(`${m.name}: no IPv${families.join(", IPv")} address from the tailnet's prefixes (has ${(n.ip_addresses ?? []).join(", ") || "none"})`);
        const d = m.device;
        if (!d) continue;
        const tags = new Set([...(n.tags ?? []), ...(n.forced_tags ?? []), ...(n.valid_tags ?? [])]);
        for (const t of d.tags) if (!tags.has(t)) problems.push(`${m.name}: tag ${t} missing (has ${[...tags].join(",") || "none"})`);
        const routes = new Set(n.available_routes ?? []);
        const want = [...d.advertiseRoutes, ...(d.exitNode ? ["0.0.0.0/0", "::/0"] : [])];
        for (const r of want) if (!routes.has(r)) problems.push(`${m.name}: route ${r} not advertised (has ${[...routes].join(",") || "none"})`);
      }
      return problems;
    };
    let problems: string[] = [];
    // Up to 10 s for every node to show up online; a tag or route still missing 3 s after that will not come.
    const t0 = Date.now();
    let allThere: number | undefined;
    for (;;) {
      nodes = await listNodes(ctx);
      problems = problemsOf(nodes);
      if (problems.length === 0) break;
      const missing = problems.some((p) => / (not registered|offline)$/.test(p));
      if (!missing) allThere ??= Date.now();
      if (Date.now() - t0 > 10_000 || (allThere !== undefined && Date.now() - allThere > 3_000)) break;
      await ctx.pause(500);
    }
    const listed = expected.length > 10 ? [...expected.filter((m) => m.device), ...expected.filter((m) => !m.device).slice(0, 4)] : expected;
    const more = expected.length - listed.length;
    const summary =
      listed
        .map((m) => {
          const n = nodes.find((x) => x.given_name === tailnetHostname(m) || x.name === tailnetHostname(m));
          const approved = new Set(n?.approved_routes ?? []);
          const extra = m.device
            ? [
                ...m.device.tags,
                ...m.device.advertiseRoutes.map((r) => `${r} ${approved.has(r) ? "advertised+approved" : "advertised"}`),
                ...(m.device.exitNode ? [`exit node ${approved.has("0.0.0.0/0") ? "advertised+approved" : "advertised"}`] : []),
              ]
            : [];
          return `${tailnetHostname(m)} ${n?.ip_addresses?.find((a) => a.includes(".")) ?? "?"}${extra.length ? ` [${extra.join(", ")}]` : ""}`;
        })
        .join("; ") + (more > 0 ? `; and ${more} more` : "");
    return problems.length === 0
      ? { status: "pass", detail: `${expected.length}/${expected.length} online: ${summary}`, data: nodes }
      : { status: "fail", detail: problems.join("; "), data: nodes };
  });
}

// ---------------------------------------------------------------------------------------------
// netcheck

/** Region lines of `tailscale netcheck`'s report: code -> latency text ("" when none). */
export function parseNetcheck(output: string): Map<string, { latency: string; name: string }> {
  const regions = new Map<string, { latency: string; name: string }>();
  for (const line of output.split("\n")) {
    const m = /^\s*-\s*(\S+):\s*(\d[\d.]*(?:ns|µs|us|ms|s))?\s*\((.*)\)\s*$/.exec(line);
    if (m) regions.set(m[1]!, { latency: m[2] ?? "", name: m[3]! });
  }
  return regions;
}

export async function checkNetcheck(ctx: CheckContext, client: LabMachine): Promise<LabCheck> {
  return timed(ctx, "netcheck", `tailscale netcheck on ${client.name}: every region with a latency, no public region`, async () => {
    // --verbose: without it netcheck stops probing once 3 regions answered (plus twice their
    // latency, well under a millisecond in a lab), so a fourth region may go unmeasured.
    const r = await ctx.tailscale(client.name, ["netcheck", "--verbose"], 40_000);
    if (r.code !== 0) throw new Error(`tailscale netcheck exited ${r.code}: ${short(r.stderr.trim() || r.stdout.trim(), 300)}`);
    const listed = parseNetcheck(r.stdout);
    const measured = ctx.regions.filter((g) => !g.noMeasureNoHome && g.id !== ctx.probe?.regionId);
    const allowed = new Set(ctx.regions.map((g) => g.code));
    const missing = measured.filter((g) => !listed.get(g.code)?.latency);
    const foreign = [...listed.keys()].filter((code) => !allowed.has(code));
    const latencies = measured.map((g) => `${g.code} ${listed.get(g.code)?.latency || "-"}`).join(", ");
    const problems = [
      ...(missing.length ? [`no latency for ${missing.map((g) => g.code).join(", ")}`] : []),
      ...(foreign.length ? [`regions outside the model: ${foreign.join(", ")}`] : []),
    ];
    const data = { regions: Object.fromEntries(listed), output: r.stdout, log: r.stderr.slice(-4000) };
    return problems.length === 0
      ? { status: "pass", detail: `${latencies}; ${listed.size} regions listed, none public`, data }
      : { status: "fail", detail: `${problems.join("; ")} (got: ${latencies})`, data };
  });
}

// ---------------------------------------------------------------------------------------------
// debug derp, pins

async function debugDerp(ctx: CheckContext, machine: string, region: string | number): Promise<DebugDerpReport> {
  const r = await ctx.tailscale(machine, ["debug", "derp", String(region)], 60_000);
  if (r.code !== 0) throw new Error(`tailscale debug derp ${region} exited ${r.code}: ${short(r.stderr.trim(), 300)}`);
  return JSON.parse(r.stdout) as DebugDerpReport;
}

const established = (rep: DebugDerpReport, host: string) =>
  (rep.Info ?? []).some((l) => l.includes(`Successfully established a DERP connection with node "${host}"`));
const stunOk = (rep: DebugDerpReport, host: string) => (rep.Info ?? []).some((l) => l.startsWith(`Node "${host}" returned IPv4 STUN response`));
/** An error of debug derp's IPv6 connection to a node (it tries IPv6 whether or not the node has it). */
const ipv6Error = (line: string) => / over IPv6: /.test(line);

export async function checkDebugDerp(
  ctx: CheckContext,
  client: LabMachine,
  region: CheckRegion,
): Promise<{ check: LabCheck; report: DebugDerpReport | undefined }> {
  let report: DebugDerpReport | undefined;
  const check = await timed(ctx, `derp:${region.code}`, `tailscale debug derp ${region.code} (${region.id}) passes`, async () => {
    report = await debugDerp(ctx, client.name, region.id);
    const problems: string[] = [];
    for (const node of derpNodes(region)) {
      if (!established(report, node.hostname)) problems.push(`no DERP connection with ${node.name} (${node.hostname})`);
      if (node.stunPort > 0 && !stunOk(report, node.hostname)) problems.push(`no STUN answer from ${node.name}`);
    }
    // IPv6 must work for every node the map gives IPv6 (debug derp connects and speaks TLS over each
    // family; it sends STUN over IPv4 only, the ipv6 check covers IPv6 STUN); for the others an
    // IPv6 error says only that the model gives them none.
    const v6Nodes = derpNodes(region).filter((n) => n.ipv6);
    const withoutV6 = (e: string) => ipv6Error(e) && !v6Nodes.some((n) => e.includes(`node ${JSON.stringify(n.hostname)} `));
    problems.push(...(report.Errors ?? []).filter((e) => !withoutV6(e)));
    const ipv6 = (report.Errors ?? []).filter(withoutV6).length;
    // debug derp tries http://<host>/generate_204 on port 80 whether or not the node serves it.
    const noPort80 = derpNodes(region)
      .filter((n) => !n.canPort80)
      .map((n) => n.hostname);
    const expected = (w: string) => noPort80.some((h) => w.includes(`"http://${h}/generate_204`));
    const warnings = (report.Warnings ?? []).filter((w) => !expected(w));
    const port80 = (report.Warnings ?? []).length - warnings.length;
    const nodes = derpNodes(region)
      .map((n) => n.name)
      .join(", ");
    const notes = [
      ...(ipv6
        ? [
            `${ipv6} IPv6 error(s) ignored: the model gives ${derpNodes(region)
              .filter((n) => !n.ipv6)
              .map((n) => n.name)
              .join(", ")} no IPv6`,
          ]
        : []),
      ...(port80 ? [`${port80} captive-portal warning(s) expected: no port 80 (CanPort80 false)`] : []),
    ];
    const families = v6Nodes.length === 0 ? "" : `; TLS over IPv6 too (${v6Nodes.map((n) => n.name).join(", ")})`;
    const detail = `${nodes}: TLS + DERP connection + STUN ok${families}${notes.length ? ` (${notes.join("; ")})` : ""}${warnings.length ? `; warnings: ${warnings.map((w) => short(w, 90)).join(" | ")}` : ""}`;
    return problems.length === 0
      ? { status: "pass", detail, data: report }
      : { status: "fail", detail: problems.map((p) => short(p, 200)).join("; "), data: report };
  });
  return { check, report };
}

/** The pinned IP-only node: debug derp went through on its pin alone. */
export async function checkPin(ctx: CheckContext, region: CheckRegion, node: ResolvedDerpNode, report: DebugDerpReport | undefined): Promise<LabCheck> {
  return timed(ctx, "pin", `pinned certificate of ${node.name} (${node.hostname}) accepted without InsecureForTests`, async () => {
    if (node.insecureForTests) return { status: "fail", detail: `${node.name} has InsecureForTests set in the lab map` };
    const rep = report ?? (await debugDerp(ctx, ctx.clients[0]!.name, region.id));
    const tlsErrors = (rep.Errors ?? []).filter((e) => !ipv6Error(e));
    if (established(rep, node.hostname) && tlsErrors.length === 0) {
      return {
        status: "pass",
        detail: `TLS to ${node.hostname}:${node.derpPort} verified by ${node.certName!.slice(0, 24)}… (self-signed, not from the lab CA); DERP connection established`,
        data: rep,
      };
    }
    return {
      status: "fail",
      detail: `${node.name} at ${node.hostname}:${node.derpPort} is refused under its pin ${node.certName?.slice(0, 24)}…: ${tlsErrors.map((e) => e.replace(/^Error upgrading connection to node .*? to TLS over IPv[46]: /, "")).join("; ") || "no DERP connection"}`,
      data: rep,
    };
  });
}

/** The same node under a wrong pin: the client refuses it. */
export async function checkWrongPin(ctx: CheckContext, client: LabMachine, probe: WrongPinProbe): Promise<LabCheck> {
  return timed(ctx, "wrong-pin", `a node with a wrong pin is refused (lab region ${probe.regionCode})`, async () => {
    const rep = await debugDerp(ctx, client.name, probe.regionId);
    const refused = (rep.Errors ?? []).find((e) => /cert hash does not match/.test(e));
    const connected = (rep.Info ?? []).some((l) => l.includes("Successfully established a DERP connection"));
    if (refused && !connected)
      return { status: "pass", detail: `TLS refused: ${short(refused.replace(/^.*: /, ""), 80)} (pin ${probe.wrongPin.slice(0, 24)}…)`, data: rep };
    return {
      status: "fail",
      detail: connected
        ? `the client connected to ${probe.pinnedNode}'s address under the lab region's pin ${probe.wrongPin.slice(0, 24)}…, which must not match what it serves`
        : `unexpected result: ${(rep.Errors ?? []).join("; ") || "no error"}`,
      data: rep,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// client verification

/** DERP nodes (by host name) a debug derp report established a connection with. */
export function reachedHosts(report: DebugDerpReport | undefined): string[] {
  return [...(report?.Info ?? []).join("\n").matchAll(/Successfully established a DERP connection with node "([^"]+)"/g)].map((m) => m[1]!);
}

/**
 * derper refuses a DERP client headscale does not know: judged on the nodes a `debug derp`
 * reached (its random key is such a client); a node no client reached (its TLS failed: see its
 * derp check) cannot show it and is named, not failed.
 */
export async function checkVerify(
  ctx: CheckContext,
  registeredKeys: readonly string[],
  probedFrom: LabMachine,
  reached: ReadonlySet<string>,
): Promise<LabCheck> {
  return timed(ctx, "verify", "derper refuses a DERP client headscale does not know (fail closed)", async () => {
    const problems: string[] = [];
    const counts: string[] = [];
    const from = new RegExp(
      `derp: ${probedFrom.address.replace(/\./g, "\\.")}:\\d+: client (nodekey:[0-9a-f]+) rejected: admission controller: nodekey:[0-9a-f]+/[0-9.]+ not allowed`,
      "g",
    );
    const urls = new Set<string>();
    const verifying = [...ctx.derpers].filter(([node, proc]) => !proc.argv.includes("-derp=false") && ctx.verifyingNodes.has(node));
    if (verifying.length === 0) {
      return { status: "skip", detail: "the model turns derper's client verification off (derp.derper.verifyClients: false)" };
    }
    const hostOf = new Map(ctx.regions.flatMap((r) => r.nodes).map((n) => [n.name, n.hostname]));
    const relays = verifying.filter(([node]) => reached.has(hostOf.get(node) ?? node));
    const unreached = verifying.filter(([node]) => !reached.has(hostOf.get(node) ?? node)).map(([node]) => node);
    if (relays.length === 0)
      return { status: "fail", detail: `no DERP client reached any derper (${unreached.join(", ")}): nothing shows whether they verify clients` };
    for (const [node, proc] of relays) {
      const url = proc.argv.find((a) => a.startsWith("-verify-client-url="))?.slice("-verify-client-url=".length);
      if (!url) problems.push(`${node} runs without -verify-client-url although the model has client verification on`);
      else urls.add(url);
      if (url && !proc.argv.includes("-verify-client-url-fail-open=false"))
        problems.push(`${node} runs without -verify-client-url-fail-open=false (fails open)`);
      const log = proc.log();
      const refused = new Set([...log.matchAll(from)].map((m) => m[1]!));
      const wronglyRefused = registeredKeys.filter((k) => log.includes(`client ${k} rejected`));
      if (wronglyRefused.length > 0) problems.push(`${node} refused registered node(s) ${wronglyRefused.join(", ")}`);
      if (refused.size === 0)
        problems.push(`${node} admitted a DERP client headscale does not know (the random key of debug derp from ${probedFrom.name}): no refusal in its log`);
      counts.push(`${node} ${refused.size}`);
    }
    const notTried = unreached.length ? `; not shown for ${unreached.join(", ")}: no DERP client reached it (see its derp check)` : "";
    return problems.length === 0
      ? {
          status: "pass",
          detail: `every derper asks ${[...urls].join(", ")} and fails closed; it answered Allow:false for the random keys of debug derp, refused per node: ${counts.join(", ")}; no registered node refused${notTried}`,
        }
      : { status: "fail", detail: `${problems.join("; ")}${notTried}` };
  });
}

// ---------------------------------------------------------------------------------------------
// ping, mesh

/**
 * Waits (bounded) until `from` knows `to` as a peer whose home DERP region is `region` (any
 * region when undefined): pinging earlier would fail or go through a region the peer left.
 */
async function waitForPeerView(
  ctx: CheckContext,
  from: LabMachine,
  to: LabMachine,
  region: string | undefined,
  timeoutMs = 20_000,
): Promise<TailscaleSelf | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const peer = (await ctx.peers(from.name)).find((p) => p.hostName === tailnetHostname(to));
    if (peer && peer.relay !== "" && (region === undefined || peer.relay === region)) return peer;
    if (Date.now() > deadline) return peer;
    await ctx.pause(250);
  }
}

/**
 * Pings `to` from `from`, one disco ping at a time, until `want` pongs came through a relay
 * (through `region` when given), a pong came over a direct path, or `deadlineMs` passed. Each
 * miss is kept as evidence.
 */
export async function relayPing(
  ctx: CheckContext,
  from: LabMachine,
  to: TailscaleSelf,
  region?: string,
  want = 2,
  deadlineMs = 25_000,
  timeoutMs = 2_000,
): Promise<{ pongs: Pong[]; direct: Pong[]; output: string; attempts: number }> {
  const deadline = Date.now() + deadlineMs;
  const pongs: Pong[] = [];
  const direct: Pong[] = [];
  let output = "";
  let attempts = 0;
  while (pongs.length < want && direct.length === 0 && Date.now() < deadline) {
    attempts++;
    const { pong, error } = await ctx.pingOnce(from.name, to.ipv4!, timeoutMs);
    if (pong?.relayed && (region === undefined || pong.via === region)) pongs.push(pong);
    else if (pong && !pong.relayed) direct.push(pong);
    else {
      output += `${pong ? `pong via DERP(${pong.via}), not ${region}` : error}; `;
      await ctx.pause(200);
    }
  }
  return { pongs, direct, output, attempts };
}

export async function checkRelayPing(ctx: CheckContext, a: LabMachine, b: LabMachine, samples = 2): Promise<LabCheck> {
  return timed(ctx, "relay-ping", `ping ${a.name} -> ${b.name} (disco, as tailscale ping) through a DERP relay`, async () => {
    const target = await ctx.self(b.name);
    if (!target.ipv4) throw new Error(`${b.name} has no Tailscale IPv4 address`);
    // Both must know each other: a disco ping from a peer not (yet) in the netmap is dropped.
    const seen = await Promise.all([waitForPeerView(ctx, a, b, undefined), waitForPeerView(ctx, b, a, undefined)]);
    if (!seen[0] || !seen[1]) return { status: "fail", detail: `${a.name} and ${b.name} never saw each other as peers` };
    const { pongs, direct, output, attempts } = await relayPing(ctx, a, target, undefined, samples, 25_000 + samples * 500);
    if (direct.length > 0) {
      return {
        status: "fail",
        detail: `${b.name} answered directly (via ${direct[0]!.via} in ${fmtMs(direct[0]!.ms)}), not through a relay, after ${pongs.length} relayed pong(s): the clients do not need DERP to reach each other`,
        data: { pongs, direct },
      };
    }
    if (pongs.length === 0) return { status: "fail", detail: `no pong via DERP in ${attempts} pings: ${short(output.trim(), 300)}`, data: output };
    const ms = pongs.map((p) => p.ms).sort((x, y) => x - y);
    const stats = pongs.length > 2 ? ` (median ${fmtMs(ms[Math.floor(ms.length / 2)]!)}, min ${fmtMs(ms[0]!)}, max ${fmtMs(ms[ms.length - 1]!)})` : "";
    return {
      status: "pass",
      detail: `${pongs.length} pong(s) from ${b.name} (${target.ipv4}) via DERP(${pongs[0]!.via}) in ${attempts} pings: ${
        pongs.length > 4
          ? `${pongs
              .slice(0, 4)
              .map((p) => fmtMs(p.ms))
              .join(", ")}, ...`
          : pongs.map((p) => fmtMs(p.ms)).join(", ")
      }${stats}`,
      data: { pongs, missed: output, rttMs: ms },
    };
  });
}

/**
 * Two mesh clients of a multi-node region, each able to reach only its own node of the region
 * (the lab made the others unreachable from its namespace before it started), are told to prefer
 * the region; once each is homed there and sees the other homed there, a relayed ping must cross
 * the region's mesh, which the derpers' forwarding counters confirm.
 */
const clientsRemote = (v: Map<string, number>) => v.get("derp_clients_remote") ?? 0;

/** The last line of a derper's log about its mesh, if any. */
function meshLogLine(ctx: CheckContext, node: string): string | undefined {
  const lines = (ctx.derpers.get(node)?.log() ?? "").split("\n").filter((l) => /mesh|unauthori[sz]ed|insufficient permissions/i.test(l));
  // The server side says why it turned a mesh peer away; the client side only that it was cut off.
  const refused = lines.filter((l) => /insufficient permissions/.test(l));
  const last = (refused[refused.length - 1] ?? lines[lines.length - 1])?.trim();
  return last ? `${node}: ${last.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\s*/, "")}` : undefined;
}

/** Tells mesh clients to prefer their region and to measure again (homing takes a netcheck, ~3 s). */
export async function preferMeshRegion(ctx: CheckContext, region: CheckRegion, machines: readonly LabMachine[]): Promise<void> {
  for (const m of machines) {
    await ctx.tailscale(m.name, ["debug", "force-prefer-derp", String(region.id)]);
    await ctx.tailscale(m.name, ["debug", "restun"]);
  }
}

/**
 * Waits (bounded, ~30 s, measuring again now and then) until both clients are homed on `region`;
 * returns what each client reports about itself, or why they did not home.
 */
async function waitUntilHomed(ctx: CheckContext, region: CheckRegion, a: LabMachine, b: LabMachine, who: string): Promise<TailscaleSelf[] | string> {
  let homes: TailscaleSelf[] = [];
  for (let i = 0; i < 60; i++) {
    homes = await Promise.all([ctx.self(a.name), ctx.self(b.name)]);
    if (homes.every((h) => h.relay === region.code)) return homes;
    if (i % 8 === 7) for (const m of [a, b]) await ctx.tailscale(m.name, ["debug", "restun"]);
    await ctx.pause(500);
  }
  return `the ${who} did not home on ${region.code}: ${a.name} on ${homes[0]?.relay || "?"}, ${b.name} on ${homes[1]?.relay || "?"}`;
}

export async function checkMesh(ctx: CheckContext, region: CheckRegion, a: LabMachine, b: LabMachine): Promise<LabCheck> {
  const n1 = a.mesh!.node;
  const n2 = b.mesh!.node;
  return timed(ctx, `mesh:${region.code}`, `mesh in ${region.code}: ${a.name} homed on ${n1}, ${b.name} on ${n2}, reach each other`, async () => {
    const t0 = Date.now();
    const steps: string[] = [];
    const homes = await waitUntilHomed(ctx, region, a, b, "mesh clients");
    if (typeof homes === "string") return { status: "fail", detail: homes };
    steps.push(`homed at ${Date.now() - t0} ms`);
    // Each must see the other homed on the region too, or the ping would go through the region the peer left.
    const views = await Promise.all([waitForPeerView(ctx, a, b, region.code), waitForPeerView(ctx, b, a, region.code)]);
    if (views.some((v) => v?.relay !== region.code)) {
      return {
        status: "fail",
        detail: `headscale did not tell the mesh clients each other's home: ${a.name} sees ${b.name} on ${views[0]?.relay || "?"}, ${b.name} sees ${a.name} on ${views[1]?.relay || "?"}`,
      };
    }
    steps.push(`each sees the other on ${region.code} at ${Date.now() - t0} ms`);
    // Each node must know the other's clients through the mesh before a packet can cross it.
    let remote = [0, 0];
    for (let i = 0; i < 30; i++) {
      const [v1, v2] = await Promise.all([ctx.derperVarz(n1), ctx.derperVarz(n2)]);
      remote = [clientsRemote(v1), clientsRemote(v2)];
      if (remote.every((r) => r > 0)) break;
      await ctx.pause(250);
    }
    if (!remote.every((r) => r > 0)) {
      const logLine = [n1, n2]
        .map((n) => meshLogLine(ctx, n))
        .filter((l) => l !== undefined)
        .join(" | ");
      return {
        status: "fail",
        detail: `${n1} and ${n2} do not mesh: ${n1} knows ${remote[0]} client(s) of its mesh peer, ${n2} knows ${remote[1]} (derp clients_remote)${logLine ? `; derper log: ${short(logLine, 240)}` : ""}`,
        data: { remote, steps },
      };
    }
    steps.push(`meshed at ${Date.now() - t0} ms (remote clients ${remote.join(", ")})`);
    const forwarded = async () => {
      const [v1, v2] = await Promise.all([ctx.derperVarz(n1), ctx.derperVarz(n2)]);
      return {
        out1: v1.get("derp_packets_forwarded_out") ?? 0,
        in1: v1.get("derp_packets_forwarded_in") ?? 0,
        out2: v2.get("derp_packets_forwarded_out") ?? 0,
        in2: v2.get("derp_packets_forwarded_in") ?? 0,
      };
    };
    const before = await forwarded();
    const { pongs, output, attempts } = await relayPing(ctx, a, homes[1]!, region.code);
    steps.push(`${pongs.length} pong(s) in ${attempts} ping(s) at ${Date.now() - t0} ms`);
    if (output) steps.push(output);
    if (pongs.length === 0)
      return {
        status: "fail",
        detail: `both homed on ${region.code}, but no pong via DERP(${region.code}) in ${attempts} pings: ${short(output.trim(), 300)}`,
        data: { steps },
      };
    const after = await forwarded();
    const d = { out1: after.out1 - before.out1, in1: after.in1 - before.in1, out2: after.out2 - before.out2, in2: after.in2 - before.in2 };
    const crossed = `${n1} forwarded ${d.out1} packet(s) to the mesh and got ${d.in1}, ${n2} forwarded ${d.out2} and got ${d.in2}`;
    if (d.out1 === 0 || d.in2 === 0)
      return { status: "fail", detail: `pongs arrived, but nothing crossed the mesh (${crossed})`, data: { pongs, forwarded: d, steps } };
    return {
      status: "pass",
      detail: `both homed on ${region.code} (${a.name} can reach only ${n1}, ${b.name} only ${n2}); ${pongs.length} pong(s) via DERP(${region.code}): ${pongs.map((p) => fmtMs(p.ms)).join(", ")}; ${crossed}`,
      data: { pongs, forwarded: d, steps },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// subnet routes

/**
 * A device's advertised route: headscale approves it with no manual step (the policy's
 * autoApprovers), the client sees the router serve it, and a listener on the LAN behind the
 * router answers the client through the tailnet (`tailscale nc` through the client's tailscaled,
 * subnet-routed by the router's).
 */
export async function checkRoute(
  ctx: CheckContext,
  lan: LabLan,
  router: LabMachine,
  client: LabMachine | undefined,
  listener: { port: number; token: string },
  autoApprovers: readonly string[] | undefined,
): Promise<LabCheck> {
  return timed(
    ctx,
    `route:${lan.route}`,
    `${lan.route} of ${router.name}: approved by the policy, and a listener on ${lan.listenerAddress} answers ${client?.name ?? "a client"} across the tailnet`,
    async () => {
      const t0 = Date.now();
      const name = tailnetHostname(router);
      let node: HeadscaleNode | undefined;
      // headscale approves an advertised route the moment it learns of it; 3 s after it is advertised, it will not.
      let advertisedAt: number | undefined;
      while (Date.now() - t0 < 10_000) {
        node = (await listNodes(ctx)).find((x) => x.given_name === name || x.name === name);
        if (node?.approved_routes?.includes(lan.route)) break;
        if (node?.available_routes?.includes(lan.route)) advertisedAt ??= Date.now();
        if (advertisedAt !== undefined && Date.now() - advertisedAt > 3_000) break;
        await ctx.pause(300);
      }
      if (!node?.approved_routes?.includes(lan.route)) {
        const approvers =
          autoApprovers === undefined
            ? "headscale's policy is not the kit's (in its database, or a file of your own), so nothing the kit renders auto-approves it (`cdktf-tailnet validate` warns)"
            : autoApprovers.length === 0
              ? "the policy's autoApprovers have no entry for it"
              : `autoApprovers for it: ${autoApprovers.join(", ")}`;
        return {
          status: "fail",
          detail: `headscale did not approve ${lan.route} advertised by ${name} (advertised: ${node?.available_routes?.join(", ") || "none"}; approved: ${node?.approved_routes?.join(", ") || "none"}): ${approvers}; clients get no route to ${lan.route}`,
          data: node,
        };
      }
      const approvedAt = Date.now() - t0;
      if (lan.allowedUsers !== "*" && lan.allowedUsers.length === 0) {
        return {
          status: "pass",
          detail: `approved with no manual step (${approvedAt} ms); the policy lets no user reach ${lan.route}, so no client tried the listener`,
          data: node,
        };
      }
      if (!client)
        return { status: "pass", detail: `approved with no manual step (${approvedAt} ms); no plain client to try the listener (--clients 0)`, data: node };
      let routes: readonly string[] = [];
      for (let i = 0; i < 40; i++) {
        routes = await ctx.peerRoutes(client.name, name);
        if (routes.includes(lan.route)) break;
        await ctx.pause(250);
      }
      if (!routes.includes(lan.route))
        return {
          status: "fail",
          detail: `approved, but ${client.name} never saw ${name} serve ${lan.route} (its routes there: ${routes.join(", ") || "none"})`,
          data: node,
        };
      let answer = "";
      let last = "";
      const deadline = Date.now() + 15_000;
      let attempts = 0;
      while (Date.now() < deadline) {
        attempts++;
        const r = await ctx.tailscaleNc(client.name, lan.listenerAddress, listener.port, 6_000);
        if (r.stdout.includes(listener.token)) {
          answer = r.stdout.trim();
          break;
        }
        last = (r.stderr || r.stdout || (r.timedOut ? "timed out" : `exit ${r.code}`)).trim();
        await ctx.pause(300);
      }
      if (!answer)
        return {
          status: "fail",
          detail: `approved and routed, but the listener on ${lan.listenerAddress}:${listener.port} did not answer ${client.name} in ${attempts} tries: ${short(last, 200)}`,
          data: node,
        };
      return {
        status: "pass",
        detail: `approved with no manual step (${approvedAt} ms); ${client.name} (user ${client.user ?? "of the tailnet"}) reached ${lan.listenerAddress}:${listener.port} on the LAN behind ${name} through the tailnet and got its token back (${Date.now() - t0} ms)`,
        data: { node, answer },
      };
    },
  );
}

// ---------------------------------------------------------------------------------------------
// faults

/** Both clients prefer `region`, and each is homed there and sees the other homed there. */
async function homeBoth(ctx: CheckContext, region: CheckRegion, a: LabMachine, b: LabMachine): Promise<string | undefined> {
  await preferMeshRegion(ctx, region, [a, b]);
  const homed = await waitUntilHomed(ctx, region, a, b, "clients");
  if (typeof homed === "string") return homed;
  const views = await Promise.all([waitForPeerView(ctx, a, b, region.code), waitForPeerView(ctx, b, a, region.code)]);
  if (views.some((v) => v?.relay !== region.code)) return `the clients do not see each other on ${region.code}`;
  return undefined;
}

const homeConnections = (v: Map<string, number>) => v.get("derp_current_home_connections") ?? 0;

/** The DERP node a client dials in a region: the first (not STUN-only) in the map it got from headscale, which shuffles them. */
async function firstNodeOf(ctx: CheckContext, machine: LabMachine, regionId: number): Promise<string | undefined> {
  const r = await ctx.tailscale(machine.name, ["debug", "derp-map"]);
  if (r.code !== 0) return undefined;
  const map = JSON.parse(r.stdout) as { Regions?: Record<string, { Nodes?: { Name: string; STUNOnly?: boolean }[] }> };
  return map.Regions?.[String(regionId)]?.Nodes?.find((n) => !n.STUNOnly)?.Name;
}

/**
 * Kills (SIGKILL) the node of a two-node region that two clients homed on the region use, and
 * measures how long until a relayed ping between them answers again, through the other node.
 */
export async function checkDerpFailover(ctx: CheckContext, region: CheckRegion, a: LabMachine, b: LabMachine, how: DerpFailure = "kill"): Promise<LabCheck> {
  return timed(
    ctx,
    `fault:derp-failover`,
    `the DERP node of ${region.code} that ${a.name} and ${b.name} use goes down (${how === "kill" ? "SIGKILL" : "link down"}): they relay through another`,
    async () => {
      const homed = await homeBoth(ctx, region, a, b);
      if (homed) return { status: "fail", detail: homed };
      const [fa, fb] = await Promise.all([firstNodeOf(ctx, a, region.id), firstNodeOf(ctx, b, region.id)]);
      if (!fa || fa !== fb)
        return { status: "fail", detail: `the clients' maps disagree on ${region.code}'s first node (${a.name}: ${fa ?? "?"}, ${b.name}: ${fb ?? "?"})` };
      const victim = fa;
      const survivor = derpNodes(region).find((n) => n.name !== victim)!.name;
      const target = await ctx.self(b.name);
      let baseline: Pong | undefined;
      for (const deadline = Date.now() + 15_000; !baseline && Date.now() < deadline; ) {
        const p = await ctx.pingOnce(a.name, target.ipv4!, 2_000);
        if (p.pong?.relayed && p.pong.via === region.code) baseline = p.pong;
        else await ctx.pause(200);
      }
      if (!baseline) return { status: "fail", detail: `no relayed ping through ${region.code} before the fault` };
      const [v1, v2] = await Promise.all([ctx.derperVarz(victim), ctx.derperVarz(survivor)]);
      const t0 = Date.now();
      await ctx.faults!.failDerper(victim, how);
      // Pings of 1 s, back to back: the figure is the time from the kill to the first relayed pong.
      let back: Pong | undefined;
      let attempts = 0;
      let missed = "";
      // A node that vanishes is noticed by the DERP client's 120 s read timeout: allow for it.
      const limit = how === "kill" ? 60_000 : 180_000;
      while (!back && Date.now() - t0 < limit) {
        attempts++;
        const p = await ctx.pingOnce(a.name, target.ipv4!, 1_000);
        if (p.pong?.relayed && p.pong.via === region.code) back = p.pong;
        else {
          missed = p.pong ? `pong via ${p.pong.via}` : p.error;
          await ctx.pause(50);
        }
      }
      if (!back)
        return {
          status: "fail",
          detail: `no relayed ping through ${region.code} within ${limit / 1000} s after ${victim} went down (${how}; ${attempts} pings): ${short(missed, 200)}`,
        };
      const failoverMs = back.at - t0;
      const after = await ctx.derperVarz(survivor);
      const homes = { victimBefore: homeConnections(v1), survivorBefore: homeConnections(v2), survivorAfter: homeConnections(after) };
      const detail =
        `${victim} (first in both clients' map; ${homes.victimBefore} home connection(s)) ${how === "kill" ? "killed with SIGKILL" : "cut off (its link down: no connection closed)"}; ${a.name} -> ${b.name} answered via DERP(${region.code}) again ${(failoverMs / 1000).toFixed(2)} s later ` +
        `(${attempts} ping(s); that pong ${fmtMs(back.ms)}); ${survivor}'s home connections ${homes.survivorBefore} -> ${homes.survivorAfter}`;
      if (homes.survivorAfter - homes.survivorBefore < 2)
        return { status: "fail", detail: `${detail}: the clients did not move to ${survivor}`, data: { failoverMs, attempts, homes } };
      return { status: "pass", detail, data: { failoverMs, attempts, victim, survivor, homes, how } };
    },
  );
}

/** Stops headscale and proves two established peers keep talking through their relay meanwhile. */
export async function checkHeadscaleDown(ctx: CheckContext, a: LabMachine, b: LabMachine, downMs = 6_000): Promise<LabCheck> {
  return timed(ctx, "fault:headscale-down", `headscale stopped: ${a.name} and ${b.name} keep talking`, async () => {
    const target = await ctx.self(b.name);
    await ctx.faults!.stopHeadscale();
    const t0 = Date.now();
    if (await ctx.faults!.headscaleUp()) return { status: "fail", detail: "headscale still answers /health after it was stopped" };
    let answered = 0;
    let sent = 0;
    let missed = "";
    const rtts: number[] = [];
    while (Date.now() - t0 < downMs) {
      sent++;
      const p = await ctx.pingOnce(a.name, target.ipv4!, 1_000);
      if (p.pong?.relayed) {
        answered++;
        rtts.push(p.pong.ms);
      } else missed = p.pong ? `pong via ${p.pong.via}` : p.error;
      await ctx.pause(500);
    }
    const stillDown = !(await ctx.faults!.headscaleUp());
    const detail = `headscale down for ${((Date.now() - t0) / 1000).toFixed(1)} s: ${answered}/${sent} relayed pings ${a.name} -> ${b.name} answered${rtts.length ? ` (max ${fmtMs(Math.max(...rtts))})` : ""}${stillDown ? "" : "; but headscale answered again meanwhile"}`;
    return answered === sent && sent > 0 && stillDown
      ? { status: "pass", detail, data: { downMs: Date.now() - t0, sent, answered } }
      : { status: "fail", detail: `${detail}${missed ? `; last miss: ${short(missed, 160)}` : ""}`, data: { sent, answered } };
  });
}

/**
 * Waits (up to `limitMs` from `t0`) until every tailnet machine is online in headscale; the time
 * each came online, and when all were (undefined when some never did).
 */
export async function waitAllOnline(
  ctx: CheckContext,
  t0: number,
  limitMs = 90_000,
): Promise<{ onlineMs: number | undefined; online: string[]; expected: string[]; perNode: Map<string, number>; nodes: HeadscaleNode[] }> {
  const expected = ctx.tailscaleMachines.map(tailnetHostname);
  let online: string[] = [];
  let nodes: HeadscaleNode[] = [];
  const perNode = new Map<string, number>();
  while (Date.now() - t0 < limitMs) {
    nodes = await listNodes(ctx).catch(() => []);
    online = expected.filter((n) => nodes.find((x) => x.given_name === n || x.name === n)?.online);
    for (const n of online) if (!perNode.has(n)) perNode.set(n, Date.now() - t0);
    if (online.length === expected.length) return { onlineMs: Date.now() - t0, online, expected, perNode, nodes };
    await ctx.pause(200);
  }
  return { onlineMs: undefined, online, expected, perNode, nodes };
}

/** Starts headscale again and measures how long until it is healthy and every node is online again. */
export async function checkHeadscaleRestart(ctx: CheckContext, a: LabMachine, b: LabMachine): Promise<LabCheck> {
  return timed(ctx, "fault:headscale-restart", "headscale restarted: every node reconnects", async () => {
    const t0 = Date.now();
    await ctx.faults!.startHeadscale();
    const healthyMs = Date.now() - t0;
    const { onlineMs, online, expected, perNode } = await waitAllOnline(ctx, t0);
    if (onlineMs === undefined) {
      return {
        status: "fail",
        detail: `headscale healthy after ${(healthyMs / 1000).toFixed(2)} s, but after 90 s only ${online.length}/${expected.length} nodes are online (missing ${expected.filter((n) => !online.includes(n)).join(", ")})`,
      };
    }
    const target = await ctx.self(b.name);
    const ping = await relayPing(ctx, a, target, undefined, 1, 15_000);
    const first = Math.min(...perNode.values());
    const detail = `healthy after ${(healthyMs / 1000).toFixed(2)} s; every node (${expected.length}) online again after ${(onlineMs / 1000).toFixed(2)} s (first after ${(first / 1000).toFixed(2)} s: clients retry with backoff); relayed ping ${a.name} -> ${b.name} ${ping.pongs.length ? `answers (${fmtMs(ping.pongs[0]!.ms)})` : "does NOT answer"}`;
    return ping.pongs.length > 0
      ? { status: "pass", detail, data: { healthyMs, onlineMs, perNodeMs: Object.fromEntries(perNode) } }
      : { status: "fail", detail, data: { healthyMs, onlineMs } };
  });
}
