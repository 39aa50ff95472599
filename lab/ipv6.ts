/**
 * IPv6 in the lab. The lab network is dual-stack: every machine has an IPv4 and an IPv6 address on
 * the bridge, headscale listens on both, and the model's IPv6 addresses (hosts' publicIpv6, nodes'
 * ipv6) become lab IPv6 addresses, in the DERP maps and the hosts file (AAAA) alike. When a region
 * of the model has IPv6, a client with no IPv4 at all (`client-v6`) joins, and the `ipv6` check
 * proves through it what only IPv6 can: STUN answered over IPv6 (`tailscale netcheck`), a home
 * region reached over IPv6, and a relayed ping to an IPv4 client through it. `derp:<region>`
 * checks TLS to every node with IPv6 over both families, and `registered` an address from each of
 * the tailnet's prefixes on every node.
 */
import { parseNetcheck, short, timed, type CheckContext, type CheckRegion, type LabCheck, type Pong } from "./checks.js";
import type { LabMachine } from "./plan.js";

/** What `tailscale netcheck` says about IPv6: `IPv6: yes, [addr]:port` or `IPv6: no, ...`. */
export function parseNetcheckIpv6(output: string): { ipv6: boolean; address: string | undefined; udp: boolean } {
  const v6 = /^\s*\*\s*IPv6:\s*(yes|no)(?:,\s*(\S+))?/m.exec(output);
  const udp = /^\s*\*\s*UDP:\s*(true|false)/m.exec(output);
  return { ipv6: v6?.[1] === "yes", address: v6?.[2], udp: udp?.[1] === "true" };
}

/**
 * `ipv6`: the IPv6-only client measures the regions with IPv6 over STUN, homes on one of them, and
 * pings `peer` (an IPv4 client) through it.
 */
export async function checkIpv6Client(ctx: CheckContext, client: LabMachine, peer: LabMachine, regions: readonly CheckRegion[]): Promise<LabCheck> {
  const v6Regions = regions.filter((r) => !r.noMeasureNoHome && r.nodes.some((n) => !n.stunOnly && n.ipv6));
  return timed(
    ctx,
    "ipv6",
    `${client.name} (IPv6 only): STUN over IPv6, homed on a region with IPv6 (${v6Regions.map((r) => r.code).join(", ")}), relayed ping to ${peer.name}`,
    async () => {
      const t0 = Date.now();
      // netcheck: STUN over IPv6 answers (UDP true, IPv6 yes), and each region with IPv6 has a latency.
      const r = await ctx.tailscale(client.name, ["netcheck", "--verbose"], 40_000);
      if (r.code !== 0) throw new Error(`tailscale netcheck on ${client.name} exited ${r.code}: ${short((r.stderr || r.stdout).trim(), 200)}`);
      const v6 = parseNetcheckIpv6(r.stdout);
      const listed = parseNetcheck(r.stdout);
      const unmeasured = v6Regions.filter((g) => !listed.get(g.code)?.latency);
      if (!v6.udp || !v6.ipv6) {
        return {
          status: "fail",
          detail: `no IPv6 STUN answer: netcheck on ${client.name} says UDP ${v6.udp ? "works" : "is blocked"} and IPv6 ${v6.ipv6 ? `works (${v6.address})` : "does not"} (the DERP nodes with IPv6 answer STUN on ${[...new Set(v6Regions.flatMap((g) => g.nodes.filter((n) => n.ipv6 && n.stunPort > 0).map((n) => n.stunPort)))].join(", ")}/udp)`,
          data: { netcheck: r.stdout },
        };
      }
      if (unmeasured.length > 0)
        return {
          status: "fail",
          detail: `IPv6 STUN works (${v6.address}), but no latency for ${unmeasured.map((g) => g.code).join(", ")}`,
          data: { netcheck: r.stdout },
        };
      // Homed on a region with IPv6 (the only ones it can reach).
      let home = "";
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
        home = (await ctx.self(client.name)).relay;
        if (v6Regions.some((g) => g.code === home)) break;
        await ctx.pause(300);
      }
      if (!v6Regions.some((g) => g.code === home))
        return {
          status: "fail",
          detail: `IPv6 STUN works (${v6.address}), but ${client.name} is not homed on a region with IPv6 (home: ${home || "none"})`,
          data: { netcheck: r.stdout },
        };
      // A relayed ping to an IPv4 client: DERP joins the families. Each side sends through the other's
      // home region, and this client reaches only regions with IPv6: the peer homes on its region too.
      const homeId = v6Regions.find((g) => g.code === home)!.id;
      await ctx.tailscale(peer.name, ["debug", "force-prefer-derp", String(homeId)]);
      await ctx.tailscale(peer.name, ["debug", "restun"]);
      let peerHome = "";
      for (const deadline = Date.now() + 15_000; peerHome !== home && Date.now() < deadline; ) {
        peerHome = (await ctx.self(peer.name)).relay;
        if (peerHome !== home) await ctx.pause(300);
      }
      if (peerHome !== home)
        return {
          status: "fail",
          detail: `homed on ${home} over IPv6, but ${peer.name} did not home there too (home: ${peerHome || "none"})`,
          data: { netcheck: r.stdout },
        };
      const target = await ctx.self(peer.name);
      if (!target.ipv4) throw new Error(`${peer.name} has no Tailscale IPv4 address`);
      const pongs: Pong[] = [];
      let last = "";
      for (const deadline = Date.now() + 25_000; pongs.length < 2 && Date.now() < deadline; ) {
        const { pong, error } = await ctx.pingOnce(client.name, target.ipv4, 2_000);
        if (pong?.relayed) pongs.push(pong);
        else {
          last = pong ? `answered directly via ${pong.via}` : error;
          await ctx.pause(200);
        }
      }
      if (pongs.length === 0)
        return {
          status: "fail",
          detail: `homed on ${home} over IPv6, but no relayed pong from ${peer.name}: ${short(last, 200)}`,
          data: { netcheck: r.stdout },
        };
      await ctx.tailscale(peer.name, ["debug", "force-prefer-derp", "0"]);
      const latencies = v6Regions.map((g) => `${g.code} ${listed.get(g.code)!.latency}`).join(", ");
      return {
        status: "pass",
        detail: `STUN over IPv6 (seen as ${v6.address}; ${latencies}); homed on ${home}; ${pongs.length} pong(s) from ${peer.name} (${target.ipv4}, IPv4, homed there too) via DERP(${pongs[0]!.via}): ${pongs.map((p) => `${p.ms.toFixed(1)} ms`).join(", ")} (${Date.now() - t0} ms)`,
        data: { netcheck: r.stdout, home, pongs },
      };
    },
  );
}
