/**
 * Address, prefix, host-name, listen-address and duration parsing: the small, exact rules the
 * validator applies. Pure functions, no I/O.
 *
 * The kit's one IP library: every IP address or prefix the kit reads, compares or encodes goes
 * through here (the validator, the certificate issuer in secrets/x509.ts, the secrets store, the
 * lab's plan and lab changes), not through node:net or a parser of its own. IPv4, IPv6, IPv6 with
 * a dotted IPv4 tail, and IPv4-mapped IPv6 (`::ffff:192.0.2.1`, kept as the IPv6 address it is: 16
 * bytes). An IPv6 zone (`fe80::1%eth0`) names an interface of one machine: `parseIp` reads it so
 * the validator can say so, and {@link ipBytes} refuses it, so no zoned address reaches a
 * certificate or anything else that wants an address.
 */
import { isIPv4 } from "node:net";

export { isIPv4 };

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z.:-]+$/;

/**
 * The 16-bit groups of an IPv6 address without a zone, a trailing dotted IPv4 part counted as
 * two; undefined when it is not one. "::" stands for at least one zero group, as in Node and Go.
 */
function ipv6Groups(addr: string): { head: string[]; tail: string[] | undefined } | undefined {
  const gap = addr.indexOf("::");
  if (gap !== addr.lastIndexOf("::")) return undefined; // two gaps, or ":::"
  const head = gap < 0 ? addr : addr.slice(0, gap);
  const tailText = gap < 0 ? undefined : addr.slice(gap + 2);
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tailText === undefined ? undefined : tailText === "" ? [] : tailText.split(":");
  const parts = tailParts ?? headParts;
  let count = headParts.length + (tailParts?.length ?? 0);
  for (const [i, part] of [...headParts, ...(tailParts ?? [])].entries()) {
    const last = i === count - 1;
    if (HEX_GROUP.test(part)) continue;
    if (!last || parts.length === 0 || !isIPv4(part)) return undefined;
    count++; // the dotted IPv4 part fills two groups
  }
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  return { head: headParts, tail: tailParts };
}

/**
 * True for an IPv6 address literal, with an optional `%zone` (the same strings Node's
 * net.isIPv6 accepts). Written out rather than taken from node:net, whose one large regular
 * expression costs ~9 ms to compile on first use: a tenth of a synth.
 */
export function isIPv6(value: string): boolean {
  const pct = value.indexOf("%");
  if (pct >= 0 && !ZONE.test(value.slice(pct + 1))) return false;
  return ipv6Groups(pct >= 0 ? value.slice(0, pct) : value) !== undefined;
}

/**
 * An IP address literal of either family, no brackets; an IPv6 one may carry a `%zone` (as
 * node:net's isIP): where a zone is wrong, `parseIp(value).zone` says so.
 */
export function isIp(value: string): boolean {
  return isIPv4(value) || isIPv6(value);
}

/** A parsed CIDR prefix, with the address as a big integer for containment checks. */
export interface Prefix {
  family: 4 | 6;
  bits: number;
  value: bigint;
  text: string;
}

