/**
 * The coordination server: headscale's settings checked against every rule headscale enforces at
 * start for the target version (FORMATS.md §1.2), defaulted (the first pass), and placed on its
 * host (the second pass: a container rebinds its listeners, the host's addresses fill the embedded
 * DERP's, the sockets it opens there).
 */
import { checkBackup, checkRollback, defaultBackup, resolveBackup } from "./backup.js";
import { checkHostRef, present, type CheckContext } from "./context.js";
import {
  DEFAULTS,
  HTTP_PORT,
  HTTPS_PORT,
  defaultPostgresPort,
  globalNameserversOf,
  listenAddrOf,
  magicDnsOf,
  nodePrefixesOf,
  overrideLocalDnsOf,
  requestedVersionOf,
  tlsOf,
} from "./defaults.js";
import type { HeadscaleElement, ResolveContext } from "./elements.js";
import { checkHeadscaleEndpoint, checkHeadscaleTarget } from "./headscale-endpoint.js";
import { joinPath } from "./issues.js";
import {
  TAILSCALE_CGNAT,
  TAILSCALE_ULA,
  isDnsName,
  isIPv4,
  isIPv6,
  isIp,
  parseGoDuration,
  parseListenAddress,
  parsePrefix,
  parsePrometheusDuration,
  prefixWithin,
  urlHost,
} from "./net.js";
import { checkNodePrefixSize } from "./address-space.js";
import { checkPublicAddress, checkTailnetWideAddress } from "./addresses.js";
import { DEFAULT_HEADSCALE_PATHS } from "./paths.js";
import type { HeadscalePaths, ResolvedHeadscale, ResolvedHeadscaleTls, ResolvedListener } from "./resolved.js";
import { checkOidcExtraParams } from "./secret-names.js";
import type { HeadscaleSpec, TailnetSpec } from "./spec.js";
import { isUnresolvedToken } from "./tokens.js";
import { SUPPORTED_HEADSCALE_VERSIONS, findHeadscaleVersion, planUpgrade, type HeadscaleVersion } from "./versions.js";
import type { IssueList } from "./issues.js";

/** Tailscale's public DERP map, fetched by headscale at start when the public regions are kept. */
export const TAILSCALE_PUBLIC_DERP_MAP_URL = "https://controlplane.tailscale.com/derpmap/default";

// ---------------------------------------------------------------------------------------------
// where headscale's files are, from its directories

/** Where the kit's rendered policy file is: in its own folder when headscale runs in a container (a volume of its own). */
export function renderedPolicyPath(paths: HeadscalePaths, containerized: boolean): string {
  return `${paths.configDir}${containerized ? "/policy" : ""}/policy.json`;
}

/** Where the rendered derp.yaml is. */
export function derpMapPath(paths: HeadscalePaths): string {
  return `${paths.configDir}/derp.yaml`;
}

// ---------------------------------------------------------------------------------------------
// first pass

function defaultTls(spec: HeadscaleSpec, serverHost: string): ResolvedHeadscaleTls {
  const tls = tlsOf(spec);
  const d = DEFAULTS.headscale.tls;
  switch (tls.mode) {
    case "proxy":
      return { mode: "proxy" };
    case "files":
      return { mode: "files", certPath: tls.certPath, keyPath: tls.keyPath };
    case "letsencrypt":
      return {
        mode: "letsencrypt",
        hostname: tls.hostname ?? serverHost,
        challenge: tls.challenge ?? d.challenge,
        email: tls.email ?? d.email,
        acmeUrl: tls.acmeUrl ?? d.acmeUrl,
      };
  }
}

