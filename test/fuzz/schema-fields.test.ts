/**
 * The schema walk the fuzzer relies on: every string field is found (properties, array items,
 * map values and keys, every branch of a union), its instances in a spec are found under the same
 * pattern, and a value can be put in place (a map key renamed in place).
 */
import { describe, expect, it } from "vitest";
import schemaJson from "../../schema/tailnet.schema.json" with { type: "json" };
import { validate } from "../../model/index.js";
import { chooseTargets, namesField } from "./fuzzer.js";
import { variantValues } from "./payloads.js";
import { issuePathOf, stringFieldPatterns, stringFieldsOf, withValueAt, type Schema } from "./schema-fields.js";

const tiny: Schema = {
  $ref: "#/definitions/Root",
  definitions: {
    Root: {
      type: "object",
      properties: {
        name: { type: "string" },
        tags: { type: "array", items: { type: "string" } },
        groups: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
        provider: { anyOf: [{ type: "string", const: "cloudflare" }, { $ref: "#/definitions/A" }, { $ref: "#/definitions/B" }] },
        source: { anyOf: [{ type: "string", const: "off" }, { $ref: "#/definitions/Url" }, { $ref: "#/definitions/Iface" }] },
        prefix: { type: ["string", "null"] },
        port: { type: "number" },
      },
    },
    A: { type: "object", properties: { type: { type: "string", const: "a" }, zone: { type: "string" } }, required: ["type"] },
    B: { type: "object", properties: { type: { type: "string", const: "b" }, server: { type: "string" } }, required: ["type"] },
    Url: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
    Iface: { type: "object", properties: { interface: { type: "string" } }, required: ["interface"] },
  },
};

describe("the schema's string fields", () => {
  it("are every property, item, map value and key, and every union branch's, each once", () => {
    expect(stringFieldPatterns(tiny)).toEqual([
      "groups.*[]",
      "groups{key}",
      "name",
      "prefix",
      "provider",
      "provider{type=a}.type",
      "provider{type=a}.zone",
      "provider{type=b}.server",
      "provider{type=b}.type",
      "source",
      "source(Iface).interface",
      "source(Url).url",
      "tags[]",
    ]);
  });

  it("are found in a spec under the same patterns, with the steps to them", () => {
    const spec = {
      name: "n",
      tags: ["t"],
      groups: { "group:a": ["alice"] },
      provider: { type: "b", server: "ns1" },
      source: { interface: "eth0" },
      prefix: null,
      port: 1,
    };
    expect(stringFieldsOf(tiny, spec).map((f) => [f.pattern, issuePathOf(f.steps), f.value])).toEqual([
      ["name", "name", "n"],
      ["tags[]", "tags[0]", "t"],
      ["groups{key}", 'groups["group:a"]', "group:a"],
      ["groups.*[]", 'groups["group:a"][0]', "alice"],
      ["provider{type=b}.type", "provider.type", "b"],
      ["provider{type=b}.server", "provider.server", "ns1"],
      ["source(Iface).interface", "source.interface", "eth0"],
    ]);
    expect(stringFieldsOf(tiny, { provider: "cloudflare", source: "off", prefix: "10.0.0.0/8" }).map((f) => f.pattern)).toEqual([
      "provider",
      "source",
      "prefix",
    ]);
  });

  it("take a new value in place, a map key renamed where it was", () => {
    const spec = { groups: { a: ["x"], b: ["y"] } };
    const [, keyB] = stringFieldsOf(tiny, spec).filter((f) => f.pattern === "groups{key}");
    const renamed = withValueAt(spec, keyB!.steps, "b\nc");
    expect(Object.keys(renamed.groups)).toEqual(["a", "b\nc"]);
    expect(spec.groups).toEqual({ a: ["x"], b: ["y"] });
  });

  it("an issue names a field when its path is the field's or inside it", () => {
    const issue = (path: string) => ({ path, message: "", fix: "" });
    expect(namesField([issue("hosts[1].name")], "hosts[1].name")).toBe(true);
    expect(namesField([issue("hosts[1].vm.derper.url")], "hosts[1].vm")).toBe(true);
    expect(namesField([issue("hosts[1].nameX")], "hosts[1].name")).toBe(false);
    expect(namesField([issue("hosts[10]")], "hosts[1]")).toBe(false);
  });

  it("a whole payload and an embedded one per payload, none equal to the valid value", () => {
    const values = variantValues("home-1");
    expect(values.find((v) => v.payload.name === "LF" && v.placement === "embedded")?.value).toBe("home-1\nx");
    expect(values.map((v) => v.value)).not.toContain("home-1");
    expect(new Set(values.map((v) => v.value)).size).toBe(values.length);
  });
});

describe("the real schema and the fixtures", () => {
  it("the walk knows the real schema's unions, and the structural check agrees with the steps it finds", () => {
    const patterns = stringFieldPatterns(schemaJson as unknown as Schema);
    expect(patterns).toContain("derp.regions[].nodes[].certificate{mode=dns-01}.provider{type=rfc2136}.tsigKeyName");
    expect(patterns).toContain("hosts[].ddns.ipv4(DdnsUrlSource).url");
    expect(patterns).toContain("policy.groups{key}");
    // A wrong type put at the steps of a field is reported at that field's issue path.
    const { targets } = chooseTargets(
      schemaJson as unknown as Schema,
      [
        [
          "min",
          { headscale: { serverUrl: "https://hs.example.com", oidc: { issuer: "https://a", clientId: "c", clientSecretPath: "/p", extraParams: { k: "v" } } } },
        ],
      ],
      1,
    );
    for (const t of targets) {
      const broken = withValueAt(
        { headscale: { serverUrl: "https://hs.example.com", oidc: { issuer: "https://a", clientId: "c", clientSecretPath: "/p", extraParams: { k: "v" } } } },
        t.field.steps,
        7 as unknown as string,
      );
      const r = validate(broken);
      if (typeof t.field.steps.at(-1) === "object") continue; // a key cannot be a number in JSON
      expect(!r.ok && namesField(r.issues, t.path), t.field.pattern).toBe(true);
    }
  });
});
