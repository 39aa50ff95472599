/**
 * What every feature's checks receive: one context per validation. `check...(ctx: CheckContext)`
 * runs on the structurally sanitized spec (a value of the wrong type was already reported and is
 * absent, so every check tolerates missing fields); `check...Model(ctx: ModelCheckContext)` runs
 * on the resolved model, for rules that need what resolve derived (the sockets each host opens).
 */
import type { IssueList } from "./issues.js";
import type { ResolvedTailnet } from "./resolved.js";
import type { DerpNodeSpec, DerpRegionSpec, HostSpec, TailnetSpec } from "./spec.js";
import type { HeadscaleVersion } from "./versions.js";

/** A spec element that survived the structural check, with its index in the spec. */
export type Present<T> = readonly [T, number];

/** A DERP node of the spec with its region and its path (`derp.regions[i].nodes[j]`). */
export interface PlacedNode {
  readonly node: DerpNodeSpec;
  readonly region: DerpRegionSpec;
  readonly path: string;
}

/** The context of the checks on the spec. */
export interface CheckContext {
  /** The structurally sanitized spec. */
  readonly spec: TailnetSpec;
  /** The spec as given (to tell a section the structural check dropped from one that is missing). */
  readonly input: unknown;
  readonly issues: IssueList;
  /** Legal but risky choices, reported without refusing the spec. */
  readonly warnings: IssueList;
  /** The target version; undefined when the spec names an unsupported one (already reported). */
  readonly version: HeadscaleVersion | undefined;
  /** The hosts that survived the structural check. */
  readonly hosts: readonly Present<HostSpec>[];
  readonly hostNames: ReadonlySet<string>;
  /** Every DERP node that survived the structural check, region by region. */
  readonly nodes: readonly PlacedNode[];
}

/** The context of the checks on the resolved model. */
export interface ModelCheckContext {
  readonly tailnet: ResolvedTailnet;
  readonly issues: IssueList;
  readonly warnings: IssueList;
}

/** Items of an array that survived the structural check, with their original index. */
export function present<T>(items: readonly (T | undefined)[] | undefined): Present<T>[] {
  return (items ?? []).flatMap((item, i) => (item === undefined ? [] : [[item, i] as const]));
}

/** The entries whose key an earlier entry has already (entries without a key are skipped). */
export function duplicates<T>(entries: readonly Present<T>[], key: (t: T) => unknown): Present<T>[] {
  const seen = new Set<unknown>();
  return entries.filter(([t]) => {
    const k = key(t);
    if (k === undefined) return false;
    if (seen.has(k)) return true;
    seen.add(k);
    return false;
  });
}

/** Every DERP node of a (sanitized) spec with its region and path. */
export function placedNodes(spec: TailnetSpec): PlacedNode[] {
  return present(spec.derp?.regions).flatMap(([region, i]) =>
    present(region.nodes).map(([node, j]) => ({ node, region, path: `derp.regions[${i}].nodes[${j}]` })),
  );
}

/** The context of a validation of `spec` (sanitized) given as `input`. */
export function checkContext(spec: TailnetSpec, input: unknown, issues: IssueList, warnings: IssueList, version: HeadscaleVersion | undefined): CheckContext {
  const hosts = present(spec.hosts);
  return {
    spec,
    input,
    issues,
    warnings,
    version,
    hosts,
    hostNames: new Set(hosts.map(([h]) => h.name).filter((n): n is string => n !== undefined)),
    nodes: placedNodes(spec),
  };
}

/** A reference to a host (`headscale.host`, a node's `host`) must name one of `hosts`. */
export function checkHostRef(ctx: CheckContext, path: string, name: string | undefined): void {
  if (name === undefined || ctx.hostNames.has(name)) return;
  const known = [...ctx.hostNames];
  ctx.issues.add(
    path,
    `names host ${JSON.stringify(name)}, which is not in hosts`,
    known.length ? `use one of ${known.map((h) => JSON.stringify(h)).join(", ")}, or add the host to hosts` : "add the host to hosts",
  );
}
