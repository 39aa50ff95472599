import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type * as YamlModule from "yaml";
import { cloudInitObject, headscaleConfigObject } from "../../render/index.js";
import { BlockLiteral, toYaml } from "../../render/yaml-text.js";
import { prepareTailnet } from "../../secrets/index.js";
import { exampleSpec, largeSpec } from "../support/specs.js";
import { tempSecretsDir } from "../support/synth.js";
import { vmDnsSpec, vmProxySpec, vmSpec } from "../support/vm-specs.js";

const yaml = createRequire(import.meta.url)("yaml") as typeof YamlModule;

/** What the `yaml` package writes for the same value (the emitter this one replaced). */
function reference(value: unknown, header?: string): string {
  const convert = (v: unknown): unknown => {
    if (v instanceof BlockLiteral) {
      const s = new yaml.Scalar(v.text);
      s.type = yaml.Scalar.BLOCK_LITERAL;
      return s;
    }
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, convert(x)]));
    if (Array.isArray(v)) return v.map(convert);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)]));
    return v;
  };
  const doc = new yaml.Document(convert(value), { keepUndefined: false });
  if (header) doc.commentBefore = header;
  return doc.toString({ defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN", lineWidth: 0, indentSeq: true });
}

describe("toYaml", () => {
  const now = new Date("2026-11-01T00:00:00Z");
  // The run's private temp dir (removed after the run), never a fixed path in the system's /tmp.
  const secretsDir = tempSecretsDir();

  it("writes the kit's own files byte for byte as the yaml package does", () => {
    let compared = 0;
    for (const spec of [exampleSpec(), largeSpec(5, 3)]) {
      const tailnet = prepareTailnet(spec, { secretsDir, now });
      expect(toYaml(headscaleConfigObject(tailnet), " header\n two")).toBe(reference(headscaleConfigObject(tailnet), " header\n two"));
      compared++;
    }
    for (const spec of [vmSpec(), vmDnsSpec(), vmProxySpec()]) {
      const tailnet = prepareTailnet(spec, { secretsDir, now });
      for (const host of tailnet.hosts.filter((h) => h.vm)) {
        const object = cloudInitObject(tailnet, host);
        for (const f of object.write_files as { content: unknown }[]) f.content = new BlockLiteral(f.content as string);
        expect(toYaml(object)).toBe(reference(object));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(4);
  });

  it("keeps integer Map keys plain, quotes keys that would read back as something else", () => {
    const value = {
      regions: new Map<number, unknown>([
        [900, { hostname: "a" }],
        [901, null],
      ]),
      true: 1,
      "": 2,
      "1": 4,
      "x-y.z/w": 5,
      "~": 6,
    };
    expect(toYaml(value)).toBe(reference(value));
    expect(toYaml(value)).toContain('\n  900:\n    hostname: "a"\n  901: null\n');
    // Stricter than the yaml package: YAML 1.1 booleans and keys with spaces are quoted too.
    const older = { no: 1, On: 2, "a b": 3 };
    expect(toYaml(older)).toBe('"no": 1\n"On": 2\n"a b": 3\n');
    expect(yaml.parse(toYaml(older), { version: "1.1" })).toEqual(older);
  });

  it("block literals: keep, strip and clip chomping, leading spaces, empty lines", () => {
    for (const text of ["a\nb\n", "a\nb", "a\n\n", "  lead\nx\n", "a\n\nb\n", "x\n  y\n", "single\n", "\n\nx\n", "x\n\n\n"]) {
      const value = { files: [{ path: "/p", content: new BlockLiteral(text) }], after: "v" };
      expect(toYaml(value), JSON.stringify(text)).toBe(reference(value));
      expect(yaml.parse(toYaml(value)).files[0].content, JSON.stringify(text)).toBe(text);
    }
  });

  it("agrees with the yaml package on 3,000 random documents, and reads back to the same value", () => {
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const strings = [
      "",
      "a",
      "hs.example.com",
      "0.0.0.0:443",
      'with "quotes" and \\',
      "über",
      "yes",
      "null",
      "123",
      "-1",
      "#x",
      "a: b",
      "- x",
      "${var}",
      "tab\there",
      "😀",
    ];
    const keys = ["a", "server_url", "listen_addr", "ipv4", "x-y", "b.c", "under_score", "CamelCase"];
    const value = (depth: number): unknown => {
      const kind = random(depth > 3 ? 5 : 9);
      switch (kind) {
        case 0:
          return strings[random(strings.length)];
        case 1:
          return random(100000) - 500;
        case 2:
          return random(2) === 0;
        case 3:
          return null;
        case 4:
          return strings[random(strings.length)] + String(random(10));
        case 5:
        case 6:
          return Object.fromEntries(Array.from({ length: random(4) }, () => [keys[random(keys.length)], value(depth + 1)]));
        case 7:
          return Array.from({ length: random(4) }, () => value(depth + 1));
        default:
          return new Map(Array.from({ length: random(3) }, () => [random(1000), value(depth + 1)]));
      }
    };
    for (let i = 0; i < 3000; i++) {
      const v = { root: value(0), list: [value(1), value(1)] };
      const text = toYaml(v);
      expect(text, `document ${i}`).toBe(reference(v));
      expect(JSON.stringify(yaml.parse(text, { mapAsMap: false })), `document ${i}`).toBe(JSON.stringify(yaml.parse(reference(v), { mapAsMap: false })));
    }
  });

  it("writes text of nothing but line breaks double-quoted, and it reads back", () => {
    for (const text of ["", "\n", "\n\n"]) {
      const value = { content: new BlockLiteral(text) };
      expect(toYaml(value)).toBe(`content: ${JSON.stringify(text)}\n`);
      expect(yaml.parse(toYaml(value)).content).toBe(text);
    }
  });

  it("writes a multi-line string outside a block literal on one line, with escapes, and it reads back", () => {
    const value = { s: "first line\nsecond line that is long enough to be folded by others" };
    expect(toYaml(value)).toBe('s: "first line\\nsecond line that is long enough to be folded by others"\n');
    expect(yaml.parse(toYaml(value))).toEqual(value);
  });

  it("refuses what YAML cannot say the same way", () => {
    expect(() => toYaml({ n: Number.NaN })).toThrow("cannot write NaN to YAML");
    expect(() => toYaml({ f: () => 1 })).toThrow("cannot write a function to YAML");
    expect(() => toYaml(new Map([[1.5, "x"]]))).toThrow("YAML map key 1.5 is not an integer");
  });
});
