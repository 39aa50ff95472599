import { describe, expect, it } from "vitest";
import nodeNet from "node:net";
import {
  addressKind,
  formatAddress,
  hasHostBits,
  ipBytes,
  isDnsName,
  isIp,
  isIPv6,
  networkOf,
  parseGoDuration,
  parseIp,
  parseListenAddress,
  parsePrefix,
  parsePrometheusDuration,
  prefixesCoverFamily,
  prefixKind,
  prefixWithin,
  unmapIpv4,
  TAILSCALE_CGNAT,
  TAILSCALE_ULA,
  type Prefix,
} from "../../model/net.js";
import { closest } from "../../model/suggest.js";

describe("prefixes", () => {
  it("parses both families and rejects malformed ones", () => {
    expect(parsePrefix("100.64.0.0/10")).toMatchObject({ family: 4, bits: 10 });
    expect(parsePrefix("fd7a:115c:a1e0::/48")).toMatchObject({ family: 6, bits: 48 });
    expect(parsePrefix("::ffff:192.0.2.1/128")).toMatchObject({ family: 6, bits: 128 });
    for (const bad of ["100.64.0.0", "100.64.0.0/33", "fd7a::/129", "300.0.0.0/8", "x/8", ""]) expect(parsePrefix(bad)).toBeUndefined();
  });

  it("knows containment in Tailscale's ranges", () => {
    expect(prefixWithin(parsePrefix("100.64.0.0/16")!, TAILSCALE_CGNAT)).toBe(true);
    expect(prefixWithin(parsePrefix("100.128.0.0/16")!, TAILSCALE_CGNAT)).toBe(false);
    expect(prefixWithin(parsePrefix("100.0.0.0/8")!, TAILSCALE_CGNAT)).toBe(false);
    expect(prefixWithin(parsePrefix("fd7a:115c:a1e0:ab12::/64")!, TAILSCALE_ULA)).toBe(true);
    expect(prefixWithin(parsePrefix("fd7a:115c:a1e1::/64")!, TAILSCALE_ULA)).toBe(false);
    expect(prefixWithin(parsePrefix("100.64.0.0/10")!, TAILSCALE_ULA)).toBe(false);
  });

  it("finds host bits and the network address", () => {
    expect(hasHostBits(parsePrefix("192.168.100.1/24")!)).toBe(true);
    expect(hasHostBits(parsePrefix("192.168.100.0/24")!)).toBe(false);
    expect(networkOf(parsePrefix("10.1.2.3/16")!)).toBe("10.1.0.0/16");
    expect(networkOf(parsePrefix("2001:db8:1:2::5/64")!)).toBe("2001:db8:1:2::/64");
  });
});

describe("names, listeners, durations", () => {
  it("accepts DNS names a certificate can carry", () => {
    expect(isDnsName("derp-hk1.example.com")).toBe(true);
    for (const bad of ["localhost", "derp_1.example.com", "-a.example.com", "example.com.", "1.2.3.4", `${"a".repeat(64)}.com`])
      expect(isDnsName(bad)).toBe(false);
  });

  it("parses listen addresses as Go does", () => {
    expect(parseListenAddress("0.0.0.0:8080")).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(parseListenAddress(":443")).toEqual({ host: "", port: 443 });
    expect(parseListenAddress("[::]:443")).toEqual({ host: "::", port: 443 });
    for (const bad of ["8080", "0.0.0.0:0", "0.0.0.0:65536", "::1:80", "[x]:1"]) expect(parseListenAddress(bad)).toBeUndefined();
  });

  it("parses Go durations (no days) and Prometheus durations (days, weeks)", () => {
    expect(parseGoDuration("1h30m")).toBe(5400);
    expect(parseGoDuration("90s")).toBe(90);
    expect(parseGoDuration("1.5h")).toBe(5400);
    expect(parseGoDuration("1d")).toBeUndefined();
    expect(parseGoDuration("30")).toBeUndefined();
    expect(parsePrometheusDuration("180d")).toBe(180 * 86400);
    expect(parsePrometheusDuration("1w2d")).toBe(9 * 86400);
    expect(parsePrometheusDuration("1.5d")).toBeUndefined();
  });

  it("suggests the closest key, ignoring case, dashes and underscores", () => {
    expect(closest("base_domain", ["magicDns", "baseDomain"])).toBe("baseDomain");
    expect(closest("hostnme", ["hostname", "host"])).toBe("hostname");
    expect(closest("zzzz", ["hostname", "host"])).toBeUndefined();
  });
});

describe("prefix strictness matches Go's netip.ParsePrefix", () => {
  it("refuses leading zeros in the bit count and surrounding space, as headscale does", () => {
    for (const bad of ["100.64.0.0/010", " 100.64.0.0/10", "100.64.0.0/10 ", "10.0.0.5/032"]) expect(parsePrefix(bad)).toBeUndefined();
    expect(parsePrefix("0.0.0.0/0")).toMatchObject({ bits: 0 });
  });
});

