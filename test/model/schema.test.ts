import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
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
});
