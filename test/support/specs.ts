/** Spec fixtures for the tests: the bundled example, and a minimal valid spec to mutate. */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { TailnetSpec } from "../../model/index.js";

/** The bundled example, parsed afresh on every call (tests may mutate it). */
export function exampleSpec(): TailnetSpec {
  return parse(readFileSync(new URL("../../examples/home-lab/tailnet.yaml", import.meta.url), "utf8")) as TailnetSpec;
}

/** A small valid spec: one region of one node, a coordination server behind a proxy. */
export function minimalSpec(): TailnetSpec {
  return {
    headscale: {
      serverUrl: "https://hs.example.com",
      dns: { baseDomain: "tail.example.net" },
    },
    derp: {
      regions: [{ id: 900, code: "fra", name: "Frankfurt", nodes: [{ name: "fra-1", hostname: "derp.example.com" }] }],
    },
  };
}

/** A spec of `regions` regions with `nodesPerRegion` nodes each, for scale tests and benchmarks. */
export function largeSpec(regions: number, nodesPerRegion: number): TailnetSpec {
  const spec = minimalSpec();
  spec.hosts = [];
  spec.derp = { regions: [] };
  for (let r = 0; r < regions; r++) {
    const id = 900 + (r % 100);
    const nodes = [];
    for (let n = 0; n < nodesPerRegion; n++) {
      const name = `r${r}-n${n}`;
      spec.hosts.push({ name, publicIpv4: `198.51.${Math.floor((r * nodesPerRegion + n) / 250)}.${((r * nodesPerRegion + n) % 250) + 1}` });
      nodes.push({ name, host: name, hostname: `${name}.derp.example.com` });
    }
    spec.derp.regions!.push({ id, code: `r${r}`, name: `Region ${r}`, nodes });
  }
  return spec;
}