describe("isIPv6 (written out instead of node:net's costly regex)", () => {
  const sample = [
    "::",
    "::1",
    "1::",
    "fe80::1%eth0",
    "fe80::1%",
    "fe80::1%e th0",
    "::ffff:1.2.3.4",
    "::1.2.3.04",
    "1.2.3.4::",
    "1.2.3.4",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::",
    "::1:2:3:4:5:6:7",
    "1::2:3:4:5:6:7",
    "1:2:3:4:5:6:1.2.3.4",
    "1::2:3:4:5:6:1.2.3.4",
    "1::2:3:4:5:1.2.3.4",
    "0:0:0:0:0:0:1.2.3.4",
    "12345::",
    ":::",
    "1:::2",
    "1::2::3",
    ":1::",
    "::1:",
    "1:2:3:4:5:6:7",
    "fd7a:115c:a1e0::/48",
    "FD7A:115C:A1E0::1",
    "g::1",
    "",
    ":",
    "1.2.3.4:5",
    "::1.2.3.4:5",
    "::256.1.1.1",
    "::%x",
    "1:2:3:4:5:6:7:8%a.b:c-d",
    "::ffff:0:1.2.3.4",
  ];

  it("accepts exactly the strings Node's net.isIPv6 accepts (listed cases)", () => {
    for (const s of sample) expect(isIPv6(s), JSON.stringify(s)).toBe(nodeNet.isIPv6(s));
  });

  it("agrees with Node on 200,000 random strings built from address characters", () => {
    let seed = 42;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const pieces = ["::", ":", "1", "a", "F", "ffff", "12345", "0", "00", ".", "1.2.3.4", "255", "256", "%", "eth0", "g"];
    let accepted = 0;
    for (let i = 0; i < 200_000; i++) {
      let s = "";
      for (let n = random(12); n >= 0; n--) s += pieces[random(pieces.length)];
      const expected = nodeNet.isIPv6(s);
      if (expected) accepted++;
      if (isIPv6(s) !== expected) expect(isIPv6(s), JSON.stringify(s)).toBe(expected);
    }
    expect(accepted).toBeGreaterThan(1000); // the generator reaches valid addresses, not only junk
  });

  it("parsePrefix refuses a zone, as Go's netip.ParsePrefix does", () => {
    expect(parsePrefix("fe80::/64")?.family).toBe(6);
    expect(parsePrefix("fe80::%eth0/64")).toBeUndefined();
    expect(parsePrefix("::ffff:1.2.3.4/128")?.value).toBe(0xffff01020304n);
  });
});