function ipToBigInt(ip: string): bigint {
  if (isIPv4(ip)) return ip.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const { head, tail } = ipv6Groups(ip)!;
  const expandV4 = (gs: string[]): string[] => {
    const last = gs[gs.length - 1];
    if (last && isIPv4(last)) {
      const n = Number(ipToBigInt(last));
      return [...gs.slice(0, -1), ((n >>> 16) & 0xffff).toString(16), (n & 0xffff).toString(16)];
    }
    return gs;
  };
  const groups = tail === undefined ? expandV4(head) : head;
  const rest = tail === undefined ? [] : expandV4(tail);
  const missing = 8 - groups.length - rest.length;
  const all = tail === undefined ? groups : [...groups, ...Array(missing).fill("0"), ...rest];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses `addr/bits`; undefined when it is not a valid prefix. Host bits may be set. */
export function parsePrefix(text: string): Prefix | undefined {
  // As strict as Go's netip.ParsePrefix, which headscale uses: no surrounding space, no leading zeros.
  const m = /^([^/\s]+)\/(0|[1-9]\d{0,2})$/.exec(text);
  if (!m) return undefined;
  const [, addr, bitsText] = m as unknown as [string, string, string];
  const family = isIPv4(addr) ? 4 : isIPv6(addr) && !addr.includes("%") ? 6 : undefined; // no zones in a prefix
  if (!family) return undefined;
  const bits = Number(bitsText);
  if (bits > (family === 4 ? 32 : 128)) return undefined;
  return { family, bits, value: ipToBigInt(addr), text };
}

/** True when `inner` lies entirely inside `outer`. */
export function prefixWithin(inner: Prefix, outer: Prefix): boolean {
  if (inner.family !== outer.family || inner.bits < outer.bits) return false;
  const width = inner.family === 4 ? 32 : 128;
  const shift = BigInt(width - outer.bits);
  return inner.value >> shift === outer.value >> shift;
}

/** True when the prefix has host bits set (e.g. `192.168.100.1/24`). */
export function hasHostBits(prefix: Prefix): boolean {
  const width = prefix.family === 4 ? 32 : 128;
  const hostBits = BigInt(width - prefix.bits);
  return (prefix.value & ((1n << hostBits) - 1n)) !== 0n;
}

function formatIp(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - i * 16)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.len).join(":")}`;
}

/** The prefix with its host bits cleared, as text: `192.168.100.1/24` -> `192.168.100.0/24`. */
export function networkOf(prefix: Prefix): string {
  const width = prefix.family === 4 ? 32 : 128;
  const hostBits = BigInt(width - prefix.bits);
  return `${formatIp((prefix.value >> hostBits) << hostBits, prefix.family)}/${prefix.bits}`;
}

/** The ranges Tailscale treats as tailnet addresses. */
export const TAILSCALE_CGNAT = parsePrefix("100.64.0.0/10")!;
export const TAILSCALE_ULA = parsePrefix("fd7a:115c:a1e0::/48")!;

/**
 * A DNS name as a TLS certificate and a resolver accept it: dot-separated labels of letters,
 * digits and inner dashes, at most 253 characters, no trailing dot, at least two labels.
 */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253 || value.endsWith(".")) return false;
  const labels = value.split(".");
  if (labels.length < 2) return false;
  return labels.every((l) => /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/** A name usable as a folder and resource name: lower-case letters, digits, inner dashes. */
export function isSlug(value: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(value);
}

/** A listen address `host:port`, `:port` or `[v6]:port`. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses a Go-style listen address; undefined when malformed or the port is out of range. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? "";
  if (m[1] !== undefined && !isIPv6(host)) return undefined;
  if (m[2] && !isIPv4(host) && !isDnsName(host) && host !== "localhost") return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

const GO_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Parses a Go `time.ParseDuration` string (`30m`, `1h30m`, `90s`) into seconds; undefined when Go
 * would refuse it. Note Go has no `d` unit: `"1d"` is not a duration.
 */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 ? total : undefined;
}

const PROM_UNITS: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Parses a Prometheus duration (`180d`, `1w`, `0`); undefined when Prometheus would refuse it. */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * PROM_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 ? total : undefined;
}

// ---------------------------------------------------------------------------------------------
// single addresses: what an address is, and ranges of prefixes

/** A parsed IP address: its family, its value as a big integer, and the `%zone` of an IPv6 one. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
  zone: string | undefined;
}

/** Parses an IP address literal (IPv6 with an optional `%zone`); undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { family: 4, value: ipToBigInt(text), zone: undefined };
  if (!isIPv6(text)) return undefined;
  const pct = text.indexOf("%");
  const bare = pct < 0 ? text : text.slice(0, pct);
  return { family: 6, value: ipToBigInt(bare), zone: pct < 0 ? undefined : text.slice(pct + 1) };
}

/**
 * The address's bytes in network order (4 for IPv4; 16 for IPv6, IPv4-mapped included), as a
 * certificate's iPAddress SAN holds them. Refuses an address with a zone: its bytes would name
 * another address (the zone is not part of them).
 */
export function ipBytes(ip: IpAddress): Uint8Array {
  if (ip.zone !== undefined) {
    throw new Error(
      `cdktf-tailnet: "${formatAddress(ip)}%${ip.zone}" carries the zone "%${ip.zone}", which names an interface of one machine; an address here has none (write it without the zone)`,
    );
  }
  const length = ip.family === 4 ? 4 : 16;
  return Uint8Array.from({ length }, (_, i) => Number((ip.value >> BigInt(8 * (length - 1 - i))) & 0xffn));
}

/** The address as text in its canonical form (lower-case, the longest zero run as `::`), without a zone. */
export function formatAddress(ip: IpAddress): string {
  return formatIp(ip.value, ip.family);
}

/**
 * What an address is, by the special-purpose ranges (RFC 6890 and its updates). `"public"` is
 * everything else, documentation ranges included.
 */
export type AddressKind = "unspecified" | "loopback" | "multicast" | "broadcast" | "link-local" | "private" | "cgnat" | "ula" | "ipv4-mapped" | "public";

const SPECIAL_RANGES: readonly [Prefix, AddressKind][] = (
  [
    ["0.0.0.0/8", "unspecified"],
    ["127.0.0.0/8", "loopback"],
    ["224.0.0.0/4", "multicast"],
    ["255.255.255.255/32", "broadcast"],
    ["169.254.0.0/16", "link-local"],
    ["10.0.0.0/8", "private"],
    ["172.16.0.0/12", "private"],
    ["192.168.0.0/16", "private"],
    ["100.64.0.0/10", "cgnat"],
    ["::/128", "unspecified"],
    ["::1/128", "loopback"],
    ["ff00::/8", "multicast"],
    ["fe80::/10", "link-local"],
    ["fc00::/7", "ula"],
    ["::ffff:0:0/96", "ipv4-mapped"],
  ] as const
).map(([text, kind]) => [parsePrefix(text)!, kind]);

/** The special-purpose range an address lies in, or `"public"`. */
export function addressKind(ip: IpAddress): AddressKind {
  const width = ip.family === 4 ? 32 : 128;
  for (const [range, kind] of SPECIAL_RANGES) {
    if (range.family !== ip.family) continue;
    const shift = BigInt(width - range.bits);
    if (ip.value >> shift === range.value >> shift) return kind;
  }
  return "public";
}

/** The special-purpose range a prefix lies entirely inside, or `"public"` when it lies inside none. */
export function prefixKind(prefix: Prefix): AddressKind {
  return SPECIAL_RANGES.find(([range]) => prefixWithin(prefix, range))?.[1] ?? "public";
}

/** The first and last address a prefix covers. */
export function prefixRange(prefix: Prefix): { first: bigint; last: bigint } {
  const hostBits = BigInt((prefix.family === 4 ? 32 : 128) - prefix.bits);
  const first = (prefix.value >> hostBits) << hostBits;
  return { first, last: first + (1n << hostBits) - 1n };
}

/**
 * True when the prefixes of `family` together cover every address of it, however they are split
 * (`0.0.0.0/1` and `128.0.0.0/1` as much as `0.0.0.0/0`): sorted by first address, then merged.
 */
export function prefixesCoverFamily(prefixes: readonly Prefix[], family: 4 | 6): boolean {
  const ranges = prefixes
    .filter((p) => p.family === family)
    .map(prefixRange)
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const end = (1n << BigInt(family === 4 ? 32 : 128)) - 1n;
  let next = 0n; // the first address not covered yet
  for (const r of ranges) {
    if (r.first > next) return false;
    if (r.last >= next) next = r.last + 1n;
    if (next > end) return true;
  }
  return false;
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:192.0.2.1`); undefined for any other address. */
export function unmapIpv4(ip: IpAddress): IpAddress | undefined {
  return ip.family === 6 && addressKind(ip) === "ipv4-mapped" ? { family: 4, value: ip.value & 0xffffffffn, zone: undefined } : undefined;
}

/** The host part of a URL, without port or IPv6 brackets; undefined when it does not parse. */
export function urlHost(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A URL's host and port (`https://<this>/derp`): the port left out when it is the scheme's
 * `defaultPort`, an IPv6 host in brackets either way (`[2001:db8::1]`, `[2001:db8::1]:8443`).
 */
export function urlAuthority(host: string, port: number, defaultPort: number): string {
  if (port !== defaultPort) return joinHostPort(host, port);
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * `host:port` as dialers, listeners and URLs take it: an IPv6 address in brackets
 * (`[2001:db8::1]:443`), anything else as it is; `host` "" gives `:port` (every address).
 */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