/** headscale with every default filled (a spec that validate() accepted). */
export function defaultHeadscale(spec: TailnetSpec): HeadscaleElement {
  const hs = spec.headscale;
  const d = DEFAULTS.headscale;
  const version = findHeadscaleVersion(requestedVersionOf(spec))!;
  const serverHost = urlHost(hs.serverUrl)!;
  const otherRelease = (text: string | undefined) =>
    text === undefined || findHeadscaleVersion(text)!.version === version.version ? undefined : findHeadscaleVersion(text);
  const embedded = hs.embeddedDerp?.enabled ? hs.embeddedDerp : undefined;
  const db = hs.database;
  const oidc = hs.oidc;
  return {
    version,
    upgradeFrom: otherRelease(hs.upgradeFrom),
    rollbackFrom: otherRelease(hs.rollbackFrom),
    serverUrl: hs.serverUrl,
    serverHost,
    host: hs.host,
    listenAddr: listenAddrOf(hs),
    metricsListenAddr: hs.metricsListenAddr ?? d.metricsListenAddr,
    grpcListenAddr: hs.grpcListenAddr ?? d.grpcListenAddr,
    grpcAllowInsecure: hs.grpcAllowInsecure ?? d.grpcAllowInsecure,
    trustedProxies: hs.trustedProxies ?? d.trustedProxies,
    prefixes: { ...nodePrefixesOf(hs), allocation: hs.prefixes?.allocation ?? d.prefixes.allocation },
    database:
      db?.type === "postgres"
        ? { type: "postgres", host: db.host, port: db.port ?? defaultPostgresPort(db.host), name: db.name, user: db.user, ssl: db.ssl ?? d.database.ssl }
        : { type: "sqlite", writeAheadLog: db?.writeAheadLog ?? d.database.writeAheadLog },
    dns: {
      magicDns: magicDnsOf(hs),
      baseDomain: hs.dns?.baseDomain ?? d.dns.baseDomain,
      overrideLocalDns: overrideLocalDnsOf(hs),
      nameservers: { global: globalNameserversOf(hs), split: hs.dns?.nameservers?.split ?? d.dns.nameservers.split },
      searchDomains: hs.dns?.searchDomains ?? d.dns.searchDomains,
      extraRecords: hs.dns?.extraRecords ?? d.dns.extraRecords,
      extraRecordsPath: hs.dns?.extraRecordsPath,
    },
    tls: defaultTls(hs, serverHost),
    oidc: oidc && {
      issuer: oidc.issuer,
      clientId: oidc.clientId,
      clientSecretPath: oidc.clientSecretPath,
      scope: oidc.scope ?? d.oidc.scope,
      extraParams: oidc.extraParams ?? d.oidc.extraParams,
      allowedDomains: oidc.allowedDomains ?? d.oidc.allowedDomains,
      allowedUsers: oidc.allowedUsers ?? d.oidc.allowedUsers,
      allowedGroups: oidc.allowedGroups ?? d.oidc.allowedGroups,
      onlyStartIfAvailable: oidc.onlyStartIfAvailable ?? d.oidc.onlyStartIfAvailable,
      emailVerifiedRequired: oidc.emailVerifiedRequired ?? d.oidc.emailVerifiedRequired,
      useExpiryFromToken: oidc.useExpiryFromToken ?? d.oidc.useExpiryFromToken,
      pkce: { enabled: oidc.pkce?.enabled ?? d.oidc.pkce.enabled, method: oidc.pkce?.method ?? d.oidc.pkce.method },
    },
    log: { level: hs.log?.level ?? d.log.level, format: hs.log?.format ?? d.log.format },
    policy: { mode: hs.policy?.mode ?? d.policy.mode, path: hs.policy?.path ?? d.policy.path },
    embeddedDerp: embedded && {
      regionId: embedded.regionId ?? d.embeddedDerp.regionId,
      regionCode: embedded.regionCode ?? d.embeddedDerp.regionCode,
      regionName: embedded.regionName ?? d.embeddedDerp.regionName,
      stunListenAddr: embedded.stunListenAddr ?? d.embeddedDerp.stunListenAddr,
      verifyClients: embedded.verifyClients ?? d.embeddedDerp.verifyClients,
      automaticallyAddRegion: embedded.automaticallyAddRegion ?? d.embeddedDerp.automaticallyAddRegion,
      ipv4: embedded.ipv4,
      ipv6: embedded.ipv6,
    },
    ephemeralInactivityTimeout: hs.ephemeralInactivityTimeout ?? d.ephemeralInactivityTimeout,
    nodeExpiry: hs.nodeExpiry,
    derpUpdateFrequency: hs.derpUpdateFrequency ?? d.derpUpdateFrequency,
    taildrop: hs.taildrop ?? d.taildrop,
    disableCheckUpdates: hs.disableCheckUpdates ?? d.disableCheckUpdates,
    paths: DEFAULT_HEADSCALE_PATHS,
    image: `docker.io/headscale/headscale:${version.version}`,
    backup: defaultBackup(hs.backup),
  };
}

