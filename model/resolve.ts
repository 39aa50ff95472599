/**
 * spec -> resolved model, in two passes. The first turns every element of the spec into a fully
 * defaulted one, each default taken from the table in model/defaults.ts. The second derives what
 * relates elements (mesh peers, addresses from hosts, listeners, firewalls, services, records)
 * from the defaulted elements alone: no step of it reads the spec. Called only on a spec that
 * validate() accepted; `loadTailnet()` in index.ts does both in order.
 */
import { defaultName } from "./defaults.js";
import { defaultDerp, resolveDerp } from "./derp.js";
import { defaultDevices } from "./devices.js";
import { defaultDnsZone, resolveDnsZone } from "./dns-records.js";
import type { ResolveContext, TailnetElements } from "./elements.js";
import { defaultHeadscale, resolveHeadscale } from "./headscale.js";
import { defaultHosts, resolveHosts } from "./hosts.js";
import { defaultPolicy, defaultUsers, resolvePolicy } from "./policy.js";
import type { ResolvedTailnet } from "./resolved.js";
import type { TailnetSpec } from "./spec.js";
import { deriveWarnings } from "./warnings.js";

export { TAILSCALE_PUBLIC_DERP_MAP_URL } from "./headscale.js";

/** The first pass: every element of a spec that validate() accepted, defaulted; each feature's `default...(spec)`. */
export function defaultElements(spec: TailnetSpec): TailnetElements {
  return {
    name: defaultName(spec),
    headscale: defaultHeadscale(spec),
    derp: defaultDerp(spec),
    hosts: defaultHosts(spec),
    dns: defaultDnsZone(spec),
    users: defaultUsers(spec),
    policy: defaultPolicy(spec),
    devices: defaultDevices(spec),
  };
}

/**
 * The second pass: what relates the elements, from the elements alone; each feature's
 * `resolve...(ctx)`, in an order where what a feature reads is resolved before it.
 */
export function resolveElements(elements: TailnetElements): ResolvedTailnet {
  const ctx: ResolveContext = { ...elements, hostsByName: new Map(elements.hosts.map((h) => [h.name, h])) };
  const derp = resolveDerp(ctx);
  const headscale = resolveHeadscale(ctx);
  const hosts = resolveHosts({ ...ctx, resolved: { headscale, derp } });
  const tailnet: Omit<ResolvedTailnet, "warnings"> = {
    name: elements.name,
    headscale,
    derp,
    hosts,
    dns: resolveDnsZone({ ...ctx, resolved: { headscale, derp, hosts } }),
    users: elements.users,
    policy: resolvePolicy({ ...ctx, resolved: { headscale } }),
    devices: elements.devices,
  };
  return { ...tailnet, warnings: deriveWarnings(tailnet) };
}

/** Resolves a spec that validate() accepted. Regions are ordered by id, hosts by name; nodes keep their order. */
export function resolve(spec: TailnetSpec): ResolvedTailnet {
  return resolveElements(defaultElements(spec));
}
