/**
 * Which lab machine runs what: every host of the model that runs something becomes one network
 * namespace (the coordination server, every DERP node), every device the spec declares gets one,
 * and so does each of the N plain clients. Addresses come from the lab subnet, in a fixed order,
 * so the same model always gets the same lab addresses.
 */
import { hostNamed, type ResolvedDevice, type ResolvedTailnet } from "../model/index.js";
import { formatAddress, hasHostBits, parsePrefix, prefixRange, prefixWithin, type Prefix } from "../model/net.js";
import { splitDestination } from "../model/policy.js";
import { planUpstreams, type LabUpstream } from "./exit-node.js";

/** One namespace of the lab. */
export interface LabMachine {
  /** Unique within the run: the model host's name, or the node/device name, or `client-<i>`. */
  readonly name: string;
  /**
   * `server`: a model host (headscale, DERP nodes); `device`, `client`: tailscaleds joined with
   * pre-auth keys; `oidc-provider`, `oidc-login`: the lab's OpenID Connect provider and the
   * client that logs in through it (lab/oidc.ts).
   */
  readonly kind: "server" | "device" | "client" | "oidc-provider" | "oidc-login";
  /** The model host it stands for, when there is one. */
  readonly modelHost: string | undefined;
  /** The lab IPv4 address of its one interface (planned for every machine; a v6-only one does not get it). */
  readonly address: string;
  /** Its lab IPv6 address on the same interface: the lab network is dual-stack. */
  readonly address6: string;
  /** A client with no IPv4 at all (lab/ipv6.ts): it reaches headscale and DERP over IPv6 only. */
  readonly ipv6Only?: boolean;
  /** Runs headscale. */
  readonly headscale: boolean;
  /** DERP nodes (by name) whose derper runs here. */
  readonly derpNodes: readonly string[];
  /** The declared device this machine is, or undefined. */
  readonly device: ResolvedDevice | undefined;
  /** 1-based index of a plain client. */
  readonly client: number | undefined;
  /**
   * The headscale user a plain or mesh client joins as, when not the tailnet's own (see
   * `LabPlan.clientUser`).
   */
  readonly user?: string;
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
  /** A LAN namespace behind each subnet router, per advertised IPv4 route, with a listener in it. */
  readonly lans: readonly LabLan[];
  /** The plain client that tries the routes (joined with `--accept-routes`), or undefined without clients or routes. */
  readonly routeClient: string | undefined;
  /** An upstream network behind each exit node, with a listener in it (lab/exit-node.ts). */
  readonly upstreams: readonly LabUpstream[];
  /** The plain client that tries the exit nodes, or undefined without clients or exit nodes. */
  readonly exitClient: string | undefined;
  /** The OpenID Connect provider's and the login client's machines, when the model has `oidc`. */
  readonly oidc: { readonly provider: string; readonly login: string } | undefined;
  /**
   * The user the lab's clients join as: the tailnet's own user (which no rule of a policy names)
   * unless the policy keeps its nodes apart; then the first user of the model whose nodes the
   * policy lets reach each other and every LAN (the relay, mesh and route checks need both).
   */
  readonly clientUser: { readonly name: string; readonly why: string | undefined };
}

/** A subnet behind a device that advertises it. */
export interface LabLan {
  /** Name of its namespace (within the run): `<device machine>-lan[N]`. */
  readonly name: string;
  /** The device's machine. */
  readonly router: string;
  /** The advertised route, e.g. `192.168.100.0/24`. */
  readonly route: string;
  /** The router's address on the LAN (the first of the prefix). */
  readonly routerAddress: string;
  /** The listener's address (the second). */
  readonly listenerAddress: string;
  readonly prefixLength: number;
  /** Users the policy lets reach the listener (`*`: everyone). */
  readonly allowedUsers: readonly string[] | "*";
}

/** Lab subnet: a /24 inside the namespaces only. */
export const DEFAULT_LAB_SUBNET = "10.77.0.0/24";

/** The lab's IPv6 subnet (documentation addresses, inside the namespaces only); machine i gets `::<10+i>`. */
export const LAB_SUBNET6 = { prefix: "2001:db8:77::", length: 64 } as const;

function addressAt(subnet: Prefix, index: number): string {
  const host = 10 + index;
  if (host > 250) throw new Error(`the lab subnet ${subnet.text} has room for 240 machines`);
  return hostOf(subnet, host);
}

