import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GRAMMARS, fieldGrammar } from "../../model/grammar.js";
import { generateSpecReference, generateTailnetSchema } from "../../scripts/schema-source.mjs";

describe("schema/tailnet.schema.json", () => {
  const committed = readFileSync(new URL("../../schema/tailnet.schema.json", import.meta.url), "utf8");

  it("is generated from model/spec.ts and up to date (run `npm run schema` after changing the spec)", () => {
    expect(generateTailnetSchema()).toBe(committed);
  });

  it("docs/spec-reference.md is generated from the same schema and up to date", () => {
    const reference = readFileSync(new URL("../../docs/spec-reference.md", import.meta.url), "utf8");
    expect(generateSpecReference(committed)).toBe(reference);
    expect(reference).toContain("| `derpPort` | number |  | `443` |");
  });

  it("carries the TSDoc: descriptions, value defaults, and sentence defaults moved into descriptions", () => {
    const schema = JSON.parse(committed);
    const node = schema.definitions.DerpNodeSpec.properties;
    expect(node.derpPort.default).toBe(443);
    expect(node.stunPort.default).toBe(3478);
    expect(node.hostname.description).toMatch(/^The name clients dial/);
    expect(node.ipv4.default).toBeUndefined();
    expect(node.ipv4.description).toContain("Default: the host's publicIpv4");
    expect(schema.definitions.TailnetSpec.additionalProperties).toBe(false);
  });

  it("gives every string, map key included, the pattern and maxLength of its grammar", () => {
    const schema = JSON.parse(committed);
    const strings: { where: string; node: any }[] = [];
    const walk = (node: any, where: string): void => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => {
          walk(n, `${where}[${i}]`);
        });
        return;
      }
      if (node === null || typeof node !== "object") return;
      if ([node.type].flat().includes("string") && node.const === undefined && !node.enum) strings.push({ where, node });
      if (node.type === "object" && typeof node.additionalProperties === "object") strings.push({ where: `${where} keys`, node: node.propertyNames });
      for (const [key, value] of Object.entries(node)) if (key !== "propertyNames") walk(value, `${where}.${key}`);
    };
    walk(schema.definitions, "");
    expect(strings.length).toBeGreaterThan(100);
    for (const { where, node } of strings) {
      const field = fieldGrammar(node.grammar);
      expect({ where, pattern: node.pattern, maxLength: node.maxLength }).toEqual({ where, pattern: field.pattern, maxLength: field.maxLength });
    }
    const name = schema.definitions.DerpNodeSpec.properties.name;
    expect(name).toMatchObject({ grammar: "identifier", pattern: "^(?:[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?)$", maxLength: 63 });
    expect(name.description).toContain("Grammar: an identifier (a lower-case letter, then lower-case letters, digits and dashes");
    expect(schema.definitions.PolicySpec.properties.groups.propertyNames.grammar).toBe("groupName");
  });

  it("the spec reference names each field's grammar and states every grammar", () => {
    const reference = readFileSync(new URL("../../docs/spec-reference.md", import.meta.url), "utf8");
    expect(reference).toContain("| `name` | string ([identifier](#identifier)) | yes |  | Node name, unique across the whole map");
    expect(reference).toContain("| `groups` | map of string[] (keys: [groupName](#groupname); values: [policyAlias](#policyalias)) |");
    for (const g of Object.values(GRAMMARS)) expect(reference).toContain(`### ${g.name}\n\n`);
    expect(reference).toContain("Pattern: `^(?:[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?)$`");
  });
});