// ---------------------------------------------------------------------------------------------
// second pass

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

/** The sockets headscale opens on its host. */
function headscaleListeners(hs: HeadscaleElement): ResolvedListener[] {
  const tls = hs.tls;
  return [
    listenerOf("control", "tcp", hs.listenAddr),
    ...(tls.mode === "letsencrypt" && tls.challenge === "HTTP-01"
      ? [{ role: "acme-http", protocol: "tcp" as const, hostIp: "0.0.0.0", port: HTTP_PORT, public: true }]
      : []),
    ...(hs.metricsListenAddr !== "" ? [listenerOf("metrics", "tcp", hs.metricsListenAddr)] : []),
    // headscale starts remote gRPC only when it terminates TLS itself or is told to allow plain gRPC.
    ...(tls.mode !== "proxy" || hs.grpcAllowInsecure ? [listenerOf("grpc", "tcp", hs.grpcListenAddr)] : []),
    ...(hs.embeddedDerp ? [listenerOf("stun", "udp", hs.embeddedDerp.stunListenAddr)] : []),
  ];
}

/** headscale placed on its host: its listeners, files and backups. */
export function resolveHeadscale(ctx: ResolveContext): ResolvedHeadscale {
  const hs = ctx.headscale;
  const host = hs.host === undefined ? undefined : ctx.hostsByName.get(hs.host);
  const containerized = host?.docker !== undefined;
  const inside = (address: string) => (containerized && address !== "" ? containerBind(address) : address);
  const hasMapFile = ctx.derp.regions.length > 0 || ctx.derp.excludedTailscaleRegions.length > 0;
  const { backup: _backup, ...settings } = hs;
  return {
    ...settings,
    listenAddr: inside(hs.listenAddr),
    metricsListenAddr: inside(hs.metricsListenAddr),
    grpcListenAddr: inside(hs.grpcListenAddr),
    // In a container the rendered policy lives in a volume of its own, so a policy change is
    // copied in and reloaded (SIGHUP) without replacing the container.
    policy: { mode: hs.policy.mode, path: ctx.policy ? renderedPolicyPath(hs.paths, containerized) : hs.policy.path },
    embeddedDerp: hs.embeddedDerp && {
      ...hs.embeddedDerp,
      stunListenAddr: inside(hs.embeddedDerp.stunListenAddr),
      ipv4: hs.embeddedDerp.ipv4 ?? host?.publicIpv4,
      ipv6: hs.embeddedDerp.ipv6 ?? host?.publicIpv6,
    },
    derpMapUrls: ctx.derp.tailscaleRegions === "keep" ? [TAILSCALE_PUBLIC_DERP_MAP_URL] : [],
    derpMapPaths: hasMapFile ? [derpMapPath(hs.paths)] : [],
    containerized,
    listeners: headscaleListeners(hs),
    backup: host && resolveBackup(hs, host),
  };
}

// ---------------------------------------------------------------------------------------------
// checks

/** A feature that needs a newer headscale than the target. */
function needsVersion(ctx: CheckContext, path: string, key: string, since: string): void {
  ctx.issues.add(path, `headscale ${ctx.version!.version} has no ${key} (it exists from ${since})`, `remove it, or target headscale ${since} or later`);
}