/**
 * Plans the machines for a resolved tailnet and `clients` plain clients. headscale and DERP
 * nodes that name no host each get a machine of their own (named after headscale / the node).
 * Each region with two or more DERP nodes on different machines gets two mesh clients,
 * `mesh-<code>-1` and `mesh-<code>-2`, homed on its first and second node.
 */
export function planLab(tailnet: ResolvedTailnet, clients: number, subnet = DEFAULT_LAB_SUBNET): LabPlan {
  const net = parsePrefix(subnet);
  if (net?.family !== 4 || net.bits !== 24 || hasHostBits(net)) throw new Error(`lab subnet must be an IPv4 /24, got ${subnet}`);
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
  const add = (m: Omit<LabMachine, "address" | "address6">) =>
    machines.push({ ...m, address: addressAt(net, machines.length), address6: `${LAB_SUBNET6.prefix}${10 + machines.length}` });
  const lanPlans = tailnet.devices.flatMap((device) => {
    const routes = device.advertiseRoutes.filter((r) => {
      const p = parsePrefix(r);
      return p?.family === 4 && p.bits >= 8 && p.bits <= 30;
    });
    return routes.map((route, i) => ({ device, route, i, count: routes.length }));
  });
  const clientUser = chooseClientUser(
    tailnet,
    lanPlans.map((l) => hostOf(parsePrefix(l.route)!, 2)),
  );
  const asUser = clientUser.name === tailnet.name ? {} : { user: clientUser.name };
  const none = { modelHost: undefined, headscale: false, derpNodes: [], device: undefined, client: undefined, mesh: undefined };
  for (const [name, s] of servers) add({ ...none, name, kind: "server", modelHost: s.modelHost, headscale: s.headscale, derpNodes: s.derpNodes });
  for (const device of tailnet.devices) add({ ...none, name: unique(device.name), kind: "device", device });
  for (let i = 1; i <= clients; i++) add({ ...none, ...asUser, name: unique(`client-${i}`), kind: "client", client: i });
  const oidc = tailnet.headscale.oidc ? { provider: unique("oidc-provider"), login: unique("oidc-login") } : undefined;
  if (oidc) {
    add({ ...none, name: oidc.provider, kind: "oidc-provider" });
    add({ ...none, name: oidc.login, kind: "oidc-login" });
  }
  const serverOf = (node: string) => [...servers].find(([, s]) => s.derpNodes.includes(node))![0];
  for (const region of tailnet.derp.regions) {
    const nodes = region.nodes.filter((n) => !n.stunOnly);
    const [n1, n2] = nodes;
    if (!n1 || !n2 || serverOf(n1.name) === serverOf(n2.name)) continue;
    nodes.slice(0, 2).forEach((home, i) => {
      const blocked = nodes.filter((n) => serverOf(n.name) !== serverOf(home.name)).map((n) => n.name);
      add({
        ...none,
        ...asUser,
        name: unique(`mesh-${region.code}-${i + 1}`),
        kind: "client",
        mesh: { regionId: region.id, regionCode: region.code, node: home.name, blocked },
      });
    });
  }
  // A client with IPv6 only, when it can reach headscale and a region's DERP nodes over IPv6 (lab/ipv6.ts).
  const headscaleHasIpv6 = hostNamed(tailnet, tailnet.headscale.host)?.publicIpv6 !== undefined;
  if (headscaleHasIpv6 && tailnet.derp.regions.some((r) => !r.noMeasureNoHome && r.nodes.some((n) => !n.stunOnly && n.ipv6 !== undefined))) {
    add({ ...none, ...asUser, name: unique("client-v6"), kind: "client", ipv6Only: true });
  }
  const idleHosts = tailnet.hosts.filter((h) => !servers.has(h.name)).map((h) => h.name);

  // LANs behind subnet routers, and the client that tries them.
  const lans: LabLan[] = lanPlans.map(({ device, route, i, count }) => {
    const router = machines.find((m) => m.device === device)!;
    const prefix = parsePrefix(route)!;
    return {
      name: count === 1 ? `${router.name}-lan` : `${router.name}-lan${i + 1}`,
      router: router.name,
      route,
      routerAddress: hostOf(prefix, 1),
      listenerAddress: hostOf(prefix, 2),
      prefixLength: prefix.bits,
      allowedUsers: usersAllowed(tailnet, { address: hostOf(prefix, 2) }),
    };
  });
  const routeClient = lans.length > 0 ? machines.find((x) => x.client !== undefined)?.name : undefined;
  const upstreams = planUpstreams(machines);
  const exitClient = upstreams.length > 0 ? machines.find((x) => x.client !== undefined)?.name : undefined;
  return { subnet, prefixLength: 24, machines, idleHosts, lans, routeClient, upstreams, exitClient, oidc, clientUser };
}

