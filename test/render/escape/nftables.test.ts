/**
 * escape/nftables.ts against nft itself: a ruleset with every comment the escaper writes loads in
 * a throw-away network namespace, and `nft list ruleset` shows each comment as written (double
 * quotes and backslashes as `'`); address sets take only addresses.
 */
import { describe, expect, it } from "vitest";
import { NFT_COMMENT_MAX_BYTES, nftAddressSet, nftString } from "../../../render/escape/nftables.js";
import { UnwritableValueError } from "../../../render/escape/refuse.js";
import { hasCommand } from "../../support/commands.js";
import { hostileStrings } from "../../support/hostile-text.js";
import { nftLoad } from "../../support/read-back.js";

const canLoad = hasCommand("nft") && hasCommand("unshare") && process.getuid?.() === 0;

describe("nftString", () => {
  it("quotes, writes \" and \\ as ', and refuses control characters, line breaks and more than 128 bytes", () => {
    expect(nftString("headscale Let's Encrypt HTTP-01 challenge")).toBe('"headscale Let\'s Encrypt HTTP-01 challenge"');
    expect(nftString('say "hi" \\o/')).toBe(`"say 'hi' 'o/"`);
    expect(() => nftString('x"\naccept\n')).toThrow('cdktf-tailnet: cannot write "x\\"\\naccept\\n" into an nftables string: it holds a line break (\\n)');
    expect(() => nftString("x\u2028y")).toThrow("it holds a line separator (U+2028)");
    expect(() => nftString("é".repeat(65))).toThrow(`nft allows at most ${NFT_COMMENT_MAX_BYTES} bytes`);
    expect(nftString("é".repeat(64))).toHaveLength(66);
  });

  it.skipIf(!canLoad)("every comment it writes loads, and nft lists it back as written", () => {
    const comments = hostileStrings(300, 51).flatMap((s) => {
      try {
        return [[s, nftString(s)] as const];
      } catch (e) {
        expect(e).toBeInstanceOf(UnwritableValueError);
        return [];
      }
    });
    expect(comments.length).toBeGreaterThan(60);
    const rules = comments.map(([, c], i) => `\t\ttcp dport ${i + 1} accept comment ${c}`);
    const result = nftLoad(`table inet t {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n${rules.join("\n")}\n\t}\n}\n`);
    expect(result.error).toBeUndefined();
    const listed = [...result.listed!.matchAll(/tcp dport (\d+) accept comment "(.*)"$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(listed).toEqual(comments.map(([s], i) => [i + 1, s.replace(/["\\]/g, "'")]));
  });
});

describe("nftAddressSet", () => {
  it("writes addresses and prefixes, and refuses anything else", () => {
    expect(nftAddressSet(["192.0.2.0/24", "198.51.100.7"])).toBe("{ 192.0.2.0/24, 198.51.100.7 }");
    expect(nftAddressSet(["2001:db8::/32", "::1"])).toBe("{ 2001:db8::/32, ::1 }");
    expect(() => nftAddressSet(["192.0.2.0/24 } accept; #"])).toThrow(
      'cdktf-tailnet: cannot write "192.0.2.0/24 } accept; #" into an nftables address set: it is not an IP address or prefix',
    );
    expect(() => nftAddressSet([])).toThrow("a set needs at least one address");
  });
});
