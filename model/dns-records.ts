/**
 * The public DNS zone: the records a tailnet needs (the coordination server's name and every DERP
 * node's DNS name, pointing at the addresses of the hosts that run them), derived once from the
 * resolved services and hosts; the DNS constructs only turn these into provider resources. Also
 * the rules of the top-level `dns`.
 */
import type { CheckContext } from "./context.js";
import { DEFAULTS } from "./defaults.js";
import type { DnsZoneElement, ResolvedSoFar } from "./elements.js";
import { isDnsName, isIp } from "./net.js";
import type { ResolvedDnsRecord, ResolvedDnsZone } from "./resolved.js";
import type { TailnetSpec } from "./spec.js";
import { allNodes } from "./walk.js";

function inZone(name: string, zoneName: string | undefined): boolean {
  if (zoneName === undefined) return true;
  const n = name.toLowerCase();
  const z = zoneName.toLowerCase();
  return n === z || n.endsWith(`.${z}`);
}

/** The zone, defaulted. */
export function defaultDnsZone(spec: TailnetSpec): DnsZoneElement | undefined {
  const dns = spec.dns;
  return dns && { provider: dns.provider, zoneId: dns.zoneId, zoneName: dns.zoneName, ttl: dns.ttl ?? DEFAULTS.dns.ttl };
}

/** The zone's records, sorted by name, then type, then value. */
export function resolveDnsZone(ctx: ResolvedSoFar<"headscale" | "derp" | "hosts">): ResolvedDnsZone | undefined {
  const zone = ctx.dns;
  if (!zone) return undefined;
  const { headscale, derp, hosts } = ctx.resolved;
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const records: ResolvedDnsRecord[] = [];
  const seen = new Set<string>();
  const unaddressed: string[] = [];
  const add = (name: string, hostName: string | undefined, v4: string | undefined, v6: string | undefined, purpose: string) => {
    const host = hostName === undefined ? undefined : byName.get(hostName);
    if (!host || isIp(name) || !inZone(name, zone.zoneName)) return;
    const values: ["A" | "AAAA", string | undefined][] = [
      ["A", v4],
      ["AAAA", v6],
    ];
    const usable = values.filter((v): v is ["A" | "AAAA", string] => v[1] !== undefined && v[1] !== "none");
    if (usable.length === 0) unaddressed.push(name);
    for (const [type, value] of usable) {
      const key = JSON.stringify([name, type, value]);
      if (seen.has(key)) continue;
      seen.add(key);
      records.push({ name, type, value, host: host.name, dynamic: host.dynamicIp, purpose });
    }
  };
  const hsHost = headscale.host === undefined ? undefined : byName.get(headscale.host);
  add(headscale.serverHost, headscale.host, hsHost?.publicIpv4, hsHost?.publicIpv6, "headscale");
  for (const node of allNodes({ derp })) {
    // A dynamic host's address is not in the maps; its record starts from the address the spec
    // knows now and is kept current by the updater.
    const host = node.host === undefined ? undefined : byName.get(node.host);
    const v4 = node.ipv4 ?? (host?.dynamicIp ? host.publicIpv4 : undefined);
    const v6 = node.ipv6 ?? (host?.dynamicIp ? host.publicIpv6 : undefined);
    add(node.hostname, node.host, v4, v6, `derp node ${node.name}`);
  }
  records.sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.value < b.value ? -1 : 1));
  return { ...zone, records, unaddressed: [...new Set(unaddressed)].sort() };
}

/** The rules of the top-level `dns`. */
export function checkDnsZone(ctx: CheckContext): void {
  const dns = ctx.spec.dns;
  if (!dns) return;
  if (dns.proxied) {
    ctx.issues.add(
      "dns.proxied",
      "Cloudflare's proxy cannot carry DERP or the Tailscale control protocol (both need a direct TLS connection and long-lived upgrades)",
      "remove proxied or set it to false",
    );
  }
  if (dns.zoneId === undefined && dns.zoneName === undefined) {
    ctx.issues.add("dns", "names no zone", `add zoneName (e.g. "example.com") or zoneId`);
  }
  if (dns.zoneName !== undefined && !isDnsName(dns.zoneName))
    ctx.issues.add("dns.zoneName", `${JSON.stringify(dns.zoneName)} is not a DNS zone name`, `write the zone as "example.com"`);
  if (dns.ttl !== undefined && dns.ttl !== 1 && !(Number.isInteger(dns.ttl) && dns.ttl >= 60 && dns.ttl <= 86400)) {
    ctx.issues.add("dns.ttl", `${dns.ttl} is not a TTL Cloudflare accepts`, "use 1 (automatic) or 60 to 86400 seconds");
  }
}
