/**
 * The public DNS records a tailnet needs: the coordination server's name and every DERP node's
 * DNS name, pointing at the addresses of the hosts that run them. Derived once; the DNS
 * constructs only turn these into provider resources.
 */
import type { ResolvedDerpRegion, ResolvedDnsRecord, ResolvedDnsZone, ResolvedHeadscale, ResolvedHost } from "./resolved.js";
import type { DnsZoneSpec } from "./spec.js";
import { isIp } from "./net.js";
import { allNodes } from "./walk.js";

function inZone(name: string, zoneName: string | undefined): boolean {
  if (zoneName === undefined) return true;
  const n = name.toLowerCase();
  const z = zoneName.toLowerCase();
  return n === z || n.endsWith(`.${z}`);
}

/** Resolves the zone and its records, sorted by name, then type, then value. */
export function resolveDnsZone(
  spec: DnsZoneSpec,
  headscale: ResolvedHeadscale,
  regions: readonly ResolvedDerpRegion[],
  hosts: readonly ResolvedHost[],
): ResolvedDnsZone {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const records: ResolvedDnsRecord[] = [];
  const unaddressed: string[] = [];
  const add = (name: string, hostName: string | undefined, v4: string | undefined, v6: string | undefined, purpose: string) => {
    const host = hostName === undefined ? undefined : byName.get(hostName);
    if (!host || isIp(name) || !inZone(name, spec.zoneName)) return;
    const values: [("A" | "AAAA"), string | undefined][] = [["A", v4], ["AAAA", v6]];
    const usable = values.filter((v): v is ["A" | "AAAA", string] => v[1] !== undefined && v[1] !== "none");
    if (usable.length === 0) unaddressed.push(name);
    for (const [type, value] of usable) {
      if (!records.some((r) => r.name === name && r.type === type && r.value === value)) {
        records.push({ name, type, value, host: host.name, dynamic: host.dynamicIp, purpose });
      }
    }
  };
  add(headscale.serverHost, headscale.host, byName.get(headscale.host ?? "")?.publicIpv4, byName.get(headscale.host ?? "")?.publicIpv6, "headscale");
  for (const node of allNodes({ derp: { regions } })) {
    // A dynamic host's address is not in the maps; its record starts from the address the spec
    // knows now and is kept current by the updater.
    const host = node.host === undefined ? undefined : byName.get(node.host);
    const v4 = node.ipv4 ?? (host?.dynamicIp ? host.publicIpv4 : undefined);
    const v6 = node.ipv6 ?? (host?.dynamicIp ? host.publicIpv6 : undefined);
    add(node.hostname, node.host, v4, v6, `derp node ${node.name}`);
  }
  records.sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.value < b.value ? -1 : 1));
  return {
    provider: spec.provider,
    zoneId: spec.zoneId,
    zoneName: spec.zoneName,
    ttl: spec.ttl ?? 300,
    records,
    unaddressed: [...new Set(unaddressed)].sort(),
  };
}
