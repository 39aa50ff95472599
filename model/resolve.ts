/**
 * spec -> resolved model: fills every default and derives, exactly once, what the renderers and
 * constructs need. Called only on a spec that validate() accepted; `loadTailnet()` in index.ts
 * does both in order.
 */
import { resolveAcme } from "./acme.js";
import { resolveBackup } from "./backup.js";
import { resolveDdns } from "./ddns.js";
import { DEFAULT_DERPER_VERSION, resolveDerper, type ResolvedListener } from "./derper.js";
import { resolveDnsZone } from "./dns-records.js";
import { rendersPolicy, resolvePolicy, resolveUsers } from "./policy.js";
import { TAILSCALE_CGNAT, TAILSCALE_ULA, isIPv4, isIPv6, isIp, parseListenAddress } from "./net.js";
import type {
  HeadscalePaths,
  ResolvedDerpNode,
  ResolvedDerpRegion,
  ResolvedHeadscale,
  ResolvedHeadscaleTls,
  ResolvedHost,
  ResolvedTailnet,
} from "./resolved.js";
import type { DerperSpec, DerpNodeSpec, DerpRegionSpec, HeadscaleSpec, HeadscaleTlsSpec, HostSpec, TailnetSpec } from "./spec.js";
import { DEFAULT_HEADSCALE_VERSION, findHeadscaleVersion } from "./versions.js";
import { resolveFirewall, resolveVm, type HostServices, type ResolvedFirewall, type ResolvedVm } from "./vm.js";
import { deriveWarnings } from "./warnings.js";

/** Tailscale's public DERP map, fetched by headscale at start when the public regions are kept. */
export const TAILSCALE_PUBLIC_DERP_MAP_URL = "https://controlplane.tailscale.com/derpmap/default";

/** Resolvers pushed to nodes when `overrideLocalDns` is on and none are given (headscale's example). */
export const DEFAULT_GLOBAL_NAMESERVERS: readonly string[] = ["1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001"];

/** Where the official package and image keep headscale's files. */
export const DEFAULT_HEADSCALE_PATHS: HeadscalePaths = {
  configDir: "/etc/headscale",
  stateDir: "/var/lib/headscale",
  runDir: "/var/run/headscale",
};

export const DEFAULT_TAILNET_NAME = "tailnet";
export const DEFAULT_EPHEMERAL_INACTIVITY_TIMEOUT = "30m";
export const DEFAULT_DERP_PORT = 443;
export const DEFAULT_STUN_PORT = 3478;
export const DEFAULT_EMBEDDED_DERP_REGION_ID = 999;

/** The TLS mode, defaulted. */
export function tlsOf(spec: HeadscaleSpec): HeadscaleTlsSpec {
  return spec.tls ?? { mode: "proxy" };
}

/** The node address prefixes, defaulted; undefined where the spec turns a family off (`null`). */
export function nodePrefixesOf(spec: HeadscaleSpec): { v4: string | undefined; v6: string | undefined } {
  const p = spec.prefixes;
  return { v4: p?.v4 === null ? undefined : (p?.v4 ?? TAILSCALE_CGNAT.text), v6: p?.v6 === null ? undefined : (p?.v6 ?? TAILSCALE_ULA.text) };
}

/** headscale's main listener, defaulted by who terminates TLS. */
export function defaultListenAddr(tls: HeadscaleTlsSpec): string {
  return tls.mode === "proxy" ? "0.0.0.0:8080" : "0.0.0.0:443";
}

/** The host part of a URL, without port or IPv6 brackets; undefined when it does not parse. */
export function urlHost(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  } catch {
    return undefined;
  }
}

/** `overrideLocalDns`, defaulted. */
export function overrideLocalDnsOf(spec: HeadscaleSpec): boolean {
  return spec.dns?.overrideLocalDns ?? true;
}

/** Global nameservers, defaulted: headscale's example resolvers when overriding local DNS. */
export function globalNameserversOf(spec: HeadscaleSpec): readonly string[] {
  return spec.dns?.nameservers?.global ?? (overrideLocalDnsOf(spec) ? DEFAULT_GLOBAL_NAMESERVERS : []);
}

/** The effective public-region choice. */
export function tailscaleRegionsOf(spec: TailnetSpec): { keep: boolean; excluded: number[] } {
  const choice = spec.derp?.tailscaleRegions ?? "drop";
  if (choice === "drop") return { keep: false, excluded: [] };
  if (choice === "keep") return { keep: true, excluded: [] };
  return { keep: true, excluded: [...choice.keepExcept].sort((a, b) => a - b) };
}

