/**
 * Resolved models with hostile text in the spec's strings, built with `resolve` (no validation),
 * as if a string got past the grammar: the output layer must keep its structure on its own.
 */
import type { Construct } from "constructs";
import { resolve, type PreparedTailnet, type TailnetSpec } from "../../model/index.js";
import { DerpRegion, DnsRecords, DockerHost, DynamicDns, HeadscaleServer, VmHost } from "../../constructs/index.js";
import { prepare } from "../../secrets/index.js";

/** A spec changed by `change`, resolved without validation, its certificates issued into `secretsDir`. */
export function hostileModel(spec: TailnetSpec, change: (spec: TailnetSpec) => void, secretsDir: string): PreparedTailnet {
  change(spec);
  const model = resolve(spec);
  return prepare(model, { secretsDir });
}

/** Renames a host everywhere the spec names it. */
export function renameHost(spec: TailnetSpec, from: string, to: string): void {
  for (const h of spec.hosts ?? []) if (h.name === from) h.name = to;
  if (spec.headscale.host === from) spec.headscale.host = to;
  for (const r of spec.derp?.regions ?? []) for (const n of r.nodes) if (n.host === from) n.host = to;
}

/** Everything the Tailnet construct builds from a model (without its validation), in `scope`. */
export function composeTailnet(scope: Construct, model: PreparedTailnet, secretsDir: string): void {
  const hosts = new Map(model.hosts.filter((h) => h.docker).map((h) => [h.name, DockerHost.fromModel(scope, `host-${h.name}`, h)]));
  const hsHost = model.headscale.host === undefined ? undefined : hosts.get(model.headscale.host);
  if (hsHost) new HeadscaleServer(scope, "headscale", { tailnet: model, host: hsHost });
  model.derp.regions.forEach((r, i) => {
    new DerpRegion(scope, `region-${i}`, { tailnet: model, regionId: r.id, hosts: Object.fromEntries(hosts), secretsDir });
  });
  if (model.dns) new DnsRecords(scope, "dns", { zone: model.dns });
  for (const h of model.hosts) {
    const engine = hosts.get(h.name);
    if (h.ddns && engine) new DynamicDns(scope, `ddns-${h.name}`, { tailnet: model, host: engine });
    if (h.vm && (h.publicIpv4 ?? h.publicIpv6)) new VmHost(scope, `vm-${h.name}`, { tailnet: model, hostName: h.name, secretsDir });
  }
}
