/**
 * A VM host's nftables ruleset (templates/nftables.conf.hbs) from the model's firewall rules:
 * inbound default drop; loopback, replies and essential ICMP allowed; each rule of
 * `host.firewall` as one line per address family it admits.
 */
import { ANYWHERE, type ResolvedFirewallRule, type ResolvedHost, type ResolvedTailnet } from "../model/index.js";
import { renderTemplate } from "./templates.js";

/** The table the ruleset owns; loading the file replaces it and leaves other tables alone. */
export const NFTABLES_TABLE = "cdktf_tailnet";

interface RuleLine {
  family: "ip" | "ip6" | false;
  sources: readonly string[];
  protocol: string;
  port: number;
  reason: string;
}

function isPublic(rule: ResolvedFirewallRule): boolean {
  return ANYWHERE.every((a) => rule.sources.includes(a));
}

function lines(rule: ResolvedFirewallRule): RuleLine[] {
  const base = { protocol: rule.protocol, port: rule.port, reason: rule.reason };
  if (isPublic(rule)) return [{ family: false, sources: [], ...base }];
  const v4 = rule.sources.filter((s) => !s.includes(":"));
  const v6 = rule.sources.filter((s) => s.includes(":"));
  return [
    ...(v4.length > 0 ? [{ family: "ip" as const, sources: v4, ...base }] : []),
    ...(v6.length > 0 ? [{ family: "ip6" as const, sources: v6, ...base }] : []),
  ];
}

/** Renders nftables.conf for a host. */
export function renderNftables(tailnet: ResolvedTailnet, host: ResolvedHost): string {
  return renderTemplate("nftables.conf", {
    host: host.name,
    tailnet: tailnet.name,
    table: NFTABLES_TABLE,
    rules: host.firewall.rules.flatMap(lines),
    closed: host.firewall.closed,
  });
}
