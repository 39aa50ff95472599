/**
 * Names that must lead to one thing: a DERP node's host name (shared with another node or with
 * the coordination server, it resolves to two machines, or two services want one port), and
 * headscale user names, which headscale compares exactly (`Alice` and `alice` are two users).
 * Each check is one pass with a map, so a tailnet of hundreds of nodes stays linear.
 */
import type { CheckContext, PlacedNode } from "./context.js";
import { HTTPS_PORT, HTTP_PORT, derpPortOf } from "./defaults.js";
import { isDnsName, isIp, urlHost } from "./net.js";

/** Why two services behind one name collide, or undefined when they can share it (one host, two ports). */
function clash(hostA: string | undefined, hostB: string | undefined, portA: number, portB: number, what: string): string | undefined {
  if (hostA !== hostB) {
    const named = (h: string | undefined) => (h === undefined ? "none" : JSON.stringify(h));
    return `they run on different hosts (${named(hostA)} and ${named(hostB)}), so the name would resolve to two machines (round-robin DNS) and clients reach the wrong ${what} at random`;
  }
  if (portA === portB) return `both are reached on port ${portA}, so one of them is unreachable`;
  return undefined;
}

/**
 * A DERP node's DNS host name must not be another node's, nor the server URL's host, unless they
 * run on one host on different ports. An IP host name may be another node's (one derper in two
 * regions), but not on the server URL's port.
 */
export function checkDerpHostnames(ctx: CheckContext): void {
  const { spec, issues } = ctx;
  const serverUrl = spec.headscale?.serverUrl;
  const serverHost = serverUrl !== undefined && /^https?:\/\//.test(serverUrl) ? urlHost(serverUrl) : undefined;
  const serverPort = serverHost === undefined ? undefined : Number(new URL(serverUrl!).port || (serverUrl!.startsWith("https:") ? HTTPS_PORT : HTTP_PORT));
  const seen = new Map<string, PlacedNode>();
  for (const placed of ctx.nodes) {
    const { node, path } = placed;
    if (node.hostname === undefined) continue;
    const name = node.hostname.toLowerCase();
    const port = derpPortOf(node);
    if (name === serverHost && serverPort !== undefined) {
      // An IP address is one machine whatever the hosts say; only the port can collide.
      const why = isIp(name) ? clash(undefined, undefined, port, serverPort, "service") : clash(node.host, spec.headscale?.host, port, serverPort, "service");
      if (why)
        issues.add(
          `${path}.hostname`,
          `${JSON.stringify(node.hostname)} is also the server URL's host; ${why}`,
          isIp(name)
            ? `give the DERP node another derpPort than ${serverPort}, or another address`
            : `give the DERP node a DNS name of its own, e.g. "derp.${name}", or run it on headscale's host on another port`,
        );
      continue;
    }
    // Two nodes may share an IP address on purpose (one derper, pinned in two regions).
    if (!isDnsName(name)) continue;
    const first = seen.get(name);
    if (!first) {
      seen.set(name, placed);
      continue;
    }
    const { node: other, path: otherPath } = first;
    const why = clash(node.host, other.host, port, derpPortOf(other), "node");
    if (why) {
      issues.add(
        `${path}.hostname`,
        `${JSON.stringify(node.hostname)} is also the hostname of ${otherPath} (${JSON.stringify(other.name)}); ${why}`,
        "give every DERP node a DNS name of its own, or run both on one host with different derpPorts",
      );
    }
  }
}

/**
 * headscale user names that differ only in case: headscale keeps them as two users, so policies,
 * devices and pre-auth keys of one never reach the other.
 */
export function checkUserNameCase(ctx: CheckContext): void {
  const { spec, issues } = ctx;
  const named: [string, string][] = [
    ...(spec.users ?? []).flatMap((u, i) => (u?.name !== undefined ? [[u.name, `users[${i}].name`] as [string, string]] : [])),
    ...(spec.devices ?? []).flatMap((d, i) => (d?.user !== undefined ? [[d.user, `devices[${i}].user`] as [string, string]] : [])),
  ];
  const first = new Map<string, [string, string]>();
  for (const [name, path] of named) {
    const key = name.toLowerCase();
    const seen = first.get(key);
    if (!seen) first.set(key, [name, path]);
    else if (seen[0] !== name) {
      issues.add(
        path,
        `${JSON.stringify(name)} differs from user ${JSON.stringify(seen[0])} (${seen[1]}) only in case; headscale keeps them as two users, so policies, devices and pre-auth keys of one never reach the other (and their key files collide on case-insensitive file systems)`,
        `spell the user the same way everywhere, e.g. ${JSON.stringify(seen[0])}`,
      );
    }
  }
}