/** A Go listen address (`host:port`), when the spec gives one. */
export function checkListen(ctx: CheckContext, path: string, value: string | undefined, what: string): void {
  if (value === undefined) return;
  if (!parseListenAddress(value)) {
    ctx.issues.add(
      path,
      `${JSON.stringify(value)} is not a listen address`,
      `write ${what} as host:port, e.g. "0.0.0.0:8080", "127.0.0.1:9090" or "[::]:443", with a port from 1 to 65535`,
    );
  }
}

/** The target version the spec names, reported when the kit does not support it. */
export function checkVersion(spec: TailnetSpec, issues: IssueList): HeadscaleVersion | undefined {
  const requested = requestedVersionOf(spec);
  const version = findHeadscaleVersion(requested);
  if (!version) {
    issues.add(
      "headscale.version",
      `headscale ${JSON.stringify(requested)} is not supported`,
      `use one of ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")} (the kit renders only for releases whose configuration it knows)`,
    );
  }
  return version;
}

function checkUpgrade(ctx: CheckContext, hs: HeadscaleSpec): void {
  checkRollback(ctx);
  if (hs.upgradeFrom === undefined || !ctx.version) return;
  const from = findHeadscaleVersion(hs.upgradeFrom);
  if (!from) {
    ctx.issues.add(
      "headscale.upgradeFrom",
      `headscale ${JSON.stringify(hs.upgradeFrom)} is not a release the kit knows`,
      `use one of ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")}; older deployments upgrade to 0.27.1 by hand first`,
    );
    return;
  }
  const plan = planUpgrade(from, ctx.version);
  if (!plan.ok) {
    const downgrade = plan.path.length === 0;
    ctx.issues.add(
      "headscale.version",
      plan.explanation,
      plan.path.length > 1
        ? `set version to ${plan.path[0]} (upgradeFrom ${from.version}), deploy, then continue with ${plan.path.slice(1).join(", then ")}`
        : downgrade && planUpgrade(ctx.version, from).path.length === 1
          ? `to roll back, write rollbackFrom: "${from.version}" instead of upgradeFrom (the kit restores the backup taken before ${from.version} was deployed); else set version back to ${from.version}`
          : `set version back to ${from.version}`,
    );
  }
}

function checkServerUrl(ctx: CheckContext, hs: HeadscaleSpec): void {
  const path = "headscale.serverUrl";
  if (hs.serverUrl === undefined) return;
  if (!/^https?:\/\//.test(hs.serverUrl)) {
    ctx.issues.add(
      path,
      `${JSON.stringify(hs.serverUrl)} does not start with https:// or http:// (headscale refuses to start)`,
      `write the full URL, e.g. "https://hs.example.com"`,
    );
    return;
  }
  const host = urlHost(hs.serverUrl);
  if (host === undefined || !(isDnsName(host) || isIp(host) || host === "localhost")) {
    ctx.issues.add(path, `${JSON.stringify(hs.serverUrl)} is not a valid URL with a host name`, `write the full URL, e.g. "https://hs.example.com"`);
    return;
  }
  const url = new URL(hs.serverUrl);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    ctx.issues.add(
      path,
      `${JSON.stringify(hs.serverUrl)} has a path, query or fragment; Tailscale clients talk to the URL's root`,
      `use only scheme, host and port, e.g. "${url.protocol}//${url.host}"`,
    );
  }
  const tls = tlsOf(hs);
  if (tls.mode !== "proxy" && url.protocol === "http:") {
    ctx.issues.add(
      path,
      `uses http:// while headscale terminates TLS itself (tls.mode ${JSON.stringify(tls.mode)})`,
      `use "https://${url.host}", or set tls.mode to "proxy" if nothing terminates TLS`,
    );
  }
  checkHeadscaleEndpoint(hs, ctx.issues);
}

