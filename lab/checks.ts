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
 * - wrong pin: the same node under a wrong pin is refused.
 */
import type { ResolvedDerpNode } from "../model/index.js";
import type { WrongPinProbe } from "./lab-changes.js";
import { tailnetHostname, type LabMachine } from "./plan.js";
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
  pause(ms: number): Promise<void>;
  /** Reports a check's result as soon as it is known. */
  report(check: LabCheck): void;
}

interface DebugDerpReport {
  Info: string[] | null;
  Warnings: string[] | null;
  Errors: string[] | null;
}

const short = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

async function timed(ctx: CheckContext, id: string, title: string, body: () => Promise<Omit<LabCheck, "id" | "title" | "durationMs">>): Promise<LabCheck> {
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

interface HeadscaleNode {
  given_name?: string;
  name?: string;
  online?: boolean;
  ip_addresses?: string[];
  tags?: string[];
  forced_tags?: string[];
  valid_tags?: string[];
  available_routes?: string[];
  approved_routes?: string[];
  user?: { name?: string };
}

async function listNodes(ctx: CheckContext): Promise<HeadscaleNode[]> {
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
    for (let i = 0; i < 40; i++) {
      nodes = await listNodes(ctx);
      problems = problemsOf(nodes);
      if (problems.length === 0) break;
      await ctx.pause(500);
    }
    const summary = expected
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
      .join("; ");
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

const established = (rep: DebugDerpReport, host: string) => (rep.Info ?? []).some((l) => l.includes(`Successfully established a DERP connection with node "${host}"`));
const stunOk = (rep: DebugDerpReport, host: string) => (rep.Info ?? []).some((l) => l.startsWith(`Node "${host}" returned IPv4 STUN response`));
/** IPv6 errors are expected: the lab network (like a node without IPv6) has no IPv6. */
const ipv6Error = (line: string) => / over IPv6: /.test(line);

export async function checkDebugDerp(ctx: CheckContext, client: LabMachine, region: CheckRegion): Promise<{ check: LabCheck; report: DebugDerpReport | undefined }> {
  let report: DebugDerpReport | undefined;
  const check = await timed(ctx, `derp:${region.code}`, `tailscale debug derp ${region.code} (${region.id}) passes`, async () => {
    report = await debugDerp(ctx, client.name, region.id);
    const problems: string[] = [];
    for (const node of derpNodes(region)) {
      if (!established(report, node.hostname)) problems.push(`no DERP connection with ${node.name} (${node.hostname})`);
      if (node.stunPort > 0 && !stunOk(report, node.hostname)) problems.push(`no STUN answer from ${node.name}`);
    }
    const errors = (report.Errors ?? []).filter((e) => !ipv6Error(e));
    problems.push(...errors);
    const ipv6 = (report.Errors ?? []).filter(ipv6Error).length;
    // debug derp tries http://<host>/generate_204 on port 80 whether or not the node serves it.
    const noPort80 = derpNodes(region).filter((n) => !n.canPort80).map((n) => n.hostname);
    const expected = (w: string) => noPort80.some((h) => w.includes(`"http://${h}/generate_204`));
    const warnings = (report.Warnings ?? []).filter((w) => !expected(w));
    const port80 = (report.Warnings ?? []).length - warnings.length;
    const nodes = derpNodes(region).map((n) => n.name).join(", ");
    const notes = [
      ...(ipv6 ? [`${ipv6} IPv6 error(s) ignored: the lab is IPv4 only`] : []),
      ...(port80 ? [`${port80} captive-portal warning(s) expected: no port 80 (CanPort80 false)`] : []),
    ];
    const detail = `${nodes}: TLS + DERP connection + STUN ok${notes.length ? ` (${notes.join("; ")})` : ""}${warnings.length ? `; warnings: ${warnings.map((w) => short(w, 90)).join(" | ")}` : ""}`;
    return problems.length === 0 ? { status: "pass", detail, data: report } : { status: "fail", detail: problems.map((p) => short(p, 200)).join("; "), data: report };
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
      return { status: "pass", detail: `TLS to ${node.hostname}:${node.derpPort} verified by ${node.certName!.slice(0, 24)}… (self-signed, not from the lab CA); DERP connection established`, data: rep };
    }
    return { status: "fail", detail: tlsErrors.join("; ") || `no DERP connection with ${node.hostname}`, data: rep };
  });
}

/** The same node under a wrong pin: the client refuses it. */
export async function checkWrongPin(ctx: CheckContext, client: LabMachine, probe: WrongPinProbe): Promise<LabCheck> {
  return timed(ctx, "wrong-pin", `a node with a wrong pin is refused (lab region ${probe.regionCode})`, async () => {
    const rep = await debugDerp(ctx, client.name, probe.regionId);
    const refused = (rep.Errors ?? []).find((e) => /cert hash does not match/.test(e));
    const connected = (rep.Info ?? []).some((l) => l.includes("Successfully established a DERP connection"));
    if (refused && !connected) return { status: "pass", detail: `TLS refused: ${short(refused.replace(/^.*: /, ""), 80)} (pin ${probe.wrongPin.slice(0, 24)}…)`, data: rep };
    return { status: "fail", detail: connected ? "the client connected despite the wrong pin" : `unexpected result: ${(rep.Errors ?? []).join("; ") || "no error"}`, data: rep };
  });
}

// ---------------------------------------------------------------------------------------------
// client verification

export async function checkVerify(ctx: CheckContext, registeredKeys: readonly string[], probedFrom: LabMachine): Promise<LabCheck> {
  return timed(ctx, "verify", "derper refuses a DERP client headscale does not know (fail closed)", async () => {
    const problems: string[] = [];
    const counts: string[] = [];
    const from = new RegExp(`derp: ${probedFrom.address.replace(/\./g, "\\.")}:\\d+: client (nodekey:[0-9a-f]+) rejected: admission controller: nodekey:[0-9a-f]+/[0-9.]+ not allowed`, "g");
    const urls = new Set<string>();
    const relays = [...ctx.derpers].filter(([, proc]) => !proc.argv.includes("-derp=false"));
    if (relays.length > 0 && relays.every(([, proc]) => !proc.argv.some((a) => a.startsWith("-verify-client-url=")))) {
      return { status: "skip", detail: "the model turns derper's client verification off (derp.derper.verifyClients: false)" };
    }
    for (const [node, proc] of relays) {
      const url = proc.argv.find((a) => a.startsWith("-verify-client-url="))?.slice("-verify-client-url=".length);
      if (!url) problems.push(`${node} runs without -verify-client-url`);
      else urls.add(url);
      if (!proc.argv.includes("-verify-client-url-fail-open=false")) problems.push(`${node} runs without -verify-client-url-fail-open=false (fails open)`);
      const log = proc.log();
      const refused = new Set([...log.matchAll(from)].map((m) => m[1]!));
      const wronglyRefused = registeredKeys.filter((k) => log.includes(`client ${k} rejected`));
      if (wronglyRefused.length > 0) problems.push(`${node} refused registered node(s) ${wronglyRefused.join(", ")}`);
      if (refused.size === 0) problems.push(`${node}: no refusal of an unknown key in its log`);
      counts.push(`${node} ${refused.size}`);
    }
    return problems.length === 0
      ? { status: "pass", detail: `every derper asks ${[...urls].join(", ")} and fails closed; it answered Allow:false for the random keys of debug derp, refused per node: ${counts.join(", ")}; no registered node refused` }
      : { status: "fail", detail: problems.join("; ") };
  });
}

// ---------------------------------------------------------------------------------------------
// ping, mesh

/** `tailscale ping` lines that answered through a relay: region code and time. */
export function parsePing(output: string): { via: string; ms: string }[] {
  return [...output.matchAll(/pong from .* via DERP\(([^)]+)\) in (\S+)/g)].map((m) => ({ via: m[1]!, ms: m[2]! }));
}

