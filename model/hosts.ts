/**
 * The machines: each host defaulted (the first pass), then what it runs (headscale, DERP nodes),
 * every socket those open, its firewall, its VM target and its DNS updater, from the resolved
 * services (the second pass). Also the rules of `hosts` and the one that needs the resolved
 * model: no two services of a host open one port.
 */
import { checkAddress } from "./addresses.js";
import { duplicates, type CheckContext, type ModelCheckContext } from "./context.js";
import { defaultDdns, resolveDdns, serviceNames } from "./ddns.js";
import { DEFAULTS } from "./defaults.js";
import type { HostElement, ResolvedSoFar } from "./elements.js";
import { resolveFirewall, type HostServices } from "./firewall.js";
import type { ResolvedHost } from "./resolved.js";
import type { HostSpec, TailnetSpec } from "./spec.js";
import { checkSshOptions } from "./ssh-options.js";
import { defaultVm, resolveVm } from "./vm.js";
import { listenerOwners, nodesOfHost } from "./walk.js";

// ---------------------------------------------------------------------------------------------
// first pass

/** A host, defaulted. */
function defaultHost(host: HostSpec, specIndex: number): HostElement {
  const d = DEFAULTS.hosts;
  return {
    name: host.name,
    specPath: `hosts[${specIndex}]`,
    specIndex,
    publicIpv4: host.publicIpv4,
    publicIpv6: host.publicIpv6,
    dynamicIp: host.dynamicIp ?? d.dynamicIp,
    docker: host.docker && { daemon: host.docker.daemon, sshOpts: host.docker.sshOpts ?? d.docker.sshOpts },
    firewall: { adminCidrs: host.firewall?.adminCidrs ?? d.firewall.adminCidrs, sshPort: host.firewall?.sshPort ?? d.firewall.sshPort },
    vm: host.vm && defaultVm(host.vm),
    ddns: defaultDdns(host),
  };
}

/** Every host, defaulted, ordered by name. */
export function defaultHosts(spec: TailnetSpec): HostElement[] {
  return (spec.hosts ?? []).map(defaultHost).sort((a, b) => (a.name < b.name ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// second pass

/** Each host with what it runs, the sockets those open, its firewall, VM target and DNS updater. */
export function resolveHosts(ctx: ResolvedSoFar<"headscale" | "derp">): ResolvedHost[] {
  const { headscale, derp } = ctx.resolved;
  return ctx.hosts.map((host) => {
    const derpNodes = nodesOfHost({ derp }, host.name);
    const runsHeadscale = headscale.host === host.name;
    const services: HostServices = { headscale: runsHeadscale ? headscale : undefined, derpNodes, derperVersion: derp.derperVersion };
    const { ddns, vm: _vm, firewall: _firewall, ...settings } = host;
    return {
      ...settings,
      ddns: ddns && resolveDdns(ddns, serviceNames(host.name, { headscale, nodes: derpNodes }), ctx.dns),
      runs: { headscale: runsHeadscale, derpNodes: derpNodes.map((n) => n.name) },
      listeners: [...(runsHeadscale ? headscale.listeners : []), ...derpNodes.flatMap((n) => n.derper.listeners)],
      firewall: resolveFirewall(host, services),
      vm: resolveVm(host, services),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// checks

/** The rules of `hosts`: the Docker engine's ssh options, the public addresses, unique names. */
export function checkHosts(ctx: CheckContext): void {
  for (const [host, i] of ctx.hosts) {
    const path = `hosts[${i}]`;
    if (host.docker?.sshOpts) checkSshOptions(host.docker.sshOpts, `${path}.docker.sshOpts`, ctx.issues);
    checkAddress(ctx, `${path}.publicIpv4`, host.publicIpv4, 4, false);
    checkAddress(ctx, `${path}.publicIpv6`, host.publicIpv6, 6, false);
  }
  for (const [host, i] of duplicates(ctx.hosts, (h: HostSpec) => h.name)) {
    ctx.issues.add(`hosts[${i}].name`, `${JSON.stringify(host.name)} is used by another host too`, "give every host its own name");
  }
}

/** Sockets that collide on one host. */
export function checkHostsModel(ctx: ModelCheckContext): void {
  for (const host of ctx.tailnet.hosts) {
    const seen = new Map<string, string>();
    for (const [l, owner] of listenerOwners(ctx.tailnet, host)) {
      const key = `${l.protocol}/${l.port}`;
      const first = seen.get(key);
      if (first) {
        ctx.issues.add(
          host.specPath,
          `${l.protocol} port ${l.port} is opened twice on this host: by ${first} and by ${owner} (${l.role})`,
          "move one service to another host or another port",
        );
      } else {
        seen.set(key, `${owner} (${l.role})`);
      }
    }
  }
}
