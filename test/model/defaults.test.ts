/**
 * The table of defaults (model/defaults.ts) is what the documentation says: every entry equals the
 * `@default` of its field in model/spec.ts, as the generated schema carries it (a value, or a
 * "Default: ..." sentence in the description), so the docs, the schema and resolution cannot
 * drift apart. And resolution uses the table: a spec that leaves every field out resolves to it.
 */
import { describe, expect, it } from "vitest";
import schema from "../../schema/tailnet.schema.json" with { type: "json" };
import { DEFAULTS, loadTailnet, nodeNamed } from "../../model/index.js";
import { minimalSpec } from "../support/specs.js";

type SchemaNode = {
  $ref?: string;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  type?: string | string[];
  default?: unknown;
  description?: string;
};

const definitions = (schema as { definitions: Record<string, SchemaNode> }).definitions;

/** Table sections that are not at the same path in the spec: where their fields are defined. */
const SECTIONS: Record<string, string> = {
  "dnsProvider.cloudflare": "CloudflareDnsProviderSpec",
  "dnsProvider.rfc2136": "Rfc2136DnsProviderSpec",
};

function deref(node: SchemaNode): SchemaNode {
  return node.$ref ? deref(definitions[node.$ref.replace("#/definitions/", "")]!) : node;
}

/** The schema nodes a property may be, through $refs, unions and arrays. */
function variants(node: SchemaNode): SchemaNode[] {
  const n = deref(node);
  if (n.anyOf) return n.anyOf.flatMap(variants);
  if (n.items && [n.type].flat().includes("array") && !n.properties) return [n, ...variants(n.items)];
  return [n];
}

/** The text a node documents as its default, whitespace removed. */
function documented(node: SchemaNode): string | undefined {
  if ("default" in node) return JSON.stringify(node.default);
  const sentence = /Default: ([\s\S]*)$/.exec(node.description ?? "")?.[1];
  return sentence?.replace(/\s+/g, "");
}

/** Whether `text` states `value`: the value itself, or each of an object's values. */
function states(text: string, value: unknown): boolean {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.values(value).every((v) => states(text, v));
  }
  // A sentence names a string default with or without its quotes ("Default: drop").
  return text.includes(JSON.stringify(value)) || (typeof value === "string" && value !== "" && text.includes(value));
}

/** Every leaf of the table with its path; `headscale.listenAddr.terminatesTls` and the like are leaves of one field. */
function leaves(value: unknown, path: string[] = []): [string[], unknown][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [[path, value]];
}

/** What the docs say of the table entry at `path`: the deepest documented field on the way, or a parent's default object. */
function docOf(path: string[]): { field: string; text: string } | undefined {
  const section = Object.keys(SECTIONS).find((s) => path.join(".").startsWith(`${s}.`));
  let nodes = section ? [definitions[SECTIONS[section]!]!] : [definitions.TailnetSpec!];
  const start = section ? section.split(".").length : 0;
  let found: { field: string; text: string } | undefined;
  for (let i = start; i < path.length; i++) {
    const key = path[i]!;
    const children = nodes.flatMap(variants).flatMap((n) => (n.properties?.[key] ? [n.properties[key]!] : []));
    if (children.length === 0) break;
    // A parent whose documented default is an object names this key in it (e.g. tls: { mode: "proxy" }).
    const parentText = nodes
      .flatMap((n) => [n, ...variants(n)])
      .map(documented)
      .find((t) => t?.includes(`${key}:`) || t?.includes(`"${key}":`));
    const own = children
      .flatMap((c) => [c, ...variants(c)])
      .map(documented)
      .find((t) => t !== undefined);
    if (own !== undefined) found = { field: path.slice(0, i + 1).join("."), text: own };
    else if (parentText !== undefined) found = { field: path.slice(0, i).join("."), text: parentText };
    nodes = children;
  }
  return found;
}

describe("the table of defaults", () => {
  const entries = leaves(DEFAULTS);

  it("has an entry for each default resolution fills in, and nothing else", () => {
    expect(entries.length).toBeGreaterThan(80);
  });

  it.each(entries.map(([path, value]) => [path.join("."), value, path] as const))("%s = %j, as the spec's @default says", (_name, value, path) => {
    const doc = docOf(path);
    expect(doc, "no @default documents this entry in model/spec.ts").toBeDefined();
    expect(states(doc!.text, value), `${doc!.field}'s @default is ${doc!.text}`).toBe(true);
  });

  it("is what a spec that gives nothing but the required fields resolves to", () => {
    const tailnet = loadTailnet(minimalSpec());
    const hs = tailnet.headscale;
    expect(tailnet.name).toBe(DEFAULTS.name);
    expect(hs.version.version).toBe(DEFAULTS.headscale.version);
    expect([hs.listenAddr, hs.metricsListenAddr, hs.grpcListenAddr]).toEqual([
      DEFAULTS.headscale.listenAddr.behindProxy,
      DEFAULTS.headscale.metricsListenAddr,
      DEFAULTS.headscale.grpcListenAddr,
    ]);
    expect(hs.prefixes).toEqual({ v4: DEFAULTS.headscale.prefixes.v4, v6: DEFAULTS.headscale.prefixes.v6, allocation: DEFAULTS.headscale.prefixes.allocation });
    expect(hs.dns.nameservers.global).toEqual(DEFAULTS.headscale.dns.nameservers.global);
    expect(hs.ephemeralInactivityTimeout).toBe(DEFAULTS.headscale.ephemeralInactivityTimeout);
    const node = nodeNamed(tailnet, "fra-1")!;
    expect([node.derpPort, node.stunPort, node.canPort80, node.derper.certificateSource]).toEqual([
      DEFAULTS.derp.regions.nodes.derpPort,
      DEFAULTS.derp.regions.nodes.stunPort,
      true,
      "letsencrypt",
    ]);
    expect(tailnet.derp.derperVersion).toBe(DEFAULTS.derp.derper.version);
  });
});
