/**
 * The checks step of a lab run: what the checks see of the running lab (CheckContext: the DERP
 * regions clients get, tailscale and headscale in their namespaces, derper's counters), then
 * every check in order (checks.ts, and those of the paths a spec may have: exit nodes, OIDC
 * logins, IPv6), then, when asked, the faults and drills (faults.ts).
 */
import { allNodes, nodeNamed } from "../model/index.js";
import { parseListenAddress } from "../model/net.js";
import type { Running } from "./bring-up.js";
import {
  checkDebugDerp,
  checkMesh,
  checkNetcheck,
  checkPin,
  checkRegistered,
  checkRelayPing,
  checkRoute,
  checkVerify,
  checkWrongPin,
  preferMeshRegion,
  reachedHosts,
  skipCheck,
  type CheckContext,
  type CheckRegion,
  type LabCheck,
  type TailscaleSelf,
} from "./checks.js";
import { checkExitNode } from "./exit-node.js";
import { labFaults, runFaults, type FaultOptions } from "./faults.js";
import { checkIpv6Client } from "./ipv6.js";
import { urlPort, type LabTailnet } from "./lab-changes.js";
import type { LabListener } from "./network.js";
import { checkOidcLogin, type LabOidcRun } from "./oidc.js";
import { joinsWithKey, machineOfNode } from "./plan.js";
import type { LabRun } from "./setup.js";

/** How the checks run. */
export interface CheckOptions {
  readonly oidcRun: LabOidcRun | undefined;
  /** Relayed pings the relay-ping check collects. */
  readonly pingSamples: number;
  /** The listeners on the LANs and upstreams (network.ts), by name. */
  readonly listeners: ReadonlyMap<string, LabListener>;
  /** Then the faults and the disaster drills, when asked for. */
  readonly faults: FaultOptions | undefined;
}

