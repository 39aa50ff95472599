/**
 * loadTailnet is the one way from a spec (object or text) to a resolved model, and prepare() the
 * one way from there to a deployable one.
 */
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadTailnet, SpecFileError, TailnetSpecError } from "../../model/index.js";
import { prepare, prepareTailnet } from "../../secrets/index.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";

describe("loadTailnet", () => {
  it("gives the same model for a spec object, its YAML text and its JSON text", () => {
    const spec = exampleSpec();
    const fromObject = loadTailnet(spec);
    expect(loadTailnet(stringify(spec))).toEqual(fromObject);
    expect(loadTailnet(JSON.stringify(spec))).toEqual(fromObject);
  });

  it("parses text strictly: a duplicated key and a YAML 1.1 boolean are not read as the loose parsers read them", () => {
    expect(() => loadTailnet("name: a\nname: b\n", { source: "dup.yaml" })).toThrow(SpecFileError);
    expect(() => loadTailnet("name: a\nname: b\n", { source: "dup.yaml" })).toThrow(/dup\.yaml is not valid YAML/);
    // `no` stays the string "no" (YAML 1.2 core), which the grammar of a boolean field refuses by name.
    const text = stringify(minimalSpec()).replace("headscale:\n", "headscale:\n  grpcAllowInsecure: no\n");
    expect(() => loadTailnet(text)).toThrow(TailnetSpecError);
    expect(() => loadTailnet(text)).toThrow(/headscale\.grpcAllowInsecure/);
  });

  it("refuses text over the limit before parsing it", () => {
    expect(() => loadTailnet(`name: ${"a".repeat(200)}`, { source: "big.yaml", maxBytes: 100 })).toThrow(/big\.yaml is 206 bytes, more than the 100 bytes/);
  });

  it("lists every problem of a spec at once", () => {
    const error = (() => {
      try {
        loadTailnet({ name: "Bad Name", headscale: { serverUrl: "ftp://x" } });
      } catch (e) {
        return e as TailnetSpecError;
      }
      throw new Error("accepted");
    })();
    expect(error.issues.length).toBeGreaterThan(1);
  });
});

describe("prepare", () => {
  it("fills every kit-issued certificate's pin, and prepareTailnet(text) is loadTailnet then prepare", () => {
    const resolved = loadTailnet(exampleSpec());
    const selfSigned = resolved.derp.regions.flatMap((r) => r.nodes).filter((n) => n.derper.certificateSource === "self-signed");
    expect(selfSigned.length).toBeGreaterThan(0);
    expect(selfSigned.every((n) => n.certName === undefined)).toBe(true);
    const prepared = prepare(resolved);
    for (const n of prepared.derp.regions.flatMap((r) => r.nodes).filter((n) => n.derper.certificateSource === "self-signed")) {
      expect(n.certName).toMatch(/^sha256-raw:[0-9a-f]{64}$/);
    }
    expect(prepareTailnet(stringify(exampleSpec()))).toEqual(prepared);
  });
});
