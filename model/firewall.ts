/**
 * A host's inbound firewall (every host: rendered as nftables.conf on a VM, as firewall.json for
 * a cloud security group everywhere): default drop; SSH and headscale's admin-only listeners from
 * the admins' networks; the services' public ports from anywhere. Derived from the sockets the
 * host's services open; checked for the admins' networks and SSH's port.
 */
import type { CheckContext, ModelCheckContext } from "./context.js";
import type { HostElement } from "./elements.js";
import { hasHostBits, isIp, networkOf, parsePrefix, prefixesCoverFamily, type Prefix } from "./net.js";
import type { ResolvedClosedPort, ResolvedDerpNode, ResolvedFirewall, ResolvedFirewallRule, ResolvedHeadscale, ResolvedListener } from "./resolved.js";
import type { HostSpec } from "./spec.js";
import { listenerOwners } from "./walk.js";

/** Every IPv4 and IPv6 source: a port open to the world. */
export const ANYWHERE: readonly string[] = ["0.0.0.0/0", "::/0"];

/** What runs on one host: the resolved services. */
export interface HostServices {
  /** headscale, when the host runs it. */
  readonly headscale: ResolvedHeadscale | undefined;
  readonly derpNodes: readonly ResolvedDerpNode[];
  /** Tailscale release derper is built from. */
  readonly derperVersion: string;
}

const ADMIN_ONLY_ROLES = new Set(["metrics", "grpc"]);

const HEADSCALE_ROLES: Record<string, string> = {
  control: "headscale control plane (Tailscale clients, /verify)",
  "acme-http": "headscale Let's Encrypt HTTP-01 challenge",
  metrics: "headscale metrics and debug",
  grpc: "headscale remote gRPC",
  stun: "headscale embedded DERP STUN",
};

function derperRole(node: ResolvedDerpNode, role: string): string {
  const what: Record<string, string> = {
    derp: "DERP over TLS",
    http: node.derper.certMode === "letsencrypt" ? "plain HTTP (captive-portal checks, Let's Encrypt HTTP-01)" : "plain HTTP (captive-portal checks)",
    stun: "STUN",
  };
  return `derper ${node.name}: ${what[role] ?? role}`;
}

/** The host's firewall: SSH and admin-only listeners from admins, the services' public ports from anywhere. */
export function resolveFirewall(host: HostElement, services: HostServices): ResolvedFirewall {
  const adminCidrs = [...host.firewall.adminCidrs];
  const sshPort = host.firewall.sshPort;
  const rules: ResolvedFirewallRule[] = [];
  const closed: ResolvedClosedPort[] = [];
  if (adminCidrs.length > 0) rules.push({ port: sshPort, protocol: "tcp", sources: adminCidrs, reason: "SSH (admins only)" });
  else closed.push({ port: sshPort, protocol: "tcp", reason: "SSH: no adminCidrs, so closed to everyone" });
  const add = (l: ResolvedListener, reason: string) => {
    if (!l.public) {
      closed.push({ port: l.port, protocol: l.protocol, reason: `${reason}: listens on ${l.hostIp} only` });
    } else if (ADMIN_ONLY_ROLES.has(l.role)) {
      if (adminCidrs.length > 0) rules.push({ port: l.port, protocol: l.protocol, sources: adminCidrs, reason: `${reason} (admins only)` });
      else closed.push({ port: l.port, protocol: l.protocol, reason: `${reason}: no adminCidrs, so closed to everyone` });
    } else {
      rules.push({ port: l.port, protocol: l.protocol, sources: ANYWHERE, reason });
    }
  };
  for (const l of services.headscale?.listeners ?? []) add(l, HEADSCALE_ROLES[l.role] ?? `headscale ${l.role}`);
  for (const node of services.derpNodes) for (const l of node.derper.listeners) add(l, derperRole(node, l.role));
  const order = (a: { protocol: string; port: number }, b: { protocol: string; port: number }) =>
    a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1;
  return { adminCidrs, sshPort, rules: rules.sort(order), closed: closed.sort(order) };
}

// ---------------------------------------------------------------------------------------------
// checks

/**
 * Admin networks that cover every address of a family between them, split however
 * (`0.0.0.0/1` and `128.0.0.0/1`): the same warning a `/0` gets. A family with a /0 was warned
 * about at that item already.
 */
function warnAdminsCoverEverything(warnings: CheckContext["warnings"], path: string, admins: readonly Prefix[]): void {
  for (const family of [4, 6] as const) {
    if (admins.some((p) => p.family === family && p.bits === 0) || !prefixesCoverFamily(admins, family)) continue;
    const listed = admins
      .filter((p) => p.family === family)
      .map((p) => JSON.stringify(p.text))
      .join(", ");
    warnings.add(
      path,
      `${listed} together admit every IPv${family} address: SSH, metrics and gRPC are open to everyone`,
      "list only the networks you administer the host from",
    );
  }
}

/** The rules of `hosts[i].firewall`: the admins' networks and SSH's port. */
export function checkFirewallOf(ctx: CheckContext, host: HostSpec, i: number): void {
  const { issues, warnings } = ctx;
  const path = `hosts[${i}]`;
  const fw = host.firewall;
  const admins: Prefix[] = [];
  for (const [cidr, j] of (fw?.adminCidrs ?? []).map((c, j) => [c, j] as const)) {
    if (cidr === undefined) continue;
    const at = `${path}.firewall.adminCidrs[${j}]`;
    const prefix = parsePrefix(cidr) ?? (isIp(cidr) ? parsePrefix(`${cidr}/${cidr.includes(":") ? 128 : 32}`) : undefined);
    if (!prefix)
      issues.add(
        at,
        `${JSON.stringify(cidr)} is neither a CIDR prefix nor an address`,
        `write a network such as "192.0.2.0/24" or "2001:db8::/32", or an address such as "192.0.2.7"`,
      );
    else if (hasHostBits(prefix))
      issues.add(at, `${JSON.stringify(cidr)} has host bits set`, `use the network address, "${networkOf(prefix)}", or a single address`);
    else if (prefix.bits === 0)
      warnings.add(
        at,
        `${JSON.stringify(cidr)} admits every address: SSH, metrics and gRPC are open to everyone`,
        "list only the networks you administer the host from",
      );
    if (prefix && !hasHostBits(prefix)) admins.push(prefix);
  }
  warnAdminsCoverEverything(warnings, `${path}.firewall.adminCidrs`, admins);
  if (fw?.sshPort !== undefined && (!Number.isInteger(fw.sshPort) || fw.sshPort < 1 || fw.sshPort > 65535)) {
    issues.add(`${path}.firewall.sshPort`, `${fw.sshPort} is not a port`, "use sshd's TCP port, usually 22");
  }
}

/** Rules that need the resolved model: SSH's port must not be a service's. */
export function checkFirewallModel(ctx: ModelCheckContext): void {
  for (const host of ctx.tailnet.hosts) {
    const ssh = host.firewall.sshPort;
    const taken = listenerOwners(ctx.tailnet, host).find(([l]) => l.protocol === "tcp" && l.port === ssh);
    if (taken)
      ctx.issues.add(
        `${host.specPath}.firewall.sshPort`,
        `tcp port ${ssh} is also opened by ${taken[1]} (${taken[0].role})`,
        "move sshd to another port, or the service",
      );
  }
}
