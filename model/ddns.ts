/**
 * Dynamic DNS: for a host with `dynamicIp: true` and `ddns`, the updater's provider (Cloudflare's
 * API or RFC 2136 with a TSIG key), where it reads the public address, how often, and exactly
 * which records it keeps current (the DNS names of the host's services). Also the DNS provider
 * shared with DNS-01 certificates (model/acme.ts), and the rules of both.
 *
 * Secrets never enter the model: the Cloudflare token and the TSIG secret are named by the path
 * of a file on the host (or an environment variable there), and only those names are resolved.
 */
import type { CheckContext } from "./context.js";
import { DEFAULTS } from "./defaults.js";
import type { DdnsElement, DnsProviderElement, DnsZoneElement } from "./elements.js";
import { isDnsName, isIp, parseGoDuration } from "./net.js";
import { DDNS_PATHS } from "./paths.js";
import type { ResolvedAddressSource, ResolvedDdns, ResolvedDdnsRecord, ResolvedDnsProvider } from "./resolved.js";
import type { CloudflareDnsProviderSpec, DdnsAddressSource, DnsProviderSpec, HostSpec, Rfc2136DnsProviderSpec, TailnetSpec } from "./spec.js";

/** Cloudflare's API v4 base URL (developers.cloudflare.com/api). */
export const CLOUDFLARE_API_URL = "https://api.cloudflare.com/client/v4";

/** Environment variables that, when set on the host, take precedence over the secret files. */
export const DNS_SECRET_ENV = {
  cloudflareToken: "CLOUDFLARE_API_TOKEN",
  tsigSecret: "RFC2136_TSIG_SECRET",
} as const;

/** The "what is my IP" service the updater asks for IPv4 unless the spec says otherwise. */
export const DEFAULT_DDNS_IPV4_URL: string = DEFAULTS.hosts.ddns.ipv4.url;

/** Even with an unchanged address, the record itself is re-checked at least this often (seconds). */
export const DDNS_RECHECK_SECONDS = 86_400;

// ---------------------------------------------------------------------------------------------
// names

