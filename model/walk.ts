/**
 * The common walks over a resolved model: every DERP node, a node by name, the nodes a host runs,
 * the host a node runs on, what a host's services open. A model is immutable, so each index is
 * built once per model (the first time it is asked for) and a tailnet of hundreds of hosts stays
 * linear.
 */
import type { ResolvedDerpNode, ResolvedDerpRegion, ResolvedHost, ResolvedListener, ResolvedTailnet } from "./resolved.js";

/** The parts of a model the walks read. */
type Walked = { readonly derp: Pick<ResolvedTailnet["derp"], "regions"> };

interface NodeIndex {
  readonly all: readonly ResolvedDerpNode[];
  readonly byName: ReadonlyMap<string, ResolvedDerpNode>;
  readonly regionOf: ReadonlyMap<ResolvedDerpNode, ResolvedDerpRegion>;
  readonly byHost: ReadonlyMap<string, readonly ResolvedDerpNode[]>;
}

const nodeIndexes = new WeakMap<readonly ResolvedDerpRegion[], NodeIndex>();

function nodeIndex(tailnet: Walked): NodeIndex {
  const regions = tailnet.derp.regions;
  let index = nodeIndexes.get(regions);
  if (!index) {
    const all: ResolvedDerpNode[] = [];
    const regionOf = new Map<ResolvedDerpNode, ResolvedDerpRegion>();
    const byHost = new Map<string, ResolvedDerpNode[]>();
    for (const region of regions) {
      for (const node of region.nodes) {
        all.push(node);
        regionOf.set(node, region);
        if (node.host === undefined) continue;
        const list = byHost.get(node.host);
        if (list) list.push(node);
        else byHost.set(node.host, [node]);
      }
    }
    index = { all, byName: new Map(all.map((n) => [n.name, n])), regionOf, byHost };
    nodeIndexes.set(regions, index);
  }
  return index;
}

/** Every DERP node of the model, region by region (regions by id), each region's nodes in spec order. */
export function allNodes(tailnet: Walked): readonly ResolvedDerpNode[] {
  return nodeIndex(tailnet).all;
}

/** The DERP node named `name`, if the model has one. */
export function nodeNamed(tailnet: Walked, name: string): ResolvedDerpNode | undefined {
  return nodeIndex(tailnet).byName.get(name);
}

/** The region a node of the model belongs to. */
export function regionOfNode(tailnet: Walked, node: ResolvedDerpNode): ResolvedDerpRegion {
  const region = nodeIndex(tailnet).regionOf.get(node);
  if (!region) throw new Error(`cdktf-tailnet: DERP node ${node.name} is not a node of this model`);
  return region;
}

/** The DERP nodes a host runs, in map order. */
export function nodesOfHost(tailnet: Walked, host: ResolvedHost | string): readonly ResolvedDerpNode[] {
  return nodeIndex(tailnet).byHost.get(typeof host === "string" ? host : host.name) ?? [];
}

/** The host named `name`, if the model has one. */
export function hostNamed(tailnet: Pick<ResolvedTailnet, "hosts">, name: string | undefined): ResolvedHost | undefined {
  return name === undefined ? undefined : tailnet.hosts.find((h) => h.name === name);
}

/** Every socket a host's services open, with the service that opens it (`headscale`, `derper <node>`). */
export function listenerOwners(tailnet: Walked & Pick<ResolvedTailnet, "headscale">, host: ResolvedHost): [ResolvedListener, string][] {
  return [
    ...(host.runs.headscale ? tailnet.headscale.listeners.map((l) => [l, "headscale"] as [ResolvedListener, string]) : []),
    ...nodesOfHost(tailnet, host).flatMap((n) => n.derper.listeners.map((l) => [l, `derper ${n.name}`] as [ResolvedListener, string])),
  ];
}