function checkPrefixes(ctx: CheckContext, hs: HeadscaleSpec): void {
  const allowNonStandard = hs.prefixes?.allowNonStandard ?? DEFAULTS.headscale.prefixes.allowNonStandard;
  const { v4, v6 } = nodePrefixesOf(hs);
  if (v4 === undefined && v6 === undefined) {
    ctx.issues.add(
      "headscale.prefixes",
      "sets neither v4 nor v6 (headscale refuses to start without a prefix)",
      `keep at least one, e.g. v4: "${TAILSCALE_CGNAT.text}"`,
    );
  }
  const each: [string, string | undefined, 4 | 6][] = [
    ["v4", v4, 4],
    ["v6", v6, 6],
  ];
  for (const [key, value, family] of each) {
    if (value === undefined) continue;
    const path = `headscale.prefixes.${key}`;
    const parsed = parsePrefix(value);
    const range = family === 4 ? TAILSCALE_CGNAT : TAILSCALE_ULA;
    if (!parsed || parsed.family !== family) {
      ctx.issues.add(path, `${JSON.stringify(value)} is not an IPv${family} prefix`, `write it as address/bits inside ${range.text}, e.g. "${range.text}"`);
    } else if (!prefixWithin(parsed, range) && !allowNonStandard) {
      ctx.issues.add(
        path,
        `${JSON.stringify(value)} is outside ${range.text}; headscale starts but does not support it, and Tailscale clients treat only that range as tailnet addresses`,
        `use a prefix inside ${range.text}, or set headscale.prefixes.allowNonStandard: true if you accept that`,
      );
    } else {
      checkNodePrefixSize(ctx.issues, path, parsed);
    }
  }
}

