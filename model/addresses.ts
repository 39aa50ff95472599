/**
 * Rules for the addresses the world dials: a host's public addresses, a DERP node's IP host name
 * and addresses, the embedded DERP's. Such an address must be one a client elsewhere can reach:
 * not the unspecified address, loopback, multicast, broadcast or IPv6 link-local; not an IPv4
 * address written as IPv6; without a `%zone`. And one address reaches one machine per port, so
 * two hosts that share an address must not open the same port.
 */
import type { CheckContext, ModelCheckContext } from "./context.js";
import type { IssueList } from "./issues.js";
import { addressKind, formatAddress, isIPv4, isIPv6, parseIp, unmapIpv4, type AddressKind } from "./net.js";
import type { ResolvedHost } from "./resolved.js";
import { isUnresolvedToken } from "./tokens.js";

/** Why an address kind can never be dialed by a client elsewhere. */
const UNREACHABLE: Partial<Record<AddressKind, string>> = {
  unspecified: 'is the unspecified address ("any"), which no client can dial',
  multicast: "is a multicast address, which no TCP connection can reach",
  broadcast: "is the broadcast address, which no TCP connection can reach",
};

/**
 * Checks an address the whole tailnet is handed (a nameserver, a MagicDNS record, a policy host or
 * ACL address): every client reads it, so it may be private, but it must mean the same on every
 * machine: no `%zone` (an interface of one machine), and no IPv4 address written as IPv6 (clients
 * and headscale's policy treat `::ffff:192.0.2.1` as IPv6, so a rule for it never matches IPv4
 * traffic). Values that are not addresses (reported by other checks) are left alone. True when it
 * reported a problem.
 */
export function checkTailnetWideAddress(issues: IssueList, path: string, value: string | undefined): boolean {
  const ip = value === undefined ? undefined : parseIp(value);
  if (!ip) return false;
  const q = JSON.stringify(value);
  if (ip.zone !== undefined) {
    issues.add(
      path,
      `${q} carries the zone "%${ip.zone}", which names an interface of one machine; every client of the tailnet reads this address`,
      `write ${JSON.stringify(formatAddress(ip))} without the zone`,
    );
    return true;
  }
  if (addressKind(ip) === "ipv4-mapped") {
    const v4 = formatAddress(unmapIpv4(ip)!);
    issues.add(path, `${q} is the IPv4 address ${v4} written as IPv6 (IPv4-mapped); clients and the policy treat it as IPv6`, `write "${v4}"`);
    return true;
  }
  return false;
}

/**
 * Checks an address that clients elsewhere dial. `v4Field` names where the IPv4 form of an
 * IPv4-mapped address belongs (e.g. `publicIpv4`), when that is another field. Terraform tokens,
 * `"none"` and values that are not addresses (reported by other checks) are left alone. A loopback
 * address is a warning, not an error: it is right for a tailnet on one machine (tests, a demo) and
 * wrong everywhere else. True when it reported a problem.
 */
export function checkPublicAddress(issues: IssueList, warnings: IssueList, path: string, value: string | undefined, v4Field?: string): boolean {
  if (value === undefined || isUnresolvedToken(value)) return false;
  const ip = parseIp(value);
  if (!ip) return false;
  const before = issues.length;
  const q = JSON.stringify(value);
  const bare = formatAddress(ip);
  const kind = addressKind(ip);
  if (ip.zone !== undefined) {
    const global = kind === "link-local" ? "a global address" : JSON.stringify(bare);
    issues.add(
      path,
      `${q} carries the zone "%${ip.zone}", which names an interface of one machine; an address clients elsewhere dial has none`,
      `write ${global} without a zone`,
    );
  } else if (kind === "ipv4-mapped") {
    const v4 = formatAddress(unmapIpv4(ip)!);
    issues.add(
      path,
      `${q} is the IPv4 address ${v4} written as IPv6 (IPv4-mapped); clients, DNS records and certificates treat the two forms differently`,
      `write "${v4}"${v4Field ? ` in ${v4Field}` : ""}`,
    );
  } else if (kind === "link-local" && ip.family === 6) {
    issues.add(path, `${q} is an IPv6 link-local address, reachable only on its own link and only with a zone`, "write the global address clients reach it at");
  } else if (UNREACHABLE[kind]) {
    issues.add(path, `${q} ${UNREACHABLE[kind]}`, "write the public address clients reach it at");
  } else if (kind === "loopback") {
    warnings.add(
      path,
      `${q} is a loopback address: every client dials itself, so this works only with every client on the same machine`,
      "write the public address clients reach it at, unless the whole tailnet runs on one machine",
    );
  }
  return issues.length > before;
}

/** An address field of the spec (a host's, a DERP node's): an IP address of its family (or `"none"` where allowed), or a token. */
export function checkAddress(ctx: CheckContext, path: string, value: string | undefined, family: 4 | 6, allowNone: boolean): void {
  if (value === undefined || isUnresolvedToken(value)) return;
  if (allowNone && value === "none") return;
  const ok = family === 4 ? isIPv4(value) : isIPv6(value);
  if (!ok) {
    ctx.issues.add(
      path,
      `${JSON.stringify(value)} is not an IPv${family} address`,
      `write an IPv${family} address${allowNone ? `, "none" to turn IPv${family} off,` : ""} or a Terraform token`,
    );
  } else {
    checkPublicAddress(ctx.issues, ctx.warnings, path, value, path.split(".").at(-1)!.replace(/6$/, "4"));
  }
}

/**
 * Hosts that share a public address: an error when they open the same port (the address reaches
 * one machine per port), else a warning (it works only behind one NAT that forwards each port to
 * the right machine). Runs on the resolved model, which knows every socket a host opens; of two
 * hosts, the later in the spec is reported.
 */
export function checkSharedAddresses(ctx: ModelCheckContext): void {
  const hosts = [...ctx.tailnet.hosts].sort((a, b) => a.specIndex - b.specIndex);
  const owners = new Map<string, ResolvedHost>(); // canonical address -> the first host with it
  const publicPorts = (h: ResolvedHost) => h.listeners.filter((l) => l.public).map((l) => `${l.protocol} port ${l.port}`);
  for (const host of hosts) {
    for (const key of ["publicIpv4", "publicIpv6"] as const) {
      const value = host[key];
      const ip = value === undefined ? undefined : parseIp(value);
      if (!ip) continue;
      const canonical = `${ip.family}/${ip.value}`;
      const other = owners.get(canonical);
      if (other === undefined) {
        owners.set(canonical, host);
        continue;
      }
      const path = `${host.specPath}.${key}`;
      const shared = `${JSON.stringify(value)} is also the public address of host ${JSON.stringify(other.name)} (${other.specPath})`;
      const theirs = new Set(publicPorts(other));
      const clash = publicPorts(host).find((p) => theirs.has(p));
      if (clash) {
        ctx.issues.add(
          path,
          `${shared}, and both open ${clash}; one address reaches one machine per port`,
          "give each host its own address, or make them one host",
        );
      } else {
        ctx.warnings.add(
          path,
          `${shared}; that works only behind one NAT that forwards each port to the right machine`,
          "give each host its own address, unless both sit behind one NAT",
        );
      }
    }
  }
}
