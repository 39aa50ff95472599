/**
 * The DERP map as Tailscale's `tailcfg.DERPMap` describes it, built once from the resolved model.
 * derp.json (Tailscale's JSON spelling) and derp.yaml (headscale's YAML spelling) are two
 * serialisations of this one value, so they cannot disagree.
 *
 * Field order follows the Go structs; fields Go would omit when empty (`omitempty`) are omitted.
 */
import type { ResolvedDerpNode, ResolvedDerpRegion, PreparedTailnet } from "../model/index.js";

/** `tailcfg.DERPNode`, with Go's field names. */
export interface DerpMapNode {
  Name: string;
  RegionID: number;
  HostName: string;
  CertName?: string;
  IPv4?: string;
  IPv6?: string;
  STUNPort: number;
  STUNOnly?: boolean;
  DERPPort: number;
  InsecureForTests?: boolean;
  CanPort80?: boolean;
}

/** `tailcfg.DERPRegion`, with Go's field names. */
export interface DerpMapRegion {
  RegionID: number;
  RegionCode: string;
  RegionName: string;
  NoMeasureNoHome?: boolean;
  Nodes: DerpMapNode[];
}

/** Regions in id order; `null` removes a region merged in from elsewhere (headscale 0.27+). */
export interface DerpMap {
  Regions: Array<[number, DerpMapRegion | null]>;
}

function node(n: ResolvedDerpNode): DerpMapNode {
  if (n.derper.certificateSource === "self-signed" && n.certName === undefined) {
    throw new Error(
      `DERP node ${n.name} has a kit-issued self-signed certificate that was not issued yet, so its pin is unknown; prepare the model first: prepare(tailnet) or prepareTailnet(spec) from cdktf-tailnet/secrets`,
    );
  }
  return {
    Name: n.name,
    RegionID: n.regionId,
    HostName: n.hostname,
    ...(n.certName !== undefined && { CertName: n.certName }),
    ...(n.ipv4 !== undefined && { IPv4: n.ipv4 }),
    ...(n.ipv6 !== undefined && { IPv6: n.ipv6 }),
    STUNPort: n.stunPort,
    ...(n.stunOnly && { STUNOnly: true }),
    DERPPort: n.derpPort,
    ...(n.insecureForTests && { InsecureForTests: true }),
    ...(n.canPort80 && { CanPort80: true }),
  };
}

function region(r: ResolvedDerpRegion): DerpMapRegion {
  return {
    RegionID: r.id,
    RegionCode: r.code,
    RegionName: r.name,
    ...(r.noMeasureNoHome && { NoMeasureNoHome: true }),
    Nodes: r.nodes.map(node),
  };
}

/**
 * The self-hosted regions, plus `null` for each public Tailscale region the model excludes.
 * With `includeRemovals: false` (derp.json, which has no base map to remove from) only the
 * self-hosted regions are listed.
 */
export function buildDerpMap(tailnet: PreparedTailnet, options: { includeRemovals: boolean }): DerpMap {
  const removals: Array<[number, null]> = options.includeRemovals ? tailnet.derp.excludedTailscaleRegions.map((id) => [id, null]) : [];
  const regions: Array<[number, DerpMapRegion]> = tailnet.derp.regions.map((r) => [r.id, region(r)]);
  return { Regions: [...removals, ...regions].sort((a, b) => a[0] - b[0]) };
}