function checkDns(ctx: CheckContext, hs: HeadscaleSpec): void {
  const dns = hs.dns ?? {};
  const base = "headscale.dns";
  const magic = magicDnsOf(hs);
  if (dns.baseDomain !== undefined && !(dns.baseDomain === "" && !magic)) {
    const path = `${base}.baseDomain`;
    const domain = dns.baseDomain.toLowerCase();
    const serverHost = hs.serverUrl === undefined ? undefined : urlHost(hs.serverUrl);
    if (!isDnsName(domain)) {
      ctx.issues.add(path, `${JSON.stringify(dns.baseDomain)} is not a DNS name`, `write a domain without scheme or trailing dot, e.g. "tail.example.net"`);
    } else if (serverHost === domain) {
      ctx.issues.add(
        path,
        `${JSON.stringify(dns.baseDomain)} equals the server URL's host; headscale refuses to start, since MagicDNS would capture the coordination server's name`,
        `use a domain of its own, e.g. "tail.${domain}" or one under another zone`,
      );
    } else if (serverHost?.endsWith(`.${domain}`)) {
      ctx.issues.add(
        path,
        `${JSON.stringify(dns.baseDomain)} is a parent of the server URL's host ${JSON.stringify(serverHost)} (whatever the port); headscale refuses to start, since MagicDNS would capture the coordination server's name`,
        `use a domain that does not contain the server's host, e.g. "tail.${serverHost}" or one under another zone`,
      );
    }
  } else if (magic) {
    ctx.issues.add(
      `${base}.baseDomain`,
      "is required while MagicDNS is on (headscale refuses to start without it)",
      `set a domain for the tailnet, e.g. "tail.example.net", or set ${base}.magicDns: false`,
    );
  }
  if (overrideLocalDnsOf(hs) && globalNameserversOf(hs).length === 0) {
    ctx.issues.add(
      `${base}.nameservers.global`,
      "is empty while overrideLocalDns is on (headscale refuses to start)",
      `list at least one resolver, e.g. ["1.1.1.1"], or set ${base}.overrideLocalDns: false`,
    );
  }
  for (const [ns, i] of present(dns.nameservers?.global)) {
    if (!isIp(ns) && !/^https:\/\/[^/\s]+/.test(ns)) {
      ctx.issues.add(
        `${base}.nameservers.global[${i}]`,
        `${JSON.stringify(ns)} is neither an IP address nor a DoH URL (headscale drops it with only a warning)`,
        `write an address such as "1.1.1.1" or a URL such as "https://dns.example/dns-query"`,
      );
    } else checkTailnetWideAddress(ctx.issues, `${base}.nameservers.global[${i}]`, ns);
  }
  for (const [domain, servers] of Object.entries(dns.nameservers?.split ?? {})) {
    const path = joinPath(`${base}.nameservers.split`, domain);
    if (!isDnsName(domain) && !/^[a-z0-9-]+$/i.test(domain))
      ctx.issues.add(path, `${JSON.stringify(domain)} is not a domain`, `use a domain such as "home.arpa"`);
    if (!servers || servers.length === 0) ctx.issues.add(path, "lists no resolver", "list at least one resolver address");
    for (const [s, i] of present(servers)) {
      if (!isIp(s)) ctx.issues.add(`${path}[${i}]`, `${JSON.stringify(s)} is not an IP address`, `write the resolver's address, e.g. "192.168.100.1"`);
      else checkTailnetWideAddress(ctx.issues, `${path}[${i}]`, s);
    }
  }
  for (const [d, i] of present(dns.searchDomains)) {
    if (!isDnsName(d) && !/^[a-z0-9-]+$/i.test(d))
      ctx.issues.add(`${base}.searchDomains[${i}]`, `${JSON.stringify(d)} is not a domain`, `write a domain such as "home.arpa"`);
  }
  for (const [r, i] of present(dns.extraRecords)) {
    const path = `${base}.extraRecords[${i}]`;
    if (r.name !== undefined && !isDnsName(r.name))
      ctx.issues.add(
        `${path}.name`,
        `${JSON.stringify(r.name)} is not a fully qualified name`,
        `write a name such as "grafana.${dns.baseDomain ?? "tail.example.net"}"`,
      );
    if (r.value !== undefined && r.type !== undefined) {
      const ok = r.type === "A" ? isIPv4(r.value) : isIPv6(r.value);
      if (!ok)
        ctx.issues.add(
          `${path}.value`,
          `${JSON.stringify(r.value)} is not an IPv${r.type === "A" ? 4 : 6} address, as a${r.type === "A" ? "n A" : "n AAAA"} record needs`,
          `write an IPv${r.type === "A" ? 4 : 6} address, or change the type`,
        );
      else checkTailnetWideAddress(ctx.issues, `${path}.value`, r.value);
    }
  }
  if (dns.extraRecords?.length && dns.extraRecordsPath !== undefined) {
    ctx.issues.add(
      `${base}.extraRecordsPath`,
      "is set together with extraRecords (headscale refuses to start with both)",
      "keep one of extraRecords and extraRecordsPath",
    );
  }
}

function checkTls(ctx: CheckContext, hs: HeadscaleSpec): void {
  const tls = tlsOf(hs);
  const listen = parseListenAddress(listenAddrOf(hs));
  if (tls.mode === "letsencrypt") {
    if (tls.hostname !== undefined && !isDnsName(tls.hostname)) {
      ctx.issues.add(
        "headscale.tls.hostname",
        `${JSON.stringify(tls.hostname)} is not a DNS name Let's Encrypt can issue for`,
        "use the server URL's host name",
      );
    }
    if (tls.challenge === "TLS-ALPN-01" && listen && listen.port !== HTTPS_PORT) {
      ctx.issues.add(
        "headscale.tls.challenge",
        `TLS-ALPN-01 needs headscale itself listening on 443, but listenAddr is ${JSON.stringify(hs.listenAddr)}`,
        `set headscale.listenAddr to "0.0.0.0:443", or use challenge "HTTP-01"`,
      );
    }
  }
  if (tls.mode === "files") {
    for (const key of ["certPath", "keyPath"] as const) {
      const value = tls[key];
      if (value !== undefined && !value.startsWith("/"))
        ctx.issues.add(`headscale.tls.${key}`, `${JSON.stringify(value)} is not an absolute path`, "give the absolute path of the file on the host");
    }
  }
}