/** Runs every check against the running lab; each result goes to `report` as soon as it is known. */
export async function runChecks(run: LabRun, lab: LabTailnet, running: Running, report: (c: LabCheck) => void, options: CheckOptions): Promise<void> {
  const { rt, progress } = run;
  const { plan } = run.setup;
  const members = plan.machines.filter(joinsWithKey);
  const clients = plan.machines.filter((m) => m.client !== undefined);
  const prober = clients[0] ?? members[0];
  // The model's regions (and the lab's wrong-pin region); a break's foreign region is what the map has and the model has not.
  const modelRegions = lab.tailnet.derp.regions.filter((r) => !lab.foreignRegions.includes(r.id));
  const modelNodes = allNodes(lab.tailnet).filter((n) => !lab.foreignRegions.includes(n.regionId));
  const embedded = lab.tailnet.headscale.embeddedDerp;
  const serverUrl = new URL(lab.tailnet.headscale.serverUrl);
  // The regions clients get: the model's, and headscale's embedded one when it adds it.
  const regions: CheckRegion[] = [
    ...modelRegions.map((r) => ({
      id: r.id,
      code: r.code,
      name: r.name,
      noMeasureNoHome: r.noMeasureNoHome,
      embedded: false,
      nodes: r.nodes.map((n) => ({
        name: n.name,
        hostname: n.hostname,
        derpPort: n.derpPort,
        stunPort: n.stunPort,
        stunOnly: n.stunOnly,
        canPort80: n.canPort80,
        ipv6: n.ipv6 !== undefined,
      })),
    })),
    ...(embedded?.automaticallyAddRegion
      ? [
          {
            id: embedded.regionId,
            code: embedded.regionCode,
            name: embedded.regionName,
            noMeasureNoHome: false,
            embedded: true,
            nodes: [
              {
                name: String(embedded.regionId),
                hostname: lab.tailnet.headscale.serverHost,
                derpPort: urlPort(serverUrl),
                stunPort: parseListenAddress(embedded.stunListenAddr)!.port,
                stunOnly: false,
                // headscale serves no /generate_204 on port 80.
                canPort80: false,
                ipv6: embedded.ipv6 !== undefined,
              },
            ],
          },
        ]
      : []),
  ];
  type PeerStatus = { HostName?: string; PublicKey?: string; TailscaleIPs?: string[]; Relay?: string; PrimaryRoutes?: string[] | null };
  const status = async (machine: string): Promise<{ Self?: PeerStatus; Peer?: Record<string, PeerStatus> }> => {
    const r = await running.tailscale(machine, ["status", "--json"]);
    if (r.code !== 0) throw new Error(`tailscale status on ${machine} failed: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as { Self?: PeerStatus; Peer?: Record<string, PeerStatus> };
  };
  const view = (s: PeerStatus): TailscaleSelf => ({
    hostName: s.HostName ?? "",
    nodeKey: s.PublicKey ?? "",
    ipv4: s.TailscaleIPs?.find((a) => a.includes(".")),
    relay: s.Relay ?? "",
  });
  const self = async (machine: string) => view((await status(machine)).Self ?? {});
  const peers = async (machine: string) => Object.values((await status(machine)).Peer ?? {}).map(view);
  const ctx: CheckContext = {
    regions,
    probe: lab.probe,
    tailscaleMachines: members,
    clients,
    derpers: running.derpers,
    nodeAddress: (n) => machineOfNode(plan, n).address,
    tailscale: running.tailscale,
    tailscaleNc: running.tailscaleNc,
    pingOnce: running.pingOnce,
    headscale: running.headscaleCli,
    self,
    peers,
    peerRoutes: async (machine, peerHostName) =>
      Object.values((await status(machine)).Peer ?? {}).find((p) => p.HostName === peerHostName)?.PrimaryRoutes ?? [],
    nodeFamilies: [
      ...(lab.tailnet.headscale.prefixes.v4 !== undefined ? [4 as const] : []),
      ...(lab.tailnet.headscale.prefixes.v6 !== undefined ? [6 as const] : []),
    ],
    verifyingNodes: new Set(modelNodes.filter((n) => n.derper.verifyClientUrl !== undefined).map((n) => n.name)),
    ...(options.faults && { faults: labFaults(rt, running) }),
    derperVarz: async (nodeName) => {
      const node = nodeNamed(lab.tailnet, nodeName)!;
      const machine = machineOfNode(plan, nodeName);
      const host = node.hostname;
      const url = `https://${host}:${node.derpPort}/debug/varz`;
      const tls = node.hostnameIsIp ? ["-k"] : ["--cacert", rt.baseEnv.SSL_CERT_FILE!];
      // Over loopback: derper serves its debug pages only to localhost.
      const r = await rt.run(machine.name, ["curl", "-s", "--max-time", "5", ...tls, "--resolve", `${host}:${node.derpPort}:127.0.0.1`, url], {
        timeoutMs: 10_000,
      });
      const values = new Map<string, number>();
      for (const m of r.stdout.matchAll(/^([a-zA-Z_][\w]*)\s+(-?[\d.e+]+)$/gm)) values.set(m[1]!, Number(m[2]));
      return values;
    },
    pause: (ms) => rt.pause(ms),
    report,
  };
  const skip = (id: string, title: string, why: string) => skipCheck(ctx, id, title, why);
  progress("checks:");
  // Mesh clients start homing on their region now; their check comes last.
  const meshRegions = regions.filter((r) => !r.embedded && r.id !== lab.probe?.regionId && r.nodes.filter((n) => !n.stunOnly).length > 1);
  await Promise.all(
    meshRegions.map((r) =>
      preferMeshRegion(
        ctx,
        r,
        plan.machines.filter((m) => m.mesh?.regionId === r.id),
      ),
    ),
  );

  await checkRegistered(ctx);
  if (!prober) {
    skip("netcheck", "tailscale netcheck", "no client or device (--clients 0 and no devices)");
    return;
  }
  const measured = regions.filter((r) => r.id !== lab.probe?.regionId);
  const [, derpResults] = await Promise.all([checkNetcheck(ctx, prober), Promise.all(measured.map((r) => checkDebugDerp(ctx, prober, r)))]);
  const pinned = lab.probe ? nodeNamed(lab.tailnet, lab.probe.pinnedNode) : undefined;
  const reached = new Set(derpResults.flatMap((r) => reachedHosts(r.report)));
  if (pinned && lab.probe) {
    const region = regions.find((r) => r.id === pinned.regionId)!;
    await checkPin(ctx, region, pinned, derpResults[measured.indexOf(region)]?.report);
    const wrong = await checkWrongPin(ctx, prober, lab.probe);
    for (const h of reachedHosts(wrong.data as Parameters<typeof reachedHosts>[0])) reached.add(h);
  } else {
    skip("pin", "pinned certificate of an IP-only node", "the model has no DERP node named by an IP address with a pinned certificate");
  }
  const keys = (await Promise.all(members.map((m) => self(m.name)))).map((s) => s.nodeKey).filter((k) => k !== "");
  await checkVerify(ctx, keys, prober, reached);
  if (clients.length < 2) {
    skip("relay-ping", "tailscale ping between clients through a relay", "needs --clients 2 or more");
  } else {
    await checkRelayPing(ctx, clients[0]!, clients[1]!, options.pingSamples);
  }
  const v6Client = plan.machines.find((m) => m.ipv6Only);
  // The peer: the last plain client (the route and exit checks use the first).
  if (v6Client) await checkIpv6Client(ctx, v6Client, clients[clients.length - 1] ?? prober, regions);
  for (const region of meshRegions) {
    const pair = plan.machines.filter((m) => m.mesh?.regionId === region.id);
    if (pair.length < 2) skip(`mesh:${region.code}`, `mesh in ${region.code}`, "its DERP nodes run on one host, so clients cannot be homed on different nodes");
    else await checkMesh(ctx, region, pair[0]!, pair[1]!);
  }
  for (const lan of plan.lans) {
    const router = plan.machines.find((m) => m.name === lan.router)!;
    const client = plan.machines.find((m) => m.name === plan.routeClient);
    const approvers = lab.tailnet.policy ? (lab.tailnet.policy.autoApprovers.routes[lan.route] ?? []) : undefined;
    await checkRoute(ctx, lan, router, client, options.listeners.get(lan.name)!, approvers);
  }
  for (const up of plan.upstreams) {
    const exit = plan.machines.find((m) => m.name === up.exitNode)!;
    const client = plan.machines.find((m) => m.name === plan.exitClient);
    await checkExitNode(ctx, up, exit, client, options.listeners.get(up.name)!, lab.tailnet.policy?.autoApprovers.exitNode);
  }
  if (options.oidcRun && lab.tailnet.headscale.oidc) {
    const o = options.oidcRun;
    await checkOidcLogin(ctx, {
      machine: o.login,
      serverUrl: lab.tailnet.headscale.serverUrl,
      users: o.users,
      oidc: lab.tailnet.headscale.oidc,
      startTailscaled: () => running.startTailscaled(o.login),
      curl: (args, timeoutMs) => rt.run(o.login, ["curl", "--cacert", rt.baseEnv.SSL_CERT_FILE!, ...args], { timeoutMs: timeoutMs ?? 20_000 }),
      cookieJar: o.files.cookieJar,
    });
  }
  for (const device of plan.machines.filter((m) => m.device?.advertiseRoutes.some((r) => !plan.lans.some((l) => l.router === m.name && l.route === r)))) {
    const others = device.device!.advertiseRoutes.filter((r) => !plan.lans.some((l) => l.router === device.name && l.route === r));
    progress(`  (routes of ${device.name} not tried through a LAN: ${others.join(", ")}: only IPv4 prefixes from /8 to /30 get a LAN namespace)`);
  }
  if (options.faults) await runFaults(ctx, options.faults, progress);
}
