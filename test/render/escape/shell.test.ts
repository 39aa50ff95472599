/**
 * escape/shell.ts: every value reads back through a real POSIX sh (dash) as exactly itself, as a
 * word and inside double quotes; settings files (render/env-file.ts) read back the same way and
 * their comments stay comments.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderEnvFile } from "../../../render/env-file.js";
import { shInDoubleQuotes, shSingleQuote, shellQuote, shellWords } from "../../../render/escape/shell.js";
import { hostileStrings } from "../../support/hostile-text.js";
import { shOutput, shWords } from "../../support/read-back.js";
import { scratchDir } from "../../support/scratch.js";

const values = [...hostileStrings(400, 11), "", "-n", "-e", "it's", "a b", "*", "~root", "$(touch PWN)", "`id`", "a=b", "home-1;id>PWN;true"];

describe("shellQuote / shSingleQuote", () => {
  it("leaves plain words as they are and single-quotes the rest", () => {
    expect(shellQuote("/usr/local/bin/derper")).toBe("/usr/local/bin/derper");
    expect(shellQuote("--login-server=https://hs.example.com:443")).toBe("--login-server=https://hs.example.com:443");
    expect(shellQuote("home-1;id>PWN;true")).toBe("'home-1;id>PWN;true'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("")).toBe("''");
    expect(shSingleQuote("plain")).toBe("'plain'");
  });

  it("every value reads back through dash as one word, itself", () => {
    expect(shWords(shellWords(values))).toEqual(values);
    expect(shWords(values.map(shSingleQuote).join(" "))).toEqual(values);
  });

  it("inside double quotes, every value reads back as itself", () => {
    expect(shWords(values.map((v) => `"${shInDoubleQuotes(v)}"`).join(" "))).toEqual(values);
  });

  it("refuses a NUL byte, which sh cannot hold", () => {
    expect(() => shellQuote("a\0b")).toThrow('cdktf-tailnet: cannot write "a\\u0000b" into a shell word: sh cannot hold a NUL byte');
    expect(() => shInDoubleQuotes("\0")).toThrow("sh cannot hold a NUL byte");
  });
});

describe("settings files (render/env-file.ts)", () => {
  it("source back to the same values, and no comment runs a command", () => {
    const dir = scratchDir("cdktf-tailnet-env-");
    const some = values.slice(0, 120);
    const file = join(dir, "settings.env");
    writeFileSync(
      file,
      renderEnvFile(
        [`node ${some[3]}\ntouch ${dir}/PWN`, ...some.slice(0, 20)],
        some.map((v, i) => [`V${i}`, v]),
      ),
    );
    const out = shOutput(`cd ${shellQuote(dir)} && set -a && . ./settings.env && printf '%s\\0' ${some.map((_, i) => `"$V${i}"`).join(" ")} && ls`);
    const parts = out.split("\0");
    expect(parts.slice(0, some.length)).toEqual(some);
    expect(parts.at(-1)).toBe("settings.env\n"); // nothing else was created
  });
});