function checkOidc(ctx: CheckContext, hs: HeadscaleSpec): void {
  const oidc = hs.oidc;
  if (!oidc) return;
  if (oidc.issuer !== undefined && !/^https:\/\/[^/\s]+/.test(oidc.issuer)) {
    ctx.issues.add("headscale.oidc.issuer", `${JSON.stringify(oidc.issuer)} is not an https URL`, `write the issuer URL, e.g. "https://login.example.com"`);
  }
  if (oidc.clientSecretPath !== undefined && oidc.clientSecretPath.trim() === "") {
    ctx.issues.add(
      "headscale.oidc.clientSecretPath",
      "is empty",
      `give the path of the file holding the secret on the host, e.g. "/etc/headscale/oidc_client_secret" (mode 0600, owned by headscale)`,
    );
  }
  if (oidc.emailVerifiedRequired !== undefined && ctx.version && !ctx.version.minor.features.oidcEmailVerifiedRequired) {
    needsVersion(ctx, "headscale.oidc.emailVerifiedRequired", "oidc.email_verified_required", "0.28.0");
  }
  checkOidcExtraParams(oidc, ctx.issues);
}

function checkDurations(ctx: CheckContext, hs: HeadscaleSpec): void {
  if (hs.ephemeralInactivityTimeout !== undefined) {
    const seconds = parseGoDuration(hs.ephemeralInactivityTimeout);
    const path = "headscale.ephemeralInactivityTimeout";
    if (seconds === undefined) {
      ctx.issues.add(
        path,
        `${JSON.stringify(hs.ephemeralInactivityTimeout)} is not a Go duration`,
        `write it like "30m" or "1h30m" (units ns, us, ms, s, m, h; there is no "d")`,
      );
    } else if (seconds <= 65) {
      ctx.issues.add(path, `${JSON.stringify(hs.ephemeralInactivityTimeout)} is 65s or less (headscale refuses to start)`, `use more than 65s, e.g. "30m"`);
    }
  }
  if (hs.derpUpdateFrequency !== undefined && parseGoDuration(hs.derpUpdateFrequency) === undefined) {
    ctx.issues.add(
      "headscale.derpUpdateFrequency",
      `${JSON.stringify(hs.derpUpdateFrequency)} is not a Go duration`,
      `write it like "3h" or "30m" (there is no "d"; "0" turns updates off)`,
    );
  }
  if (hs.nodeExpiry !== undefined) {
    const path = "headscale.nodeExpiry";
    if (parsePrometheusDuration(hs.nodeExpiry) === undefined) {
      ctx.issues.add(path, `${JSON.stringify(hs.nodeExpiry)} is not a duration`, `write it like "180d", "1w" or "0" (never)`);
    } else if (ctx.version && !ctx.version.minor.features.nodeSection && !hs.oidc) {
      ctx.issues.add(
        path,
        `headscale ${ctx.version.version} has no default node expiry (node.expiry exists from 0.29.0; before, only OIDC logins expire, through oidc.expiry)`,
        "remove it, configure oidc, or target headscale 0.29.0 or later",
      );
    }
  }
}