/** A DNS name one of a host's services is reached at. */
export interface ServiceName {
  readonly name: string;
  readonly purpose: string;
  /** The service publishes an IPv4 / IPv6 address (a DERP node's `"none"` turns one off). */
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/** What the names of a host's services are made of: headscale's server host and host, the DERP nodes. */
interface NamedServices {
  readonly headscale: { readonly host?: string; readonly serverHost: string | undefined } | undefined;
  readonly nodes: Iterable<{ readonly name?: string; readonly host?: string; readonly hostname?: string; readonly ipv4?: string; readonly ipv6?: string }>;
}

/**
 * The DNS names of the services host `hostName` runs: the coordination server's host when the
 * host runs headscale, and every DERP node's host name that is a DNS name. Sorted, one entry per name.
 */
export function serviceNames(hostName: string, services: NamedServices): ServiceName[] {
  const byName = new Map<string, ServiceName>();
  const add = (name: string | undefined, purpose: string, ipv4: boolean, ipv6: boolean) => {
    if (name === undefined || isIp(name) || !isDnsName(name)) return;
    const key = name.toLowerCase();
    const seen = byName.get(key);
    byName.set(key, seen ? { ...seen, ipv4: seen.ipv4 || ipv4, ipv6: seen.ipv6 || ipv6 } : { name: key, purpose, ipv4, ipv6 });
  };
  if (services.headscale?.host === hostName) add(services.headscale.serverHost, "headscale", true, true);
  for (const node of services.nodes) {
    if (node.host === hostName) add(node.hostname, `derp node ${node.name}`, node.ipv4 !== "none", node.ipv6 !== "none");
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function urlHostOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  } catch {
    return undefined;
  }
}

/** The DNS names of the services a host of a (sanitized) spec runs (see {@link serviceNames}). */
export function serviceNamesOf(spec: TailnetSpec, hostName: string): ServiceName[] {
  const nodes = (spec.derp?.regions ?? []).flatMap((region) => (region?.nodes ?? []).filter((n) => n !== undefined));
  const hs = spec.headscale;
  return serviceNames(hostName, { headscale: hs && { host: hs.host, serverHost: urlHostOf(hs.serverUrl) }, nodes });
}

/** `name` lies in `zone` (or is its apex). */
export function inZone(name: string, zone: string): boolean {
  const n = name.toLowerCase();
  const z = zone.toLowerCase();
  return n === z || n.endsWith(`.${z}`);
}

// ---------------------------------------------------------------------------------------------
// first pass

/** The provider object, with `"cloudflare"` expanded. */
export function providerOf(spec: DnsProviderSpec): CloudflareDnsProviderSpec | Rfc2136DnsProviderSpec {
  return spec === "cloudflare" ? { type: "cloudflare" } : spec;
}

/** The zone a provider writes into, as far as the spec names it. */
export function providerZone(provider: DnsProviderSpec, spec: TailnetSpec): string | undefined {
  const p = providerOf(provider);
  return p.type === "rfc2136" ? p.zone : spec.dns?.zoneName;
}

/** A DNS provider, defaulted. */
export function defaultDnsProvider(provider: DnsProviderSpec): DnsProviderElement {
  const p = providerOf(provider);
  const d = DEFAULTS.dnsProvider;
  if (p.type === "cloudflare") return { type: "cloudflare", tokenFile: p.tokenFile ?? d.cloudflare.tokenFile };
  return {
    type: "rfc2136",
    nameserver: p.nameserver,
    port: p.port ?? d.rfc2136.port,
    zone: p.zone.toLowerCase(),
    tsigKeyName: p.tsigKeyName,
    tsigAlgorithm: p.tsigAlgorithm ?? d.rfc2136.tsigAlgorithm,
    tsigSecretFile: p.tsigSecretFile ?? d.rfc2136.tsigSecretFile,
  };
}

function addressSource(source: DdnsAddressSource | "off"): ResolvedAddressSource | undefined {
  if (source === "off") return undefined;
  return "url" in source ? { kind: "url", url: source.url } : { kind: "interface", interface: source.interface };
}

/** A host's updater, defaulted; undefined unless the host is dynamic and has `ddns`. */
export function defaultDdns(host: HostSpec): DdnsElement | undefined {
  const ddns = host.ddns;
  if (!ddns || !host.dynamicIp) return undefined;
  const d = DEFAULTS.hosts.ddns;
  return {
    provider: defaultDnsProvider(ddns.provider),
    interval: ddns.interval ?? d.interval,
    ipv4: addressSource(ddns.ipv4 ?? d.ipv4),
    ipv6: addressSource(ddns.ipv6 ?? d.ipv6),
    ttl: ddns.ttl ?? d.ttl,
  };
}

// ---------------------------------------------------------------------------------------------
// second pass

/** A provider with the zone it writes into (Cloudflare's: the top-level `dns`). */
export function resolveDnsProvider(provider: DnsProviderElement, zone: DnsZoneElement | undefined): ResolvedDnsProvider {
  if (provider.type === "cloudflare") {
    return { type: "cloudflare", apiUrl: CLOUDFLARE_API_URL, zoneId: zone?.zoneId, zoneName: zone?.zoneName?.toLowerCase(), tokenFile: provider.tokenFile };
  }
  return provider;
}

/** A host's updater and the records it keeps: the names of the host's services in the provider's zone. */
export function resolveDdns(ddns: DdnsElement, names: readonly ServiceName[], zoneElement: DnsZoneElement | undefined): ResolvedDdns {
  const provider = resolveDnsProvider(ddns.provider, zoneElement);
  const zone = provider.type === "rfc2136" ? provider.zone : provider.zoneName;
  const records: ResolvedDdnsRecord[] = [];
  for (const s of names) {
    if (zone !== undefined && !inZone(s.name, zone)) continue;
    if (ddns.ipv4 && s.ipv4) records.push({ name: s.name, type: "A", purpose: s.purpose });
    if (ddns.ipv6 && s.ipv6) records.push({ name: s.name, type: "AAAA", purpose: s.purpose });
  }
  return {
    provider,
    interval: ddns.interval,
    intervalSeconds: Math.round(parseGoDuration(ddns.interval)!),
    ipv4: ddns.ipv4,
    ipv6: ddns.ipv6,
    ttl: ddns.ttl,
    records,
    recheckSeconds: DDNS_RECHECK_SECONDS,
    paths: DDNS_PATHS,
  };
}

// ---------------------------------------------------------------------------------------------
// checks

const TSIG_KEY_NAME = /^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?$/;
const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$/;

function checkAbsolute(issues: CheckContext["issues"], path: string, value: string | undefined): void {
  if (value !== undefined && !value.startsWith("/"))
    issues.add(path, `${JSON.stringify(value)} is not an absolute path`, "give the absolute path of the file on the host");
}

/**
 * A DNS provider's own fields, and that every name it must write lies in its zone. `names` are
 * the names the provider will write, with what they are for.
 */
export function checkDnsProvider(
  ctx: CheckContext,
  provider: DnsProviderSpec | undefined,
  path: string,
  names: readonly { name: string; purpose: string }[],
  what: string,
): void {
  if (provider === undefined) return;
  const { spec, issues } = ctx;
  const p = providerOf(provider);
  if (p.type === "cloudflare") {
    checkAbsolute(issues, `${path}.tokenFile`, p.tokenFile);
    if (!spec.dns) {
      issues.add(
        path,
        `is cloudflare, but the spec has no top-level dns zone for ${what}`,
        `add dns: { provider: "cloudflare", zoneName: "example.com" } (the zone's name or id), or use an rfc2136 provider`,
      );
      return;
    }
  } else {
    if (p.nameserver !== undefined && !isIp(p.nameserver) && !isDnsName(p.nameserver)) {
      issues.add(
        `${path}.nameserver`,
        `${JSON.stringify(p.nameserver)} is neither an IP address nor a DNS name`,
        `write the nameserver's address, e.g. "192.0.2.53", without a port (that goes into port)`,
      );
    }
    if (p.port !== undefined && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)) {
      issues.add(`${path}.port`, `${p.port} is not a port`, "use the nameserver's port, usually 53");
    }
    if (p.zone !== undefined && !isDnsName(p.zone)) {
      issues.add(`${path}.zone`, `${JSON.stringify(p.zone)} is not a DNS zone name`, `write the zone as "example.com"`);
    }
    if (p.tsigKeyName !== undefined && !TSIG_KEY_NAME.test(p.tsigKeyName)) {
      issues.add(
        `${path}.tsigKeyName`,
        `${JSON.stringify(p.tsigKeyName)} is not a TSIG key name`,
        `write the key's name as the nameserver's key clause has it, e.g. "home-ddns"`,
      );
    }
    checkAbsolute(issues, `${path}.tsigSecretFile`, p.tsigSecretFile);
  }
  const zone = providerZone(provider, spec);
  if (zone === undefined || !isDnsName(zone)) return;
  for (const n of names) {
    if (!inZone(n.name, zone)) {
      issues.add(
        path,
        `${JSON.stringify(n.name)} (${n.purpose}) is outside the zone ${JSON.stringify(zone)}, so ${what} cannot write its records`,
        `use a host name inside "${zone}", or a provider for that name's zone`,
      );
    }
  }
}