/** The clients' user: see LabPlan.clientUser. */
function chooseClientUser(tailnet: ResolvedTailnet, lanAddresses: readonly string[]): { name: string; why: string | undefined } {
  const fits = (user: string) => {
    const peers = usersAllowed(tailnet, { user });
    if (peers !== "*" && !peers.includes(user)) return false;
    return lanAddresses.every((address) => {
      const allowed = usersAllowed(tailnet, { address });
      return allowed === "*" || allowed.includes(user);
    });
  };
  if (fits(tailnet.name)) return { name: tailnet.name, why: undefined };
  const candidate = [...tailnet.users.map((u) => u.name)].sort().find(fits);
  if (candidate === undefined)
    return {
      name: tailnet.name,
      why: `no user of the policy may reach its own nodes${lanAddresses.length ? " and the routes" : ""}: the relay, mesh and route checks will say so`,
    };
  return {
    name: candidate,
    why: `the policy lets ${candidate}'s nodes reach each other${lanAddresses.length ? " and the advertised routes" : ""}, not those of ${tailnet.name} (the lab's own user)`,
  };
}

/** The `n`th address of a prefix's network (model/net.ts, the one IP library). */
function hostOf(prefix: Prefix, n: number): string {
  return formatAddress({ family: prefix.family, value: prefixRange(prefix).first + BigInt(n), zone: undefined });
}

/** True when `address` lies in `prefixOrAddress` (a prefix, or one address). */
function contains(prefixOrAddress: string, address: string): boolean {
  const p = parsePrefix(prefixOrAddress.includes("/") ? prefixOrAddress : `${prefixOrAddress}/${prefixOrAddress.includes(":") ? 128 : 32}`);
  const a = parsePrefix(`${address}/${address.includes(":") ? 128 : 32}`);
  return p !== undefined && a !== undefined && prefixWithin(a, p);
}

/**
 * The users whose nodes the tailnet's policy lets reach `target` on some port: an address (a
 * LAN's listener) or the nodes of a user. ACLs are read the way headscale reads them: `*`, users,
 * groups and autogroup:member as sources; `*`, hosts, prefixes, users, groups and
 * autogroup:member as destinations. Sorted; `*` when everyone may (no policy: headscale allows all).
 */
export function usersAllowed(tailnet: ResolvedTailnet, target: { readonly address: string } | { readonly user: string }): readonly string[] | "*" {
  const policy = tailnet.policy;
  if (!policy) return "*";
  const everyone = [...new Set([...tailnet.users.map((u) => u.name), tailnet.name])];
  const allowed = new Set<string>();
  const user = (alias: string) => (alias.endsWith("@") ? alias.slice(0, -1) : alias);
  const isUser = (alias: string) => !alias.includes(":") && !/^\d/.test(alias) && !(alias in policy.hosts) && alias !== "*";
  const members = (alias: string): string[] =>
    alias === "autogroup:member" ? everyone : alias.startsWith("group:") ? (policy.groups[alias] ?? []).map(user) : isUser(alias) ? [user(alias)] : [];
  for (const rule of policy.acls) {
    const reaches = rule.dst.some((d) => {
      const alias = splitDestination(d)?.alias;
      if (alias === undefined) return false;
      if (alias === "*") return true;
      if ("user" in target) return members(alias).includes(target.user);
      const where = policy.hosts[alias] ?? alias;
      return contains(where, target.address);
    });
    if (!reaches) continue;
    for (const src of rule.src) {
      if (src === "*" || src === "autogroup:member") return "*";
      for (const u of members(src)) allowed.add(u);
    }
  }
  return [...allowed].filter((u) => everyone.includes(u)).sort();
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

/** A tailscaled the lab joins with a pre-auth key: a declared device or a plain client. */
export function joinsWithKey(m: LabMachine): boolean {
  return m.kind === "device" || m.kind === "client";
}

/** The machine the plan named `name`. */
export function machineNamed(plan: LabPlan, name: string): LabMachine {
  const m = plan.machines.find((x) => x.name === name);
  if (!m) throw new Error(`no lab machine is named ${name}`);
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
