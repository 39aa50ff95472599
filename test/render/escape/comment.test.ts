/**
 * escape/comment.ts and escape/plain.ts: a comment line stays one line for every reader of the
 * kit's line-oriented files (sh runs nothing of it, systemd reads no directive from it, nft
 * loads), and a plain word is refused unless it is safe unquoted everywhere.
 */
import { describe, expect, it } from "vitest";
import { commentText } from "../../../render/escape/comment.js";
import { plainWord, plainWords } from "../../../render/escape/plain.js";
import { hasCommand } from "../../support/commands.js";
import { hostileStrings } from "../../support/hostile-text.js";
import { loadUnits, nftLoad, shOutput } from "../../support/read-back.js";

const texts = [...hostileStrings(300, 61), "x\0y", "ends in \\", "x\nExecStartPre=+/bin/sh -c id", "x\ntouch PWN", "x\r[Service]"];

describe("commentText", () => {
  it("shows line breaks, control characters and backslashes as escapes, and leaves the rest", () => {
    expect(commentText('host "hk-1" (tailnet home-lab)')).toBe('host "hk-1" (tailnet home-lab)');
    expect(commentText("a\nb\rc\td\\e\0f\x85g\u2028h\u2029i")).toBe("a\\nb\\rc\\td\\\\e\\x00f\\x85g\\u2028h\\u2029i");
    for (const t of texts) expect(commentText(t)).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029]|(^|[^\\])(\\\\)*\\$/);
  });

  it("sh runs nothing of a comment", () => {
    const script = texts.map((t) => `# ${commentText(t)}`).join("\n");
    expect(shOutput(`${script}\necho done`)).toBe("done\n");
  });

  it.skipIf(!hasCommand("systemd-analyze"))("systemd reads no directive from a comment", () => {
    const body = texts.map((t) => `# ${commentText(t)}`).join("\n");
    const loaded = loadUnits({ "c.service": `[Unit]\n${body}\nDescription=x\n[Service]\n${body}\nType=oneshot\nExecStart=/bin/true\n` });
    expect(loaded.stderr).toBe("");
    expect(loaded.units.get("c.service")?.commands).toEqual([["/bin/true"]]);
  });

  it.skipIf(!hasCommand("nft") || process.getuid?.() !== 0)("nft loads a ruleset with the comments", () => {
    const body = texts.map((t) => `\t# ${commentText(t)}`).join("\n");
    expect(nftLoad(`table inet t {\n${body}\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n`).error).toBeUndefined();
  });
});

describe("plainWord", () => {
  it("writes plain words and numbers as they are and refuses anything else", () => {
    expect(plainWord("derper")).toBe("derper");
    expect(plainWord(8443)).toBe("8443");
    expect(plainWords(["AF_INET", "AF_INET6"])).toBe("AF_INET AF_INET6");
    for (const bad of ["", "a b", "$x", "50%", "a;b", "'q'", "a\\b", "#", "a\nb"])
      expect(() => plainWord(bad), JSON.stringify(bad)).toThrow("only letters, digits and . _ / : @ + = , - are written unquoted");
    expect(() => plainWord(Number.NaN)).toThrow('cannot write "NaN" into a plain word');
  });
});