function checkEmbeddedDerp(ctx: CheckContext, hs: HeadscaleSpec): void {
  const e = hs.embeddedDerp;
  if (!e?.enabled) return;
  const base = "headscale.embeddedDerp";
  if (hs.serverUrl?.startsWith("http://")) {
    ctx.issues.add(
      `${base}.enabled`,
      "the embedded DERP needs an https server URL (clients reach it at https://<server>/derp)",
      "use an https serverUrl, or turn the embedded DERP off",
    );
  }
  if (e.regionId !== undefined && (!Number.isInteger(e.regionId) || e.regionId < 900 || e.regionId > 999)) {
    ctx.issues.add(
      `${base}.regionId`,
      `${e.regionId} is outside 900-999, the range reserved for self-hosted DERP`,
      "pick an id from 900 to 999 that no other region uses",
    );
  }
  checkListen(ctx, `${base}.stunListenAddr`, e.stunListenAddr, "the STUN listener");
  for (const key of ["ipv4", "ipv6"] as const) {
    const v = e[key];
    if (v !== undefined && !isUnresolvedToken(v) && !(key === "ipv4" ? isIPv4(v) : isIPv6(v))) {
      ctx.issues.add(
        `${base}.${key}`,
        `${JSON.stringify(v)} is not an IPv${key === "ipv4" ? 4 : 6} address`,
        `write the server's public IPv${key === "ipv4" ? 4 : 6} address`,
      );
    } else {
      checkPublicAddress(ctx.issues, ctx.warnings, `${base}.${key}`, v, "ipv4");
    }
  }
}

/** The rules of `headscale`: every field against the target version, and where it runs. */
export function checkHeadscale(ctx: CheckContext): void {
  const hs = ctx.spec.headscale;
  if (!hs) return;
  const f = ctx.version?.minor.features;
  checkServerUrl(ctx, hs);
  checkUpgrade(ctx, hs);
  checkBackup(ctx);
  checkHostRef(ctx, "headscale.host", hs.host);
  checkHeadscaleTarget(hs, ctx.hosts, ctx.warnings);
  checkListen(ctx, "headscale.listenAddr", hs.listenAddr, "the main listener");
  if (hs.metricsListenAddr === "") {
    if (f && !f.metricsCanBeDisabled)
      ctx.issues.add(
        "headscale.metricsListenAddr",
        `headscale ${ctx.version!.version} cannot turn the metrics listener off (an empty address does so from 0.28.0)`,
        `use a private address such as "127.0.0.1:9090", or target 0.28.0 or later`,
      );
  } else {
    checkListen(ctx, "headscale.metricsListenAddr", hs.metricsListenAddr, "the metrics listener");
  }
  checkListen(ctx, "headscale.grpcListenAddr", hs.grpcListenAddr, "the gRPC listener");
  if (hs.trustedProxies !== undefined) {
    if (f && !f.trustedProxies) needsVersion(ctx, "headscale.trustedProxies", "trusted_proxies", "0.29.0");
    for (const [cidr, i] of present(hs.trustedProxies)) {
      const p = parsePrefix(cidr);
      const path = `headscale.trustedProxies[${i}]`;
      if (!p) ctx.issues.add(path, `${JSON.stringify(cidr)} is not a CIDR prefix`, `write the proxy's address range, e.g. "10.0.0.5/32"`);
      else if (p.bits === 0)
        ctx.issues.add(path, `${JSON.stringify(cidr)} trusts every address (headscale refuses /0)`, "list only your reverse proxies' addresses");
    }
  }
  if (hs.taildrop !== undefined && f && !f.taildrop) needsVersion(ctx, "headscale.taildrop", "taildrop.enabled", "0.28.0");
  if (hs.database?.type === "postgres") {
    const port = hs.database.port;
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      ctx.issues.add("headscale.database.port", `${port} is not a port`, "use a port from 1 to 65535, usually 5432");
    }
  }
  if (hs.policy?.path !== undefined && hs.policy.path !== "" && !hs.policy.path.startsWith("/")) {
    ctx.issues.add(
      "headscale.policy.path",
      `${JSON.stringify(hs.policy.path)} is not an absolute path`,
      "give the absolute path of the policy file on the host",
    );
  }
  checkPrefixes(ctx, hs);
  checkDns(ctx, hs);
  checkTls(ctx, hs);
  checkOidc(ctx, hs);
  checkDurations(ctx, hs);
  checkEmbeddedDerp(ctx, hs);
}