function resolveTls(spec: HeadscaleSpec, serverHost: string): ResolvedHeadscaleTls {
  const tls = tlsOf(spec);
  switch (tls.mode) {
    case "proxy":
      return { mode: "proxy" };
    case "files":
      return { mode: "files", certPath: tls.certPath, keyPath: tls.keyPath };
    case "letsencrypt":
      return {
        mode: "letsencrypt",
        hostname: tls.hostname ?? serverHost,
        challenge: tls.challenge ?? "HTTP-01",
        email: tls.email ?? "",
        acmeUrl: tls.acmeUrl ?? "https://acme-v02.api.letsencrypt.org/directory",
      };
  }
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** A listener from a Go listen address (`host:port`, `:port`, `[v6]:port`). */
function listenerOf(role: string, protocol: "tcp" | "udp", address: string): ResolvedListener {
  const parsed = parseListenAddress(address)!;
  const hostIp = parsed.host === "" ? "0.0.0.0" : parsed.host;
  return { role, protocol, hostIp, port: parsed.port, public: !LOOPBACK.test(hostIp) };
}

/** Inside a container a service binds every address; publishing decides what the host exposes. */
function containerBind(address: string): string {
  return `0.0.0.0:${parseListenAddress(address)!.port}`;
}

function headscaleListeners(hs: HeadscaleSpec, listenAddr: string, metrics: string, grpc: string): ResolvedListener[] {
  const tls = tlsOf(hs);
  const embedded = hs.embeddedDerp?.enabled ? hs.embeddedDerp : undefined;
  return [
    listenerOf("control", "tcp", listenAddr),
    ...(tls.mode === "letsencrypt" && (tls.challenge ?? "HTTP-01") === "HTTP-01" ? [{ role: "acme-http", protocol: "tcp" as const, hostIp: "0.0.0.0", port: 80, public: true }] : []),
    ...(metrics !== "" ? [listenerOf("metrics", "tcp", metrics)] : []),
    // headscale starts remote gRPC only when it terminates TLS itself or is told to allow plain gRPC.
    ...(tls.mode !== "proxy" || hs.grpcAllowInsecure ? [listenerOf("grpc", "tcp", grpc)] : []),
    ...(embedded ? [listenerOf("stun", "udp", embedded.stunListenAddr ?? "0.0.0.0:3478")] : []),
  ];
}

function resolveHeadscale(spec: TailnetSpec, hosts: ReadonlyMap<string, HostSpec>): ResolvedHeadscale {
  const hs = spec.headscale;
  const version = findHeadscaleVersion(hs.version ?? DEFAULT_HEADSCALE_VERSION)!;
  const serverHost = urlHost(hs.serverUrl)!;
  const tls = tlsOf(hs);
  const paths = DEFAULT_HEADSCALE_PATHS;
  const publicRegions = tailscaleRegionsOf(spec);
  const host = hs.host === undefined ? undefined : hosts.get(hs.host);
  const embedded = hs.embeddedDerp?.enabled ? hs.embeddedDerp : undefined;
  const hasRegions = (spec.derp?.regions ?? []).length > 0 || publicRegions.excluded.length > 0;
  const listenAddr = hs.listenAddr ?? defaultListenAddr(tls);
  const metricsListenAddr = hs.metricsListenAddr ?? "127.0.0.1:9090";
  const grpcListenAddr = hs.grpcListenAddr ?? "127.0.0.1:50443";
  const containerized = host?.docker !== undefined;
  const inside = (address: string) => (containerized && address !== "" ? containerBind(address) : address);
  const embeddedStun = embedded?.stunListenAddr ?? "0.0.0.0:3478";
  return {
    version,
    upgradeFrom: hs.upgradeFrom === undefined || findHeadscaleVersion(hs.upgradeFrom)!.version === version.version ? undefined : findHeadscaleVersion(hs.upgradeFrom),
    rollbackFrom: hs.rollbackFrom === undefined || findHeadscaleVersion(hs.rollbackFrom)!.version === version.version ? undefined : findHeadscaleVersion(hs.rollbackFrom),
    serverUrl: hs.serverUrl,
    serverHost,
    host: hs.host,
    listenAddr: inside(listenAddr),
    metricsListenAddr: inside(metricsListenAddr),
    grpcListenAddr: inside(grpcListenAddr),
    grpcAllowInsecure: hs.grpcAllowInsecure ?? false,
    trustedProxies: hs.trustedProxies ?? [],
    prefixes: {
      ...nodePrefixesOf(hs),
      allocation: hs.prefixes?.allocation ?? "sequential",
    },
    database:
      hs.database?.type === "postgres"
        ? {
            type: "postgres",
            host: hs.database.host,
            port: hs.database.port ?? (hs.database.host.startsWith("/") ? undefined : 5432),
            name: hs.database.name,
            user: hs.database.user,
            ssl: hs.database.ssl ?? "require",
          }
        : { type: "sqlite", writeAheadLog: hs.database?.writeAheadLog ?? true },
    dns: {
      magicDns: hs.dns?.magicDns ?? true,
      baseDomain: hs.dns?.baseDomain ?? "",
      overrideLocalDns: overrideLocalDnsOf(hs),
      nameservers: { global: globalNameserversOf(hs), split: hs.dns?.nameservers?.split ?? {} },
      searchDomains: hs.dns?.searchDomains ?? [],
      extraRecords: hs.dns?.extraRecords ?? [],
      extraRecordsPath: hs.dns?.extraRecordsPath,
    },
    tls: resolveTls(hs, serverHost),
    oidc: hs.oidc && {
      issuer: hs.oidc.issuer,
      clientId: hs.oidc.clientId,
      clientSecretPath: hs.oidc.clientSecretPath,
      scope: hs.oidc.scope ?? ["openid", "profile", "email"],
      extraParams: hs.oidc.extraParams ?? {},
      allowedDomains: hs.oidc.allowedDomains ?? [],
      allowedUsers: hs.oidc.allowedUsers ?? [],
      allowedGroups: hs.oidc.allowedGroups ?? [],
      onlyStartIfAvailable: hs.oidc.onlyStartIfAvailable ?? true,
      emailVerifiedRequired: hs.oidc.emailVerifiedRequired ?? true,
      useExpiryFromToken: hs.oidc.useExpiryFromToken ?? false,
      pkce: { enabled: hs.oidc.pkce?.enabled ?? false, method: hs.oidc.pkce?.method ?? "S256" },
    },
    log: { level: hs.log?.level ?? "info", format: hs.log?.format ?? "text" },
    // In a container the rendered policy lives in a volume of its own, so a policy change is
    // copied in and reloaded (SIGHUP) without replacing the container.
    policy: { mode: hs.policy?.mode ?? "file", path: rendersPolicy(spec) ? `${paths.configDir}${containerized ? "/policy" : ""}/policy.json` : (hs.policy?.path ?? "") },
    embeddedDerp: embedded && {
      regionId: embedded.regionId ?? DEFAULT_EMBEDDED_DERP_REGION_ID,
      regionCode: embedded.regionCode ?? "headscale",
      regionName: embedded.regionName ?? "Headscale Embedded DERP",
      stunListenAddr: inside(embeddedStun),
      verifyClients: embedded.verifyClients ?? true,
      automaticallyAddRegion: embedded.automaticallyAddRegion ?? true,
      ipv4: embedded.ipv4 ?? host?.publicIpv4,
      ipv6: embedded.ipv6 ?? host?.publicIpv6,
    },
    ephemeralInactivityTimeout: hs.ephemeralInactivityTimeout ?? DEFAULT_EPHEMERAL_INACTIVITY_TIMEOUT,
    nodeExpiry: hs.nodeExpiry,
    derpUpdateFrequency: hs.derpUpdateFrequency ?? "3h",
    taildrop: hs.taildrop ?? true,
    disableCheckUpdates: hs.disableCheckUpdates ?? true,
    paths,
    derpMapUrls: publicRegions.keep ? [TAILSCALE_PUBLIC_DERP_MAP_URL] : [],
    derpMapPaths: hasRegions ? [`${paths.configDir}/derp.yaml`] : [],
    image: `docker.io/headscale/headscale:${version.version}`,
    containerized,
    listeners: headscaleListeners(hs, listenAddr, metricsListenAddr, grpcListenAddr),
    backup: resolveBackup(hs, host, version),
  };
}

/** A node's address for one family: explicit, else its (static) host's, else the host name if it is one. */
function nodeAddress(node: DerpNodeSpec, host: HostSpec | undefined, family: 4 | 6): string | undefined {
  const explicit = family === 4 ? node.ipv4 : node.ipv6;
  if (explicit !== undefined) return explicit;
  // A dynamic host's address goes stale: clients resolve the node's name instead, which the
  // updater on the host keeps current.
  const fromHost = host?.dynamicIp ? undefined : family === 4 ? host?.publicIpv4 : host?.publicIpv6;
  if (fromHost !== undefined) return fromHost;
  const matches = family === 4 ? isIPv4(node.hostname) : isIPv6(node.hostname);
  return matches ? node.hostname : undefined;
}

interface NodeContext {
  readonly hosts: ReadonlyMap<string, HostSpec>;
  readonly derper: DerperSpec | undefined;
  readonly serverUrl: string;
  readonly spec: TailnetSpec;
}

function resolveNode(region: DerpRegionSpec, node: DerpNodeSpec, ctx: NodeContext, specPath: string): ResolvedDerpNode {
  const host = node.host === undefined ? undefined : ctx.hosts.get(node.host);
  const derpPort = node.derpPort ?? DEFAULT_DERP_PORT;
  const base = {
    hostnameIsIp: isIp(node.hostname),
    derpPort,
    stunPort: node.stunPort ?? DEFAULT_STUN_PORT,
    canPort80: node.canPort80 ?? derpPort === 443,
  };
  return {
    name: node.name,
    specPath,
    regionId: region.id,
    host: node.host,
    hostname: node.hostname,
    certName: node.certName,
    ipv4: nodeAddress(node, host, 4),
    ipv6: nodeAddress(node, host, 6),
    ...base,
    stunOnly: node.stunOnly ?? false,
    insecureForTests: node.insecureForTests ?? false,
    derper: resolveDerper(region, node, base, ctx.derper, ctx.serverUrl, resolveAcme(node, host, ctx.spec)),
  };
}

function resolveRegion(region: DerpRegionSpec, index: number, ctx: NodeContext): ResolvedDerpRegion {
  return {
    id: region.id,
    code: region.code,
    name: region.name,
    noMeasureNoHome: region.noMeasureNoHome ?? false,
    nodes: region.nodes.map((n, i) => resolveNode(region, n, ctx, `derp.regions[${index}].nodes[${i}]`)),
  };
}

/** The Tailscale release derper runs, without `v`. */
function derperVersionOf(spec: TailnetSpec): string {
  return (spec.derp?.derper?.version ?? DEFAULT_DERPER_VERSION).replace(/^v/, "");
}

/** A host's firewall and VM target (model/vm.ts). */
function vmParts(h: HostSpec, services: HostServices): { firewall: ResolvedFirewall; vm: ResolvedVm | undefined } {
  return { firewall: resolveFirewall(h, services), vm: resolveVm(h, services) };
}

/** Resolves a spec that validate() accepted. Regions are ordered by id; nodes keep their order. */
export function resolve(spec: TailnetSpec): ResolvedTailnet {
  const hostSpecs = new Map((spec.hosts ?? []).map((h) => [h.name, h]));
  const publicRegions = tailscaleRegionsOf(spec);
  const nodeCtx: NodeContext = { hosts: hostSpecs, derper: spec.derp?.derper, serverUrl: spec.headscale.serverUrl, spec };
  const regions = (spec.derp?.regions ?? [])
    .map((r, i) => resolveRegion(r, i, nodeCtx))
    .sort((a, b) => a.id - b.id);
  const headscale = resolveHeadscale(spec, hostSpecs);
  const nodesByHost = new Map<string, ResolvedDerpNode[]>();
  for (const n of regions.flatMap((r) => r.nodes)) {
    if (n.host === undefined) continue;
    const list = nodesByHost.get(n.host);
    if (list) list.push(n);
    else nodesByHost.set(n.host, [n]);
  }
  const specIndex = new Map((spec.hosts ?? []).map((h, i) => [h, i]));
  const hosts: ResolvedHost[] = [...(spec.hosts ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1)).map((h) => {
    const derpNodes = nodesByHost.get(h.name) ?? [];
    const runsHeadscale = spec.headscale.host === h.name;
    return {
      name: h.name,
      specPath: `hosts[${specIndex.get(h)}]`,
      publicIpv4: h.publicIpv4,
      publicIpv6: h.publicIpv6,
      dynamicIp: h.dynamicIp ?? false,
      ddns: resolveDdns(h, spec),
      runs: { headscale: runsHeadscale, derpNodes: derpNodes.map((n) => n.name) },
      docker: h.docker && { daemon: h.docker.daemon, sshOpts: h.docker.sshOpts ?? [] },
      listeners: [...(runsHeadscale ? headscale.listeners : []), ...derpNodes.flatMap((n) => n.derper.listeners)],
      ...vmParts(h, { headscale: runsHeadscale ? headscale : undefined, derpNodes, derperVersion: derperVersionOf(spec) }),
    };
  });
  const name = spec.name ?? DEFAULT_TAILNET_NAME;
  const tailnet: Omit<ResolvedTailnet, "warnings"> = {
    name,
    headscale,
    derp: {
      derperVersion: derperVersionOf(spec),
      derperImage: spec.derp?.derper?.image,
      tailscaleRegions: publicRegions.keep ? "keep" : "drop",
      excludedTailscaleRegions: publicRegions.excluded,
      regions,
    },
    hosts,
    dns: spec.dns && resolveDnsZone(spec.dns, headscale, regions, hosts),
    users: resolveUsers(spec, name),
    policy: resolvePolicy(spec, name, headscale.prefixes),
    devices: (spec.devices ?? []).map((d) => ({
      name: d.name,
      user: d.user ?? name,
      advertiseRoutes: d.advertiseRoutes ?? [],
      exitNode: d.exitNode ?? false,
      tags: d.tags ?? [],
    })),
  };
  return { ...tailnet, warnings: deriveWarnings(tailnet) };
}
