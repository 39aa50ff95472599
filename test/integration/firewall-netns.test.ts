/**
 * Every rendered nftables ruleset, loaded into a network namespace this test creates, against
 * real connections from a second namespace (test/support/netns.ts): the host's public ports
 * answer from anywhere; SSH and headscale's metrics and gRPC listeners answer only from the
 * host's admin networks; everything else (loopback-only listeners, ports no service of the host
 * opens) answers nobody. Over IPv4 and IPv6, so neighbour discovery must pass the ruleset too.
 *
 * Listeners run on every port any host opens plus decoys, bound to every address: what stops a
 * connection is the firewall, never a missing listener. The expectation is derived from the
 * issue's rule (role and publicness of each listener), not from the firewall rules the kit built.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedHost, PreparedTailnet } from "../../model/index.js";
import { parsePrefix, prefixWithin } from "../../model/net.js";
import { renderTailnet } from "../../render/index.js";
import { createNetnsPair, netnsSkipReason, type NetnsPair, type Probe } from "../support/netns.js";
import { vmProxySpec, vmSpec } from "../support/vm-specs.js";
import { skipReason } from "../support/requirements.js";
import { prepareTailnet } from "../../secrets/index.js";

/** Ports no service opens, which must stay closed everywhere. */
const DECOYS = [
  { protocol: "tcp" as const, port: 8081 },
  { protocol: "tcp" as const, port: 3478 },
  { protocol: "tcp" as const, port: 5432 },
  { protocol: "udp" as const, port: 41641 },
  { protocol: "udp" as const, port: 53 },
];
const OUTSIDER = { v4: "198.18.0.2", v6: "2001:db8:ffff::2" };

const tailnets: PreparedTailnet[] = [prepareTailnet(vmSpec()), prepareTailnet(vmProxySpec())];
const hosts = tailnets.flatMap((t) => t.hosts.filter((h) => h.vm).map((h) => ({ tailnet: t, host: h })));

/** The first address inside a CIDR (the client's address inside the admin network). */
function firstAddress(cidr: string): string {
  const [addr] = cidr.split("/") as [string];
  return addr.includes(":") ? addr.replace(/::$/, "::1") : addr.replace(/\.0$/, ".1");
}

function adminAddress(host: ResolvedHost, family: "v4" | "v6"): string | undefined {
  const cidr = host.firewall.adminCidrs.find((c) => c.includes(":") === (family === "v6"));
  return cidr === undefined ? undefined : firstAddress(cidr);
}

const clientAddresses = [
  ...new Set([
    OUTSIDER.v4,
    OUTSIDER.v6,
    ...hosts.flatMap(({ host }) => [adminAddress(host, "v4"), adminAddress(host, "v6")].filter((a): a is string => a !== undefined)),
  ]),
];
const listenPorts = [
  ...new Map(
    [
      ...hosts.flatMap(({ host }) => [
        { protocol: "tcp" as const, port: host.firewall.sshPort },
        ...host.listeners.map((l) => ({ protocol: l.protocol, port: l.port })),
      ]),
      ...DECOYS,
    ].map((p) => [`${p.protocol}/${p.port}`, p]),
  ).values(),
];

type Expect = "everyone" | "admins" | "nobody";

/** The rule: public service ports for everyone; SSH, metrics and gRPC for admins; the rest for nobody. */
function expected(host: ResolvedHost, protocol: string, port: number): Expect {
  if (protocol === "tcp" && port === host.firewall.sshPort) return "admins";
  const l = host.listeners.find((x) => x.protocol === protocol && x.port === port);
  if (!l?.public) return "nobody";
  return l.role === "metrics" || l.role === "grpc" ? "admins" : "everyone";
}

describe.skipIf(skipReason("firewall-netns", netnsSkipReason) !== undefined)("rendered nftables rulesets in a network namespace, with real connections", () => {
  let pair: NetnsPair;
  let dir: string;

  beforeAll(async () => {
    for (const a of [OUTSIDER.v4, OUTSIDER.v6]) {
      for (const { host } of hosts) for (const c of host.firewall.adminCidrs) expect(withinCidr(a, c), `${a} must be outside ${c}`).toBe(false);
    }
    dir = mkdtempSync(join(tmpdir(), "cdktf-fw-"));
    pair = await createNetnsPair(clientAddresses);
    await pair.listen(listenPorts);
  });
  afterAll(async () => {
    await pair?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("without a ruleset, every listener answers (so a closed port below is the firewall's doing)", async () => {
    const probes: Probe[] = listenPorts.map((p) => ({
      id: `${p.protocol}/${p.port}`,
      protocol: p.protocol,
      src: OUTSIDER.v4,
      dst: pair.serverV4,
      port: p.port,
    }));
    const results = await pair.probe(probes);
    expect(
      Object.values(results).every((r) => r === "open"),
      JSON.stringify(results),
    ).toBe(true);
  });

  it.each(hosts.map(({ tailnet, host }) => [`${tailnet.name}/${host.name}`, tailnet, host] as const))(
    "%s: public ports answer everyone, admin ports only admins, the rest nobody",
    async (_label, tailnet, host) => {
      const ruleset = renderTailnet(tailnet).find((f) => f.path === `hosts/${host.name}/nftables.conf`)!.content;
      const file = join(dir, `${tailnet.name}-${host.name}.nft`);
      writeFileSync(file, ruleset);
      await pair.exec(pair.server, "nft", ["-f", file]);

      const sources = [
        { who: "admin-v4", src: adminAddress(host, "v4"), dst: pair.serverV4, admin: true },
        { who: "admin-v6", src: adminAddress(host, "v6"), dst: pair.serverV6, admin: true },
        { who: "other-v4", src: OUTSIDER.v4, dst: pair.serverV4, admin: false },
        { who: "other-v6", src: OUTSIDER.v6, dst: pair.serverV6, admin: false },
      ].filter((s): s is { who: string; src: string; dst: string; admin: boolean } => s.src !== undefined);
      const probes: (Probe & { want: "open" | "closed" })[] = sources.flatMap((s) =>
        listenPorts.map((p) => {
          const rule = expected(host, p.protocol, p.port);
          const want = rule === "everyone" || (rule === "admins" && s.admin) ? ("open" as const) : ("closed" as const);
          return { id: `${s.who} ${p.protocol}/${p.port}`, protocol: p.protocol, src: s.src, dst: s.dst, port: p.port, want };
        }),
      );
      const results = await pair.probe(probes);
      const wrong = probes.filter((p) => results[p.id] !== p.want).map((p) => `${p.id}: ${results[p.id]}, expected ${p.want}`);
      expect(wrong, ruleset).toEqual([]);
      // Not vacuous: the host has open public ports and closed ones.
      expect(probes.some((p) => p.want === "open" && !p.id.startsWith("admin"))).toBe(true);
      expect(probes.some((p) => p.want === "closed")).toBe(true);
    },
  );
});

function withinCidr(address: string, cidr: string): boolean {
  const a = parsePrefix(`${address}/${address.includes(":") ? 128 : 32}`)!;
  return prefixWithin(a, parsePrefix(cidr)!);
}
