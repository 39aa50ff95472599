import { describe, expect, it } from "vitest";
import { isMap, isScalar, parse, parseDocument } from "yaml";
import { prepareTailnet as loadTailnet } from "../../secrets/index.js";
import { renderDerpJson, renderDerpYaml } from "../../render/index.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";

type Json = Record<string, any>;

/** The JSON field names of tailcfg.DERPNode / DERPRegion, and their lower-cased YAML spelling. */
const NODE_FIELDS = [
  "Name",
  "RegionID",
  "HostName",
  "CertName",
  "IPv4",
  "IPv6",
  "STUNPort",
  "STUNOnly",
  "DERPPort",
  "InsecureForTests",
  "STUNTestIP",
  "CanPort80",
];
const REGION_FIELDS = ["RegionID", "RegionCode", "RegionName", "Latitude", "Longitude", "Avoid", "NoMeasureNoHome", "Nodes"];

/** Reads derp.yaml back into DERPMap JSON spelling, failing on any key Go would not map. */
function yamlToJsonSpelling(text: string): Json {
  const doc = parse(text) as { regions: Record<string, Json | null> };
  const rename = (o: Json, fields: string[]) =>
    Object.fromEntries(
      Object.entries(o).map(([k, v]) => {
        const field = fields.find((f) => f.toLowerCase() === k);
        if (!field) throw new Error(`derp.yaml key ${k} is no tailcfg field`);
        return [field, v];
      }),
    );
  return {
    Regions: Object.fromEntries(
      Object.entries(doc.regions).map(([id, r]) => [id, r && { ...rename(r, REGION_FIELDS), Nodes: r.nodes.map((n: Json) => rename(n, NODE_FIELDS)) }]),
    ),
  };
}

describe("derp.yaml and derp.json", () => {
  it("describe the same regions and nodes", () => {
    const tailnet = loadTailnet(exampleSpec());
    const json = JSON.parse(renderDerpJson(tailnet)) as Json;
    expect(yamlToJsonSpelling(renderDerpYaml(tailnet))).toEqual(json);
    expect(Object.keys(json.Regions)).toEqual(["901", "902", "903", "904"]);
    expect(json.Regions["901"].Nodes.map((n: Json) => n.Name)).toEqual(["hkg-1", "hkg-2"]);
  });

  it("derp.json uses Tailscale's spelling: string region keys, PascalCase, Go's omitempty", () => {
    const json = JSON.parse(renderDerpJson(loadTailnet(exampleSpec()))) as Json;
    expect(json.Regions["903"]).toEqual({
      RegionID: 903,
      RegionCode: "home",
      RegionName: "Home",
      Nodes: [{ Name: "home-1", RegionID: 903, HostName: "derp-home.example.com", STUNPort: 3478, DERPPort: 8443 }],
    });
    expect(json.Regions["904"].Nodes[0]).toEqual({
      Name: "edge-1",
      RegionID: 904,
      HostName: "192.0.2.50",
      CertName: expect.stringMatching(/^sha256-raw:[0-9a-f]{64}$/),
      IPv4: "192.0.2.50",
      STUNPort: 3478,
      DERPPort: 443,
      CanPort80: true,
    });
  });

  it("derp.yaml region keys are unquoted integers and ints/bools are plain, strings quoted", () => {
    const text = renderDerpYaml(loadTailnet(exampleSpec()));
    const doc = parseDocument(text);
    const regions = doc.get("regions");
    expect(isMap(regions)).toBe(true);
    if (!isMap(regions)) return;
    for (const pair of regions.items) {
      expect(isScalar(pair.key) && typeof pair.key.value).toBe("number");
    }
    expect(text).toMatch(/\n {2}901:\n/);
    expect(text).toContain("\n        stunport: 3478\n");
    expect(text).toContain("\n        canport80: true\n");
    expect(text).toContain('\n        hostname: "derp-hk1.example.com"\n');
    expect(text).not.toMatch(/"\d+":/);
  });

  it("derp.yaml removes excluded public regions with null; derp.json has no base map to remove from", () => {
    const spec = exampleSpec();
    spec.derp!.tailscaleRegions = { keepExcept: [2, 1] };
    const tailnet = loadTailnet(spec);
    const yaml = renderDerpYaml(tailnet);
    expect(yaml).toMatch(/\n {2}1: null\n {2}2: null\n {2}901:/);
    expect(Object.keys((JSON.parse(renderDerpJson(tailnet)) as Json).Regions)).toEqual(["901", "902", "903", "904"]);
  });

  it("flags only what is set: stunOnly, insecureForTests, noMeasureNoHome, STUN off", () => {
    const spec = minimalSpec();
    const region = spec.derp!.regions![0]!;
    region.noMeasureNoHome = true;
    region.nodes.push({ name: "fra-stun", hostname: "stun.example.com", stunOnly: true });
    // (A lab node in a region of its own: a meshed region cannot rely on insecureForTests.)
    spec.derp!.regions!.push({
      id: 901,
      code: "lab",
      name: "Lab",
      nodes: [{ name: "fra-lab", hostname: "192.0.2.7", insecureForTests: true, stunPort: -1, derpPort: 8443 }],
    });
    const json = JSON.parse(renderDerpJson(loadTailnet(spec))) as Json;
    const r = json.Regions["900"];
    expect(r.NoMeasureNoHome).toBe(true);
    expect(r.Nodes[1]).toEqual({
      Name: "fra-stun",
      RegionID: 900,
      HostName: "stun.example.com",
      STUNPort: 3478,
      STUNOnly: true,
      DERPPort: 443,
      CanPort80: true,
    });
    expect(json.Regions["901"].Nodes[0]).toEqual({
      Name: "fra-lab",
      RegionID: 901,
      HostName: "192.0.2.7",
      IPv4: "192.0.2.7",
      STUNPort: -1,
      DERPPort: 8443,
      InsecureForTests: true,
    });
  });

  it("embeds Terraform tokens unchanged for Terraform to substitute", () => {
    const spec = minimalSpec();
    spec.hosts = [{ name: "vm", publicIpv4: "${TfToken[TOKEN.1]}" }];
    spec.derp!.regions![0]!.nodes[0]!.host = "vm";
    const tailnet = loadTailnet(spec);
    expect(renderDerpYaml(tailnet)).toContain('ipv4: "${TfToken[TOKEN.1]}"');
    expect(JSON.parse(renderDerpJson(tailnet)).Regions["900"].Nodes[0].IPv4).toBe("${TfToken[TOKEN.1]}");
  });

  it("is byte-identical whatever order the regions are declared in", () => {
    const a = exampleSpec();
    const b = exampleSpec();
    b.derp!.regions!.reverse();
    b.hosts!.reverse();
    expect(renderDerpYaml(loadTailnet(a))).toBe(renderDerpYaml(loadTailnet(b)));
    expect(renderDerpJson(loadTailnet(a))).toBe(renderDerpJson(loadTailnet(b)));
  });
});
