/**
 * Which lab machine runs what: every host of the model that runs something becomes one network
 * namespace (the coordination server, every DERP node), every device the spec declares gets one,
 * and so does each of the N plain clients. Addresses come from the lab subnet, in a fixed order,
 * so the same model always gets the same lab addresses.
 */
import type { ResolvedDevice, ResolvedTailnet } from "../model/index.js";

/** One namespace of the lab. */
export interface LabMachine {
  /** Unique within the run: the model host's name, or the node/device name, or `client-<i>`. */
  readonly name: string;
  readonly kind: "server" | "device" | "client";
  /** The model host it stands for, when there is one. */
  readonly modelHost: string | undefined;
  /** The lab IPv4 address of its one interface. */
  readonly address: string;
  /** Runs headscale. */
  readonly headscale: boolean;
  /** DERP nodes (by name) whose derper runs here. */
  readonly derpNodes: readonly string[];
  /** The declared device this machine is, or undefined. */
  readonly device: ResolvedDevice | undefined;
  /** 1-based index of a plain client. */
  readonly client: number | undefined;
  /**
   * A mesh client: a client of a multi-node region that can reach only one node of it (the
   * others are unreachable from its namespace from the start), so it homes on that node.
   */
  readonly mesh: { readonly regionId: number; readonly regionCode: string; readonly node: string; readonly blocked: readonly string[] } | undefined;
}

export interface LabPlan {
  /** `10.77.0.0/24` style: the lab's one subnet, never routed anywhere. */
  readonly subnet: string;
  readonly prefixLength: number;
  readonly machines: readonly LabMachine[];
  /** Model hosts that run nothing: no namespace (nothing would start in it). */
  readonly idleHosts: readonly string[];
}

/** Lab subnet: a /24 inside the namespaces only. */
export const DEFAULT_LAB_SUBNET = "10.77.0.0/24";

function addressAt(subnet: string, index: number): string {
  const base = subnet.split("/")[0]!.split(".").map(Number);
  const host = 10 + index;
  if (host > 250) throw new Error(`the lab subnet ${subnet} has room for 240 machines`);
  return `${base[0]}.${base[1]}.${base[2]}.${host}`;
}

/**
 * Plans the machines for a resolved tailnet and `clients` plain clients. headscale and DERP
 * nodes that name no host each get a machine of their own (named after headscale / the node).
 * Each region with two or more DERP nodes on different machines gets two mesh clients,
 * `mesh-<code>-1` and `mesh-<code>-2`, homed on its first and second node.
 */
export function planLab(tailnet: ResolvedTailnet, clients: number, subnet = DEFAULT_LAB_SUBNET): LabPlan {
  if (!/^\d+\.\d+\.\d+\.0\/24$/.test(subnet)) throw new Error(`lab subnet must be an IPv4 /24, got ${subnet}`);
  const servers = new Map<string, { modelHost: string | undefined; headscale: boolean; derpNodes: string[] }>();
  const serverFor = (name: string, modelHost: string | undefined) => {
    let s = servers.get(name);
    if (!s) {
      s = { modelHost, headscale: false, derpNodes: [] };
      servers.set(name, s);
    }
    return s;
  };
  serverFor(tailnet.headscale.host ?? "headscale", tailnet.headscale.host).headscale = true;
  for (const region of tailnet.derp.regions) {
    for (const node of region.nodes) serverFor(node.host ?? node.name, node.host).derpNodes.push(node.name);
  }
  const used = new Set<string>(servers.keys());
  const unique = (name: string) => {
    let candidate = name;
    for (let i = 2; used.has(candidate); i++) candidate = `${name}-${i}`;
    used.add(candidate);
    return candidate;
  };
  const machines: LabMachine[] = [];
  const add = (m: Omit<LabMachine, "address">) => machines.push({ ...m, address: addressAt(subnet, machines.length) });
  const none = { modelHost: undefined, headscale: false, derpNodes: [], device: undefined, client: undefined, mesh: undefined };
  for (const [name, s] of servers) add({ ...none, name, kind: "server", modelHost: s.modelHost, headscale: s.headscale, derpNodes: s.derpNodes });
  for (const device of tailnet.devices) add({ ...none, name: unique(device.name), kind: "device", device });
  for (let i = 1; i <= clients; i++) add({ ...none, name: unique(`client-${i}`), kind: "client", client: i });
  const serverOf = (node: string) => [...servers].find(([, s]) => s.derpNodes.includes(node))![0];
  for (const region of tailnet.derp.regions) {
    const nodes = region.nodes.filter((n) => !n.stunOnly);
    const [n1, n2] = nodes;
    if (!n1 || !n2 || serverOf(n1.name) === serverOf(n2.name)) continue;
    nodes.slice(0, 2).forEach((home, i) => {
      const blocked = nodes.filter((n) => serverOf(n.name) !== serverOf(home.name)).map((n) => n.name);
      add({ ...none, name: unique(`mesh-${region.code}-${i + 1}`), kind: "client", mesh: { regionId: region.id, regionCode: region.code, node: home.name, blocked } });
    });
  }
  const idleHosts = tailnet.hosts.filter((h) => !servers.has(h.name)).map((h) => h.name);
  return { subnet, prefixLength: 24, machines, idleHosts };
}

/** The name a machine's tailscaled registers with: the device's own name, else the machine's. */
export function tailnetHostname(m: LabMachine): string {
  return m.device?.name ?? m.name;
}

/** The machine that runs a DERP node. */
export function machineOfNode(plan: LabPlan, nodeName: string): LabMachine {
  const m = plan.machines.find((x) => x.derpNodes.includes(nodeName));
  if (!m) throw new Error(`no lab machine runs DERP node ${nodeName}`);
  return m;
}

/** The machine that runs headscale. */
export function headscaleMachine(plan: LabPlan): LabMachine {
  return plan.machines.find((m) => m.headscale)!;
}

/** The machine standing for a model host, if it runs anything. */
export function machineOfHost(plan: LabPlan, host: string): LabMachine | undefined {
  return plan.machines.find((m) => m.kind === "server" && m.modelHost === host);
}