describe("single addresses", () => {
  it("parses both families, keeps an IPv6 zone apart, and gives the bytes a certificate's IP SAN holds", () => {
    expect(parseIp("192.0.2.1")).toEqual({ family: 4, value: 0xc0000201n, zone: undefined });
    expect(parseIp("fe80::1%eth0")).toEqual({ family: 6, value: 0xfe800000000000000000000000000001n, zone: "eth0" });
    for (const bad of ["300.1.1.1", "192.0.2.1/32", "hs.example.com", "", "::g"]) expect(parseIp(bad)).toBeUndefined();
    expect([...ipBytes(parseIp("192.0.2.1")!)]).toEqual([192, 0, 2, 1]);
    expect([...ipBytes(parseIp("::ffff:192.0.2.1")!)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    expect([...ipBytes(parseIp("2001:db8::1")!)]).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]);
    expect(formatAddress(unmapIpv4(parseIp("::ffff:c000:201")!)!)).toBe("192.0.2.1");
    expect(unmapIpv4(parseIp("2001:db8::1")!)).toBeUndefined();
  });

  it("encodes IPv4-mapped and embedded-IPv4 forms as the 16 bytes of the IPv6 address they are, and refuses a zone where an address is expected", () => {
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1];
    for (const text of ["::ffff:192.0.2.1", "::FFFF:c000:201", "0:0:0:0:0:ffff:192.0.2.1"]) expect([...ipBytes(parseIp(text)!)], text).toEqual(mapped);
    expect(formatAddress(parseIp("::ffff:192.0.2.1")!)).toBe("::ffff:c000:201");
    expect([...ipBytes(parseIp("64:ff9b::198.51.100.7")!)]).toEqual([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 198, 51, 100, 7]);
    expect(() => ipBytes(parseIp("fe80::1%eth0")!)).toThrow(
      '"fe80::1%eth0" carries the zone "%eth0", which names an interface of one machine; an address here has none',
    );
    expect(isIp("fe80::1%eth0")).toBe(true); // an IP literal: the validator reads the zone (parseIp) to say why it is refused
    expect(parsePrefix("fe80::1%eth0/128")).toBeUndefined();
  });

  it("writes addresses as WHATWG URLs do (canonical IPv6), on 20,000 random addresses", () => {
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const groups = ["0", "0", "0", "1", "ff", "ffff", "db8", "a0b"];
    for (let i = 0; i < 20_000; i++) {
      const full = Array.from({ length: 8 }, () => groups[random(groups.length)]!).join(":");
      const text = random(4) === 0 ? `${full.split(":").slice(0, 6).join(":")}:${random(256)}.${random(256)}.0.${random(256)}` : full;
      const [ours, url] = [formatAddress(parseIp(text)!), new URL(`http://[${text}]/`).hostname.slice(1, -1)];
      if (ours !== url) expect(ours, text).toBe(url);
    }
  });

  it("knows the special-purpose ranges, and calls the rest public", () => {
    const kinds = Object.fromEntries(
      [
        "0.0.0.0",
        "127.0.0.53",
        "224.0.0.1",
        "255.255.255.255",
        "169.254.1.1",
        "10.1.2.3",
        "172.31.0.1",
        "192.168.1.1",
        "100.100.100.100",
        "::",
        "::1",
        "ff02::1",
        "fe80::1",
        "fd7a:115c:a1e0::1",
        "::ffff:10.0.0.1",
        "192.0.2.1",
        "2001:db8::1",
        "172.32.0.1",
        "8.8.8.8",
      ].map((a) => [a, addressKind(parseIp(a)!)]),
    );
    expect(kinds).toEqual({
      "0.0.0.0": "unspecified",
      "127.0.0.53": "loopback",
      "224.0.0.1": "multicast",
      "255.255.255.255": "broadcast",
      "169.254.1.1": "link-local",
      "10.1.2.3": "private",
      "172.31.0.1": "private",
      "192.168.1.1": "private",
      "100.100.100.100": "cgnat",
      "::": "unspecified",
      "::1": "loopback",
      "ff02::1": "multicast",
      "fe80::1": "link-local",
      "fd7a:115c:a1e0::1": "ula",
      "::ffff:10.0.0.1": "ipv4-mapped",
      "192.0.2.1": "public",
      "2001:db8::1": "public",
      "172.32.0.1": "public",
      "8.8.8.8": "public",
    });
    expect(prefixKind(parsePrefix("127.0.0.0/8")!)).toBe("loopback");
    expect(prefixKind(parsePrefix("239.0.0.0/8")!)).toBe("multicast");
    expect(prefixKind(parsePrefix("0.0.0.0/1")!)).toBe("public"); // covers loopback, lies inside nothing special
  });
});

describe("prefixesCoverFamily: the union of prefixes, sorted and merged", () => {
  /** Splits `prefix` at random into disjoint prefixes that cover exactly it. */
  function split(prefix: Prefix, random: (n: number) => number, depth = 0): Prefix[] {
    const width = prefix.family === 4 ? 32 : 128;
    if (prefix.bits === width || depth > 6 || random(3) === 0) return [prefix];
    const bits = prefix.bits + 1;
    const half = 1n << BigInt(width - bits);
    const child = (value: bigint) => ({ family: prefix.family, bits, value, text: `${value}/${bits}` });
    return [...split(child(prefix.value), random, depth + 1), ...split(child(prefix.value + half), random, depth + 1)];
  }

  it("is true for every random split of the whole space (shuffled, with overlaps), false once a piece is missing", () => {
    let seed = 3;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let round = 0; round < 500; round++) {
      const family = round % 2 === 0 ? 4 : 6;
      const pieces = split(parsePrefix(family === 4 ? "0.0.0.0/0" : "::/0")!, random).filter((p) => p.bits > 0);
      if (pieces.length < 2) continue;
      const shuffled = [...pieces].sort(() => random(3) - 1);
      const overlap = pieces[random(pieces.length)]!;
      expect(prefixesCoverFamily([...shuffled, overlap], family)).toBe(true);
      expect(prefixesCoverFamily(shuffled, family === 4 ? 6 : 4)).toBe(false);
      const missing = random(shuffled.length);
      expect(
        prefixesCoverFamily(
          shuffled.filter((_, i) => i !== missing),
          family,
        ),
      ).toBe(false);
    }
  });

  it("notices a single missing address at either end", () => {
    const allBut = (last: boolean) =>
      Array.from({ length: 32 }, (_, i) => {
        const bits = i + 1;
        const value = last ? (1n << 32n) - (1n << BigInt(33 - bits)) : 1n << BigInt(32 - bits);
        return { family: 4 as const, bits, value, text: "" };
      });
    expect(prefixesCoverFamily(allBut(true), 4)).toBe(false);
    expect(prefixesCoverFamily(allBut(false), 4)).toBe(false);
    expect(prefixesCoverFamily([...allBut(false), parsePrefix("0.0.0.0/32")!], 4)).toBe(true);
  });
});
