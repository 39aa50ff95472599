/** escape/path.ts: identifiers become file names that stay in their folder and never meet; joins never leave the root. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileNamePart, joinInside } from "../../../render/escape/path.js";
import { hostileStrings } from "../../support/hostile-text.js";

describe("fileNamePart", () => {
  it("keeps ordinary names and percent-encodes /, %, control characters and a leading dot", () => {
    expect(fileNamePart("hkg-1")).toBe("hkg-1");
    expect(fileNamePart("derp1.example")).toBe("derp1.example");
    expect(fileNamePart("../x")).toBe("%2E.%2Fx");
    expect(fileNamePart("..")).toBe("%2E.");
    expect(fileNamePart("a%2Fb")).toBe("a%252Fb");
    expect(fileNamePart("a\nb")).toBe("a%0Ab");
    expect(() => fileNamePart("")).toThrow("a file name cannot be empty");
  });

  it("every name is one path component, never . or .., and distinct ids give distinct names", () => {
    const ids = [...new Set([...hostileStrings(2000, 81, 5), ".", "..", "...", "%2E.", "%", "%25"])];
    const names = ids.map(fileNamePart);
    for (const n of names) {
      expect(n).not.toContain("/");
      expect(n).not.toMatch(/^\.\.?$/);
      expect(join("/root", n).startsWith("/root/")).toBe(true);
    }
    expect(new Set(names).size).toBe(ids.length);
  });
});

describe("joinInside", () => {
  it("joins inside the root and refuses any way out", () => {
    expect(joinInside("/s/home-lab", "derp-mesh", "hkg.key")).toBe("/s/home-lab/derp-mesh/hkg.key");
    expect(joinInside("/s", "a/./b/../c")).toBe("/s/a/c");
    expect(() => joinInside("/s/home-lab", "derp-../../x.key")).not.toThrow(); // a name, not a way up
    expect(() => joinInside("/s/home-lab", "../x")).toThrow('cdktf-tailnet: cannot write "../x" into a path inside /s/home-lab: it leads out of the directory');
    expect(() => joinInside("/s", "a/../../b")).toThrow("it leads out of the directory");
    expect(() => joinInside("/s", ".")).toThrow("it leads out of the directory");
    expect(() => joinInside("/s", "/etc/passwd")).toThrow("it is an absolute path");
    expect(() => joinInside("/s", "a\0b")).toThrow("a path cannot hold a NUL byte");
  });
});
