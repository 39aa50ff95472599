/**
 * firewall.json: a host's inbound rules as data (port, protocol, sources, reason), for people who
 * manage a cloud security group instead of nftables. The same rules as nftables.conf.
 */
import type { ResolvedHost, ResolvedTailnet } from "../model/index.js";

/** What nftables.conf allows besides the rules, for a security group to mirror. */
export const ALWAYS_ALLOWED: readonly string[] = [
  "loopback",
  "replies to the host's own connections (established, related)",
  "ICMP destination-unreachable, time-exceeded, parameter-problem, echo-request; ICMPv6 the same plus packet-too-big and neighbour discovery",
  "DHCP replies (udp 67 -> 68) and DHCPv6 replies from link-local (udp 547 -> 546)",
];

/** The firewall as a plain object. */
export function firewallObject(tailnet: ResolvedTailnet, host: ResolvedHost): Record<string, unknown> {
  return {
    host: host.name,
    tailnet: tailnet.name,
    inboundDefault: "drop",
    alwaysAllowed: [...ALWAYS_ALLOWED],
    rules: host.firewall.rules.map((r) => ({ port: r.port, protocol: r.protocol, sources: [...r.sources], reason: r.reason })),
    closed: host.firewall.closed.map((c) => ({ port: c.port, protocol: c.protocol, reason: c.reason })),
  };
}

/** Renders firewall.json, pretty-printed with a trailing newline. */
export function renderFirewallJson(tailnet: ResolvedTailnet, host: ResolvedHost): string {
  return `${JSON.stringify(firewallObject(tailnet, host), null, 2)}\n`;
}
