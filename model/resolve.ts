/**
 * spec -> resolved model, in two passes. The first turns every element of the spec into a fully
 * defaulted one, each default taken from the table in model/defaults.ts. The second derives what
 * relates elements (mesh peers, addresses from hosts, listeners, firewalls, services, records)
 * from the defaulted elements alone: no step of it reads the spec. Called only on a spec that
 * validate() accepted; `loadTailnet()` in index.ts does both in order.
 */
import { DEFAULTS } from "./defaults.js";
import { defaultDerp, resolveDerp } from "./derp.js";
import { defaultDevices } from "./devices.js";
import { defaultDnsZone, resolveDnsZone } from "./dns-records.js";
import type { ResolveContext, TailnetElements } from "./elements.js";
import { defaultHeadscale, resolveHeadscale } from "./headscale.js";
import { defaultHosts, resolveHosts } from "./hosts.js";
import { defaultPolicy, resolvePolicy, resolveUsers } from "./policy.js";
import type { ResolvedTailnet } from "./resolved.js";
import type { TailnetSpec } from "./spec.js";
import { deriveWarnings } from "./warnings.js";

export { TAILSCALE_PUBLIC_DERP_MAP_URL } from "./headscale.js";

/** The first pass: every element of a spec that validate() accepted, defaulted. */
export function defaultElements(spec: TailnetSpec): TailnetElements {
  const name = spec.name ?? DEFAULTS.name;
  return {
    name,
    headscale: defaultHeadscale(spec),
    derp: defaultDerp(spec),
    hosts: defaultHosts(spec.hosts),
    dns: spec.dns && defaultDnsZone(spec.dns),
    users: resolveUsers(spec, name),
    policy: defaultPolicy(spec, name),
    devices: defaultDevices(spec.devices, name),
  };
}

/** The second pass: what relates the elements, from the elements alone. */
export function resolveElements(elements: TailnetElements): ResolvedTailnet {
  const ctx: ResolveContext = { ...elements, hostsByName: new Map(elements.hosts.map((h) => [h.name, h])) };
  const derp = resolveDerp(ctx);
  const headscale = resolveHeadscale(ctx);
  const hosts = resolveHosts(ctx, headscale, derp);
  const tailnet: Omit<ResolvedTailnet, "warnings"> = {
    name: elements.name,
    headscale,
    derp,
    hosts,
    dns: elements.dns && resolveDnsZone(elements.dns, headscale, derp, hosts),
    users: elements.users,
    policy: elements.policy && resolvePolicy(elements.policy, headscale.prefixes),
    devices: elements.devices,
  };
  return { ...tailnet, warnings: deriveWarnings(tailnet) };
}

/** Resolves a spec that validate() accepted. Regions are ordered by id, hosts by name; nodes keep their order. */
export function resolve(spec: TailnetSpec): ResolvedTailnet {
  return resolveElements(defaultElements(spec));
}