function checkSource(issues: CheckContext["issues"], path: string, source: DdnsAddressSource | "off" | undefined): void {
  if (source === undefined || source === "off") return;
  if ("url" in source && source.url !== undefined && !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(source.url)) {
    issues.add(
      `${path}.url`,
      `${JSON.stringify(source.url)} is not an http or https URL`,
      `give a "what is my IP" URL that answers with the bare address, e.g. "${DEFAULT_DDNS_IPV4_URL}"`,
    );
  }
  if ("interface" in source && source.interface !== undefined && !INTERFACE_NAME.test(source.interface)) {
    issues.add(
      `${path}.interface`,
      `${JSON.stringify(source.interface)} is not a network interface name`,
      `write the interface as "ip link" shows it, e.g. "eth0" or "ppp0"`,
    );
  }
}

/** The rules of `hosts[].ddns` and of dynamic hosts. */
export function checkDdns(ctx: CheckContext): void {
  const { spec, issues, warnings } = ctx;
  for (const [host, i] of ctx.hosts) {
    if (host.name === undefined || (!host.dynamicIp && !host.ddns)) continue; // (scanning every node per host is quadratic)
    const path = `hosts[${i}]`;
    const names = serviceNamesOf(spec, host.name);
    const ddns = host.ddns;
    if (!ddns) {
      if (host.dynamicIp && names.length > 0) {
        warnings.add(
          `${path}.dynamicIp`,
          `nothing keeps the DNS records of ${names.map((n) => JSON.stringify(n.name)).join(", ")} current when the address changes`,
          `add ddns: { provider: "cloudflare" } (or an rfc2136 provider) to the host, or keep the records current by other means`,
        );
      }
    } else {
      const at = `${path}.ddns`;
      if (!host.dynamicIp) {
        issues.add(
          at,
          "is set while dynamicIp is not true",
          "set dynamicIp: true on the host (its address changes), or remove ddns and let Terraform keep the records",
        );
      }
      if (names.length === 0) {
        issues.add(
          at,
          "the host runs nothing reached by a DNS name (no coordination server, no DERP node with a DNS host name), so there is no record to keep current",
          "remove ddns, or run a service with a DNS host name on this host",
        );
      }
      checkDnsProvider(ctx, ddns.provider, `${at}.provider`, names, "the updater");
      if (ddns.interval !== undefined) {
        const seconds = parseGoDuration(ddns.interval);
        if (seconds === undefined || seconds < 60 || seconds > 86_400) {
          issues.add(`${at}.interval`, `${JSON.stringify(ddns.interval)} is not a duration from 1m to 24h`, `write a Go duration such as "5m" or "1h"`);
        }
      }
      checkSource(issues, `${at}.ipv4`, ddns.ipv4);
      checkSource(issues, `${at}.ipv6`, ddns.ipv6);
      if (ddns.ipv4 === "off" && (ddns.ipv6 ?? DEFAULTS.hosts.ddns.ipv6) === "off") {
        issues.add(at, "turns off both ipv4 and ipv6, so it updates nothing", `keep at least one, e.g. ipv4: { url: "${DEFAULT_DDNS_IPV4_URL}" }`);
      }
      if (ddns.ttl !== undefined && ddns.ttl !== 1 && !(Number.isInteger(ddns.ttl) && ddns.ttl >= 60 && ddns.ttl <= 86_400)) {
        issues.add(
          `${at}.ttl`,
          `${ddns.ttl} is not a TTL the updater can use`,
          "use 60 to 86400 seconds (or 1, Cloudflare's automatic TTL); short TTLs let clients follow an address change sooner",
        );
      }
    }
  }
}
