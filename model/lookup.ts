/**
 * Lookups over a resolved model that many checks and renderers need per host, indexed once per
 * model (a model is immutable), so a tailnet of hundreds of hosts stays linear.
 */
import type { ResolvedDerpNode, ResolvedHost, ResolvedListener, ResolvedTailnet } from "./resolved.js";

const nodeIndexes = new WeakMap<ResolvedTailnet, Map<string, ResolvedDerpNode>>();

function nodeIndex(tailnet: ResolvedTailnet): Map<string, ResolvedDerpNode> {
  let index = nodeIndexes.get(tailnet);
  if (!index) {
    index = new Map(tailnet.derp.regions.flatMap((r) => r.nodes).map((n) => [n.name, n]));
    nodeIndexes.set(tailnet, index);
  }
  return index;
}

/** The DERP nodes a host runs, in map order. */
export function nodesOfHost(tailnet: ResolvedTailnet, host: ResolvedHost): ResolvedDerpNode[] {
  const index = nodeIndex(tailnet);
  return host.runs.derpNodes.map((name) => index.get(name)!);
}

/** Every socket a host's services open, with the service that opens it (`headscale`, `derper <node>`). */
export function listenerOwners(tailnet: ResolvedTailnet, host: ResolvedHost): [ResolvedListener, string][] {
  return [
    ...(host.runs.headscale ? tailnet.headscale.listeners.map((l) => [l, "headscale"] as [ResolvedListener, string]) : []),
    ...nodesOfHost(tailnet, host).flatMap((n) => n.derper.listeners.map((l) => [l, `derper ${n.name}`] as [ResolvedListener, string])),
  ];
}