/**
 * Waits (bounded) until `from` knows `to` as a peer whose home DERP region is `region` (any
 * region when undefined): pinging earlier would fail or go through a region the peer left.
 */
async function waitForPeerView(ctx: CheckContext, from: LabMachine, to: LabMachine, region: string | undefined, timeoutMs = 20_000): Promise<TailscaleSelf | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const peer = (await ctx.peers(from.name)).find((p) => p.hostName === tailnetHostname(to));
    if (peer && peer.relay !== "" && (region === undefined || peer.relay === region)) return peer;
    if (Date.now() > deadline) return peer;
    await ctx.pause(250);
  }
}

/**
 * Pings `to` from `from` one ping at a time (2 s each) until `want` pongs came through a relay
 * (through `region` when given), or `deadlineMs` passed. Each failed attempt is kept as evidence.
 */
async function relayPing(ctx: CheckContext, from: LabMachine, to: TailscaleSelf, region?: string, want = 2, deadlineMs = 25_000): Promise<{ pongs: { via: string; ms: string }[]; output: string; attempts: number }> {
  const deadline = Date.now() + deadlineMs;
  const pongs: { via: string; ms: string }[] = [];
  let output = "";
  let attempts = 0;
  while (pongs.length < want && Date.now() < deadline) {
    attempts++;
    const r = await ctx.tailscale(from.name, ["ping", "--until-direct=false", "-c", "1", "--timeout", "2s", to.ipv4!], 15_000);
    const got = parsePing(r.stdout).filter((p) => region === undefined || p.via === region);
    pongs.push(...got);
    if (got.length === 0) output += `${r.stdout}${r.stderr}`;
  }
  return { pongs, output, attempts };
}

