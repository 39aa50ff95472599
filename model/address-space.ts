/**
 * The tailnet's address space: the node prefixes must leave headscale addresses to hand out, and
 * a device's advertised routes must lie outside them and outside ranges no router can serve
 * (loopback, multicast).
 */
import type { IssueList } from "./issues.js";
import { prefixKind, prefixWithin, type Prefix } from "./net.js";

/**
 * A node prefix with no address to hand out. headscale reserves a prefix's first and last address
 * (network and broadcast), so a /31 or /32 (IPv6 /127 or /128) leaves none, and every node
 * registration fails.
 */
export function checkNodePrefixSize(issues: IssueList, path: string, prefix: Prefix): void {
  const longest = prefix.family === 4 ? 30 : 126;
  if (prefix.bits <= longest) return;
  issues.add(
    path,
    `${JSON.stringify(prefix.text)} leaves no address for nodes: headscale keeps a prefix's first and last address for itself, so every node registration would fail`,
    `use a prefix of /${longest} or shorter, e.g. "${prefix.family === 4 ? "100.64.0.0/10" : "fd7a:115c:a1e0::/48"}"`,
  );
}

const UNROUTABLE: Partial<Record<ReturnType<typeof prefixKind>, string>> = {
  loopback: "is loopback: every machine keeps those addresses for itself, so no traffic would reach the router",
  multicast: "is multicast, which Tailscale does not route",
};

/** An advertised route (a valid network prefix, not a default route) must be a network a router can serve. */
export function checkAdvertisedRoute(issues: IssueList, path: string, route: Prefix, tailnet: readonly Prefix[]): void {
  const own = tailnet.find((p) => prefixWithin(route, p));
  const why = UNROUTABLE[prefixKind(route)];
  if (own) {
    issues.add(
      path,
      `${JSON.stringify(route.text)} lies inside the tailnet's own prefix ${JSON.stringify(own.text)}, whose addresses headscale gives to nodes`,
      `advertise the network behind the device, which must lie outside ${own.text}`,
    );
  } else if (why) {
    issues.add(path, `${JSON.stringify(route.text)} ${why}`, "remove it, and advertise the networks behind the device");
  }
}