export async function checkRelayPing(ctx: CheckContext, a: LabMachine, b: LabMachine): Promise<LabCheck> {
  return timed(ctx, "relay-ping", `tailscale ping ${a.name} -> ${b.name} through a DERP relay`, async () => {
    const target = await ctx.self(b.name);
    if (!target.ipv4) throw new Error(`${b.name} has no Tailscale IPv4 address`);
    // Both must know each other: a disco ping from a peer not (yet) in the netmap is dropped.
    const seen = await Promise.all([waitForPeerView(ctx, a, b, undefined), waitForPeerView(ctx, b, a, undefined)]);
    if (!seen[0] || !seen[1]) return { status: "fail", detail: `${a.name} and ${b.name} never saw each other as peers` };
    const { pongs, output, attempts } = await relayPing(ctx, a, target);
    if (pongs.length === 0) return { status: "fail", detail: `no pong via DERP in ${attempts} pings: ${short(output.trim(), 300)}`, data: output };
    return { status: "pass", detail: `${pongs.length} pong(s) from ${b.name} (${target.ipv4}) via DERP(${pongs[0]!.via}) in ${attempts} pings: ${pongs.map((p) => p.ms).join(", ")}`, data: { pongs, missed: output } };
  });
}

/**
 * Two mesh clients of a multi-node region, each able to reach only its own node of the region
 * (the lab made the others unreachable from its namespace before it started), are told to prefer
 * the region; once each is homed there and sees the other homed there, a relayed ping must cross
 * the region's mesh, which the derpers' forwarding counters confirm.
 */
/** Tells mesh clients to prefer their region and to measure again (homing takes a netcheck, ~3 s). */
export async function preferMeshRegion(ctx: CheckContext, region: CheckRegion, machines: readonly LabMachine[]): Promise<void> {
  for (const m of machines) {
    await ctx.tailscale(m.name, ["debug", "force-prefer-derp", String(region.id)]);
    await ctx.tailscale(m.name, ["debug", "restun"]);
  }
}

export async function checkMesh(ctx: CheckContext, region: CheckRegion, a: LabMachine, b: LabMachine): Promise<LabCheck> {
  const n1 = a.mesh!.node;
  const n2 = b.mesh!.node;
  return timed(ctx, `mesh:${region.code}`, `mesh in ${region.code}: ${a.name} homed on ${n1}, ${b.name} on ${n2}, reach each other`, async () => {
    const t0 = Date.now();
    const steps: string[] = [];
    let homes: TailscaleSelf[] = [];
    for (let i = 0; i < 60; i++) {
      homes = await Promise.all([ctx.self(a.name), ctx.self(b.name)]);
      if (homes.every((h) => h.relay === region.code)) break;
      if (i % 8 === 7) for (const m of [a, b]) await ctx.tailscale(m.name, ["debug", "restun"]);
      await ctx.pause(500);
    }
    if (!homes.every((h) => h.relay === region.code)) {
      return { status: "fail", detail: `the mesh clients did not home on ${region.code}: ${a.name} on ${homes[0]?.relay || "?"}, ${b.name} on ${homes[1]?.relay || "?"}` };
    }
    steps.push(`homed at ${Date.now() - t0} ms`);
    // Each must see the other homed on the region too, or the ping would go through the region the peer left.
    const views = await Promise.all([waitForPeerView(ctx, a, b, region.code), waitForPeerView(ctx, b, a, region.code)]);
    if (views.some((v) => v?.relay !== region.code)) {
      return { status: "fail", detail: `headscale did not tell the mesh clients each other's home: ${a.name} sees ${b.name} on ${views[0]?.relay || "?"}, ${b.name} sees ${a.name} on ${views[1]?.relay || "?"}` };
    }
    steps.push(`each sees the other on ${region.code} at ${Date.now() - t0} ms`);
    const forwarded = async () => {
      const [v1, v2] = await Promise.all([ctx.derperVarz(n1), ctx.derperVarz(n2)]);
      return { out1: v1.get("derp_packets_forwarded_out") ?? 0, in1: v1.get("derp_packets_forwarded_in") ?? 0, out2: v2.get("derp_packets_forwarded_out") ?? 0, in2: v2.get("derp_packets_forwarded_in") ?? 0 };
    };
    const before = await forwarded();
    const { pongs, output, attempts } = await relayPing(ctx, a, homes[1]!, region.code);
    steps.push(`${pongs.length} pong(s) in ${attempts} ping(s) at ${Date.now() - t0} ms`);
    if (output) steps.push(output);
    if (pongs.length === 0) return { status: "fail", detail: `both homed on ${region.code}, but no pong via DERP(${region.code}) in ${attempts} pings: ${short(output.trim(), 300)}`, data: { steps } };
    const after = await forwarded();
    const d = { out1: after.out1 - before.out1, in1: after.in1 - before.in1, out2: after.out2 - before.out2, in2: after.in2 - before.in2 };
    const crossed = `${n1} forwarded ${d.out1} packet(s) to the mesh and got ${d.in1}, ${n2} forwarded ${d.out2} and got ${d.in2}`;
    if (d.out1 === 0 || d.in2 === 0) return { status: "fail", detail: `pongs arrived, but nothing crossed the mesh (${crossed})`, data: { pongs, forwarded: d, steps } };
    return {
      status: "pass",
      detail: `both homed on ${region.code} (${a.name} can reach only ${n1}, ${b.name} only ${n2}); ${pongs.length} pong(s) via DERP(${region.code}): ${pongs.map((p) => p.ms).join(", ")}; ${crossed}`,
      data: { pongs, forwarded: d, steps },
    };
  });
}
