/**
 * The semantic checks: every rule headscale enforces at start for the target version (FORMATS.md
 * §1.2), the DERP map's rules, and the kit's own safety rules. Each check reports into one list,
 * so a spec with five problems gets five messages, each naming the field and the fix.
 *
 * Checks run on the structurally sanitized spec (model/structure.ts): a value with the wrong type
 * was already reported and is absent here, so every check tolerates missing fields.
 */
import { IssueList, joinPath, type ModelWarning, type ValidationIssue } from "./issues.js";
import { withSubjects } from "./warnings.js";
import { TAILSCALE_CGNAT, TAILSCALE_ULA, hasHostBits, isDnsName, isIPv4, isIPv6, isIp, networkOf, parseGoDuration, parseListenAddress, parsePrefix, parsePrometheusDuration, prefixWithin } from "./net.js";
import type { ResolvedTailnet } from "./resolved.js";
import { defaultListenAddr, globalNameserversOf, nodePrefixesOf, overrideLocalDnsOf, resolve, tailscaleRegionsOf, tlsOf, urlHost } from "./resolve.js";
import type { DerpNodeSpec, DerpRegionSpec, HeadscaleSpec, HostSpec, TailnetSpec } from "./spec.js";
import { listenerOwners } from "./walk.js";
import { checkPolicy, checkUsers } from "./policy.js";
import { checkStructure, withoutConsequences } from "./structure.js";
import { checkVmHosts, checkVmResolved } from "./vm.js";
import { checkAcme } from "./acme.js";
import { checkBackup, checkRollback } from "./backup.js";
import { checkDdns } from "./ddns.js";
import { isUnresolvedToken } from "./tokens.js";
import { checkPublicAddress, checkSharedAddresses } from "./addresses.js";
import { checkAdvertisedRoute, checkNodePrefixSize, tailnetPrefixes } from "./address-space.js";
import { checkHeadscaleEndpoint, checkHeadscaleTarget } from "./headscale-endpoint.js";
import { checkDerpHostnames, checkUserNameCase } from "./name-collisions.js";
import { checkOidcExtraParams } from "./secret-names.js";
import { checkSshOptions } from "./ssh-options.js";
import { checkAdvisories } from "./advisories.js";
import { findTailscaleRelease, SUPPORTED_TAILSCALE_VERSIONS } from "./tailscale-releases.js";
import { DEFAULT_HEADSCALE_VERSION, SUPPORTED_HEADSCALE_VERSIONS, findHeadscaleVersion, planUpgrade, type HeadscaleVersion } from "./versions.js";

/** The outcome of validate(): the typed spec when there are no issues. */
export type ValidationResult =
  | {
      readonly ok: true;
      readonly spec: TailnetSpec;
      /** The spec resolved (every default filled, everything derived), as `resolve(spec)` returns it. */
      readonly resolved: ResolvedTailnet;
      readonly issues: readonly [];
      /** Every warning: the validation's and those that follow from the resolved model (also `resolved.warnings`). */
      readonly warnings: readonly ModelWarning[];
    }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[]; readonly warnings: readonly ModelWarning[] };

/** Items of an array that survived the structural check, with their original index. */
function present<T>(items: readonly (T | undefined)[] | undefined): [T, number][] {
  return (items ?? []).flatMap((item, i) => (item === undefined ? [] : [[item, i] as [T, number]]));
}

function duplicates<T>(entries: [T, number][], key: (t: T) => unknown): [T, number][] {
  const seen = new Set<unknown>();
  return entries.filter(([t]) => {
    const k = key(t);
    if (k === undefined) return false;
    if (seen.has(k)) return true;
    seen.add(k);
    return false;
  });
}

const SHA256_RAW_PIN = /^sha256-raw:[0-9a-f]{64}$/;

/** Context shared by the section checks. */
interface Ctx {
  readonly spec: TailnetSpec;
  readonly issues: IssueList;
  /** Legal but risky choices, reported without refusing the spec. */
  readonly warnings: IssueList;
  /** The target version; undefined when the spec names an unsupported one (already reported). */
  readonly version: HeadscaleVersion | undefined;
  readonly hostNames: ReadonlySet<string>;
}

function checkHostRef(ctx: Ctx, path: string, name: string | undefined): void {
  if (name === undefined || ctx.hostNames.has(name)) return;
  const known = [...ctx.hostNames];
  ctx.issues.add(
    path,
    `names host ${JSON.stringify(name)}, which is not in hosts`,
    known.length ? `use one of ${known.map((h) => JSON.stringify(h)).join(", ")}, or add the host to hosts` : "add the host to hosts",
  );
}

/** A feature that needs a newer headscale than the target. */
function needsVersion(ctx: Ctx, path: string, key: string, since: string): void {
  ctx.issues.add(
    path,
    `headscale ${ctx.version!.version} has no ${key} (it exists from ${since})`,
    `remove it, or target headscale ${since} or later`,
  );
}

function checkListen(ctx: Ctx, path: string, value: string | undefined, what: string): void {
  if (value === undefined) return;
  if (!parseListenAddress(value)) {
    ctx.issues.add(path, `${JSON.stringify(value)} is not a listen address`, `write ${what} as host:port, e.g. "0.0.0.0:8080", "127.0.0.1:9090" or "[::]:443", with a port from 1 to 65535`);
  }
}

function checkVersion(ctx: Pick<Ctx, "issues">, spec: TailnetSpec): HeadscaleVersion | undefined {
  const requested = spec.headscale?.version ?? DEFAULT_HEADSCALE_VERSION;
  const version = findHeadscaleVersion(requested);
  if (!version) {
    ctx.issues.add(
      "headscale.version",
      `headscale ${JSON.stringify(requested)} is not supported`,
      `use one of ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")} (the kit renders only for releases whose configuration it knows)`,
    );
  }
  return version;
}

function checkUpgrade(ctx: Ctx, hs: HeadscaleSpec): void {
  if (ctx.version) checkRollback(hs, ctx.version, ctx.issues);
  if (hs.upgradeFrom === undefined || !ctx.version) return;
  const from = findHeadscaleVersion(hs.upgradeFrom);
  if (!from) {
    ctx.issues.add("headscale.upgradeFrom", `headscale ${JSON.stringify(hs.upgradeFrom)} is not a release the kit knows`, `use one of ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")}; older deployments upgrade to 0.27.1 by hand first`);
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

function checkServerUrl(ctx: Ctx, hs: HeadscaleSpec): void {
  const path = "headscale.serverUrl";
  if (hs.serverUrl === undefined) return;
  if (!/^https?:\/\//.test(hs.serverUrl)) {
    ctx.issues.add(path, `${JSON.stringify(hs.serverUrl)} does not start with https:// or http:// (headscale refuses to start)`, `write the full URL, e.g. "https://hs.example.com"`);
    return;
  }
  const host = urlHost(hs.serverUrl);
  if (host === undefined || !(isDnsName(host) || isIp(host) || host === "localhost")) {
    ctx.issues.add(path, `${JSON.stringify(hs.serverUrl)} is not a valid URL with a host name`, `write the full URL, e.g. "https://hs.example.com"`);
    return;
  }
  const url = new URL(hs.serverUrl);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    ctx.issues.add(path, `${JSON.stringify(hs.serverUrl)} has a path, query or fragment; Tailscale clients talk to the URL's root`, `use only scheme, host and port, e.g. "${url.protocol}//${url.host}"`);
  }
  const tls = tlsOf(hs);
  if (tls.mode !== "proxy" && url.protocol === "http:") {
    ctx.issues.add(path, `uses http:// while headscale terminates TLS itself (tls.mode ${JSON.stringify(tls.mode)})`, `use "https://${url.host}", or set tls.mode to "proxy" if nothing terminates TLS`);
  }
  checkHeadscaleEndpoint(hs, ctx.issues);
}

function checkPrefixes(ctx: Ctx, hs: HeadscaleSpec): void {
  const p = hs.prefixes ?? {};
  const { v4, v6 } = nodePrefixesOf(hs);
  if (v4 === undefined && v6 === undefined) {
    ctx.issues.add("headscale.prefixes", "sets neither v4 nor v6 (headscale refuses to start without a prefix)", `keep at least one, e.g. v4: "100.64.0.0/10"`);
  }
  const each: [string, string | undefined, 4 | 6][] = [["v4", v4, 4], ["v6", v6, 6]];
  for (const [key, value, family] of each) {
    if (value === undefined) continue;
    const path = `headscale.prefixes.${key}`;
    const parsed = parsePrefix(value);
    const range = family === 4 ? TAILSCALE_CGNAT : TAILSCALE_ULA;
    if (!parsed || parsed.family !== family) {
      ctx.issues.add(path, `${JSON.stringify(value)} is not an IPv${family} prefix`, `write it as address/bits inside ${range.text}, e.g. "${range.text}"`);
    } else if (!prefixWithin(parsed, range) && !p.allowNonStandard) {
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

function checkDns(ctx: Ctx, hs: HeadscaleSpec): void {
  const dns = hs.dns ?? {};
  const base = "headscale.dns";
  const magic = dns.magicDns ?? true;
  if (dns.baseDomain !== undefined && !(dns.baseDomain === "" && !magic)) {
    const path = `${base}.baseDomain`;
    const domain = dns.baseDomain.toLowerCase();
    const serverHost = hs.serverUrl === undefined ? undefined : urlHost(hs.serverUrl);
    if (!isDnsName(domain)) {
      ctx.issues.add(path, `${JSON.stringify(dns.baseDomain)} is not a DNS name`, `write a domain without scheme or trailing dot, e.g. "tail.example.net"`);
    } else if (serverHost === domain) {
      ctx.issues.add(path, `${JSON.stringify(dns.baseDomain)} equals the server URL's host; headscale refuses to start, since MagicDNS would capture the coordination server's name`, `use a domain of its own, e.g. "tail.${domain}" or one under another zone`);
    } else if (serverHost !== undefined && serverHost.endsWith(`.${domain}`)) {
      ctx.issues.add(path, `${JSON.stringify(dns.baseDomain)} is a parent of the server URL's host ${JSON.stringify(serverHost)} (whatever the port); headscale refuses to start, since MagicDNS would capture the coordination server's name`, `use a domain that does not contain the server's host, e.g. "tail.${serverHost}" or one under another zone`);
    }
  } else if (magic) {
    ctx.issues.add(`${base}.baseDomain`, "is required while MagicDNS is on (headscale refuses to start without it)", `set a domain for the tailnet, e.g. "tail.example.net", or set ${base}.magicDns: false`);
  }
  if (overrideLocalDnsOf(hs) && globalNameserversOf(hs).length === 0) {
    ctx.issues.add(`${base}.nameservers.global`, "is empty while overrideLocalDns is on (headscale refuses to start)", `list at least one resolver, e.g. ["1.1.1.1"], or set ${base}.overrideLocalDns: false`);
  }
  for (const [ns, i] of present(dns.nameservers?.global)) {
    if (!isIp(ns) && !/^https:\/\/[^/\s]+/.test(ns)) {
      ctx.issues.add(`${base}.nameservers.global[${i}]`, `${JSON.stringify(ns)} is neither an IP address nor a DoH URL (headscale drops it with only a warning)`, `write an address such as "1.1.1.1" or a URL such as "https://dns.example/dns-query"`);
    }
  }
  for (const [domain, servers] of Object.entries(dns.nameservers?.split ?? {})) {
    const path = joinPath(`${base}.nameservers.split`, domain);
    if (!isDnsName(domain) && !/^[a-z0-9-]+$/i.test(domain)) ctx.issues.add(path, `${JSON.stringify(domain)} is not a domain`, `use a domain such as "home.arpa"`);
    if (!servers || servers.length === 0) ctx.issues.add(path, "lists no resolver", "list at least one resolver address");
    for (const [s, i] of present(servers)) {
      if (!isIp(s)) ctx.issues.add(`${path}[${i}]`, `${JSON.stringify(s)} is not an IP address`, `write the resolver's address, e.g. "192.168.100.1"`);
    }
  }
  for (const [d, i] of present(dns.searchDomains)) {
    if (!isDnsName(d) && !/^[a-z0-9-]+$/i.test(d)) ctx.issues.add(`${base}.searchDomains[${i}]`, `${JSON.stringify(d)} is not a domain`, `write a domain such as "home.arpa"`);
  }
  for (const [r, i] of present(dns.extraRecords)) {
    const path = `${base}.extraRecords[${i}]`;
    if (r.name !== undefined && !isDnsName(r.name)) ctx.issues.add(`${path}.name`, `${JSON.stringify(r.name)} is not a fully qualified name`, `write a name such as "grafana.${dns.baseDomain ?? "tail.example.net"}"`);
    if (r.value !== undefined && r.type !== undefined) {
      const ok = r.type === "A" ? isIPv4(r.value) : isIPv6(r.value);
      if (!ok) ctx.issues.add(`${path}.value`, `${JSON.stringify(r.value)} is not an IPv${r.type === "A" ? 4 : 6} address, as a${r.type === "A" ? "n A" : "n AAAA"} record needs`, `write an IPv${r.type === "A" ? 4 : 6} address, or change the type`);
    }
  }
  if (dns.extraRecords?.length && dns.extraRecordsPath !== undefined) {
    ctx.issues.add(`${base}.extraRecordsPath`, "is set together with extraRecords (headscale refuses to start with both)", "keep one of extraRecords and extraRecordsPath");
  }
}

function checkTls(ctx: Ctx, hs: HeadscaleSpec): void {
  const tls = tlsOf(hs);
  const listen = parseListenAddress(hs.listenAddr ?? defaultListenAddr(tls));
  if (tls.mode === "letsencrypt") {
    if (tls.hostname !== undefined && !isDnsName(tls.hostname)) {
      ctx.issues.add("headscale.tls.hostname", `${JSON.stringify(tls.hostname)} is not a DNS name Let's Encrypt can issue for`, "use the server URL's host name");
    }
    if (tls.challenge === "TLS-ALPN-01" && listen && listen.port !== 443) {
      ctx.issues.add("headscale.tls.challenge", `TLS-ALPN-01 needs headscale itself listening on 443, but listenAddr is ${JSON.stringify(hs.listenAddr)}`, `set headscale.listenAddr to "0.0.0.0:443", or use challenge "HTTP-01"`);
    }
  }
  if (tls.mode === "files") {
    for (const key of ["certPath", "keyPath"] as const) {
      const value = tls[key];
      if (value !== undefined && !value.startsWith("/")) ctx.issues.add(`headscale.tls.${key}`, `${JSON.stringify(value)} is not an absolute path`, "give the absolute path of the file on the host");
    }
  }
}

function checkOidc(ctx: Ctx, hs: HeadscaleSpec): void {
  const oidc = hs.oidc;
  if (!oidc) return;
  if (oidc.issuer !== undefined && !/^https:\/\/[^/\s]+/.test(oidc.issuer)) {
    ctx.issues.add("headscale.oidc.issuer", `${JSON.stringify(oidc.issuer)} is not an https URL`, `write the issuer URL, e.g. "https://login.example.com"`);
  }
  if (oidc.clientSecretPath !== undefined && oidc.clientSecretPath.trim() === "") {
    ctx.issues.add("headscale.oidc.clientSecretPath", "is empty", `give the path of the file holding the secret on the host, e.g. "/etc/headscale/oidc_client_secret" (mode 0600, owned by headscale)`);
  }
  if (oidc.emailVerifiedRequired !== undefined && ctx.version && !ctx.version.minor.features.oidcEmailVerifiedRequired) {
    needsVersion(ctx, "headscale.oidc.emailVerifiedRequired", "oidc.email_verified_required", "0.28.0");
  }
  checkOidcExtraParams(oidc, ctx.issues);
}

function checkDurations(ctx: Ctx, hs: HeadscaleSpec): void {
  if (hs.ephemeralInactivityTimeout !== undefined) {
    const seconds = parseGoDuration(hs.ephemeralInactivityTimeout);
    const path = "headscale.ephemeralInactivityTimeout";
    if (seconds === undefined) {
      ctx.issues.add(path, `${JSON.stringify(hs.ephemeralInactivityTimeout)} is not a Go duration`, `write it like "30m" or "1h30m" (units ns, us, ms, s, m, h; there is no "d")`);
    } else if (seconds <= 65) {
      ctx.issues.add(path, `${JSON.stringify(hs.ephemeralInactivityTimeout)} is 65s or less (headscale refuses to start)`, `use more than 65s, e.g. "30m"`);
    }
  }
  if (hs.derpUpdateFrequency !== undefined && parseGoDuration(hs.derpUpdateFrequency) === undefined) {
    ctx.issues.add("headscale.derpUpdateFrequency", `${JSON.stringify(hs.derpUpdateFrequency)} is not a Go duration`, `write it like "3h" or "30m" (there is no "d"; "0" turns updates off)`);
  }
  if (hs.nodeExpiry !== undefined) {
    const path = "headscale.nodeExpiry";
    if (parsePrometheusDuration(hs.nodeExpiry) === undefined) {
      ctx.issues.add(path, `${JSON.stringify(hs.nodeExpiry)} is not a duration`, `write it like "180d", "1w" or "0" (never)`);
    } else if (ctx.version && !ctx.version.minor.features.nodeSection && !hs.oidc) {
      ctx.issues.add(path, `headscale ${ctx.version.version} has no default node expiry (node.expiry exists from 0.29.0; before, only OIDC logins expire, through oidc.expiry)`, "remove it, configure oidc, or target headscale 0.29.0 or later");
    }
  }
}

function checkEmbeddedDerp(ctx: Ctx, hs: HeadscaleSpec): void {
  const e = hs.embeddedDerp;
  if (!e?.enabled) return;
  const base = "headscale.embeddedDerp";
  if (hs.serverUrl?.startsWith("http://")) {
    ctx.issues.add(`${base}.enabled`, "the embedded DERP needs an https server URL (clients reach it at https://<server>/derp)", "use an https serverUrl, or turn the embedded DERP off");
  }
  if (e.regionId !== undefined && (!Number.isInteger(e.regionId) || e.regionId < 900 || e.regionId > 999)) {
    ctx.issues.add(`${base}.regionId`, `${e.regionId} is outside 900-999, the range reserved for self-hosted DERP`, "pick an id from 900 to 999 that no other region uses");
  }
  checkListen(ctx, `${base}.stunListenAddr`, e.stunListenAddr, "the STUN listener");
  for (const key of ["ipv4", "ipv6"] as const) {
    const v = e[key];
    if (v !== undefined && !isUnresolvedToken(v) && !(key === "ipv4" ? isIPv4(v) : isIPv6(v))) {
      ctx.issues.add(`${base}.${key}`, `${JSON.stringify(v)} is not an IPv${key === "ipv4" ? 4 : 6} address`, `write the server's public IPv${key === "ipv4" ? 4 : 6} address`);
    } else {
      checkPublicAddress(ctx.issues, ctx.warnings, `${base}.${key}`, v, "ipv4");
    }
  }
}

function checkHeadscale(ctx: Ctx): void {
  const hs = ctx.spec.headscale;
  if (!hs) return;
  const f = ctx.version?.minor.features;
  checkServerUrl(ctx, hs);
  checkUpgrade(ctx, hs);
  checkBackup(hs, ctx.issues);
  checkHostRef(ctx, "headscale.host", hs.host);
  checkHeadscaleTarget(hs, present(ctx.spec.hosts), ctx.warnings);
  checkListen(ctx, "headscale.listenAddr", hs.listenAddr, "the main listener");
  if (hs.metricsListenAddr === "") {
    if (f && !f.metricsCanBeDisabled) ctx.issues.add("headscale.metricsListenAddr", `headscale ${ctx.version!.version} cannot turn the metrics listener off (an empty address does so from 0.28.0)`, `use a private address such as "127.0.0.1:9090", or target 0.28.0 or later`);
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
      else if (p.bits === 0) ctx.issues.add(path, `${JSON.stringify(cidr)} trusts every address (headscale refuses /0)`, "list only your reverse proxies' addresses");
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
    ctx.issues.add("headscale.policy.path", `${JSON.stringify(hs.policy.path)} is not an absolute path`, "give the absolute path of the policy file on the host");
  }
  checkPrefixes(ctx, hs);
  checkDns(ctx, hs);
  checkTls(ctx, hs);
  checkOidc(ctx, hs);
  checkDurations(ctx, hs);
  checkEmbeddedDerp(ctx, hs);
}

function checkAddress(ctx: Ctx, path: string, value: string | undefined, family: 4 | 6, allowNone: boolean): void {
  if (value === undefined || isUnresolvedToken(value)) return;
  if (allowNone && value === "none") return;
  const ok = family === 4 ? isIPv4(value) : isIPv6(value);
  if (!ok) {
    ctx.issues.add(path, `${JSON.stringify(value)} is not an IPv${family} address`, `write an IPv${family} address${allowNone ? `, "none" to turn IPv${family} off,` : ""} or a Terraform token`);
  } else {
    checkPublicAddress(ctx.issues, ctx.warnings, path, value, path.split(".").at(-1)!.replace(/6$/, "4"));
  }
}

function checkHostname(ctx: Ctx, path: string, node: DerpNodeSpec): void {
  const h = node.hostname;
  if (h === undefined) return;
  if (isIp(h)) {
    if (checkPublicAddress(ctx.issues, ctx.warnings, path, h)) return;
    const mode = node.certificate?.mode;
    if (mode === "manual" && node.certName === undefined && !node.insecureForTests) {
      ctx.issues.add(
        path,
        `${JSON.stringify(h)} is an IP address, so no public CA certificate matches it and clients would refuse the node`,
        `use certificate mode "self-signed" (the kit issues and pins one), or pin your own with certName: "sha256-raw:<sha256 of its DER bytes>" (Tailscale clients 1.82+); for a lab only, insecureForTests: true`,
      );
    }
    return;
  }
  if (!isDnsName(h)) ctx.issues.add(path, `${JSON.stringify(h)} is neither a DNS name nor an IP address`, `write the name clients dial, e.g. "derp1.example.com"`);
}

function checkNode(ctx: Ctx, node: DerpNodeSpec, path: string): void {
  checkHostRef(ctx, `${path}.host`, node.host);
  checkHostname(ctx, `${path}.hostname`, node);
  checkCertificate(ctx, node, path);
  checkAddress(ctx, `${path}.ipv4`, node.ipv4, 4, true);
  checkAddress(ctx, `${path}.ipv6`, node.ipv6, 6, true);
  if (node.derpPort !== undefined && (!Number.isInteger(node.derpPort) || node.derpPort < 1 || node.derpPort > 65535)) {
    ctx.issues.add(`${path}.derpPort`, `${node.derpPort} is not a port`, "use a TCP port from 1 to 65535 (443 unless it is taken)");
  }
  if (node.stunPort !== undefined && node.stunPort !== -1 && (!Number.isInteger(node.stunPort) || node.stunPort < 1 || node.stunPort > 65535)) {
    ctx.issues.add(`${path}.stunPort`, `${node.stunPort} is not a port`, "use a UDP port from 1 to 65535 (usually 3478), or -1 to turn STUN off");
  }
  if (node.stunOnly && node.stunPort === -1) {
    ctx.issues.add(`${path}.stunPort`, "is -1 on a STUN-only node, which then does nothing", "give the node a STUN port, or make it a DERP node (stunOnly: false)");
  }
  if (node.certName !== undefined) {
    if (node.certName.startsWith("sha256-raw:") ? !SHA256_RAW_PIN.test(node.certName) : !isDnsName(node.certName)) {
      ctx.issues.add(`${path}.certName`, `${JSON.stringify(node.certName)} is neither "sha256-raw:" followed by 64 lower-case hex digits nor a DNS name`, `write the pin exactly as derper prints it, e.g. "sha256-raw:${"0".repeat(64)}"`);
    }
  }
}

function checkCertificate(ctx: Ctx, node: DerpNodeSpec, path: string): void {
  const cert = node.certificate;
  if (!cert) return;
  if (cert.mode === "letsencrypt") {
    if ((node.derpPort ?? 443) !== 443) {
      ctx.issues.add(`${path}.certificate.mode`, `derper serves TLS with Let's Encrypt only on port 443, but derpPort is ${node.derpPort} (it would serve plain HTTP)`, `use certificate mode "manual" with certificate files, or derpPort 443`);
    }
    if (node.hostname !== undefined && isIp(node.hostname)) {
      ctx.issues.add(`${path}.certificate.mode`, `Let's Encrypt issues no certificate for the IP address ${JSON.stringify(node.hostname)} in derper's letsencrypt mode`, `use certificate mode "manual" and pin the certificate with certName`);
    }
  } else if (cert.mode === "manual" && (cert.certFile === undefined) !== (cert.keyFile === undefined)) {
    ctx.issues.add(`${path}.certificate`, "names only one of certFile and keyFile", "give both the certificate and its private key, or neither");
  } else if (cert.mode === "self-signed") {
    if (node.certName !== undefined) {
      ctx.issues.add(`${path}.certName`, "is set while the kit issues the node's self-signed certificate; the pin is computed from that certificate", `remove certName, or use certificate mode "manual" with your own certificate`);
    }
    if (cert.validityDays !== undefined && (!Number.isInteger(cert.validityDays) || cert.validityDays < 31 || cert.validityDays > 3650)) {
      ctx.issues.add(`${path}.certificate.validityDays`, `${cert.validityDays} is outside 31-3650 days`, "use a whole number of days from 31 to 3650 (the kit reissues 30 days before expiry)");
    }
  }
}

function checkRegion(ctx: Ctx, region: DerpRegionSpec, path: string): void {
  if (region.id !== undefined && (!Number.isInteger(region.id) || region.id < 900 || region.id > 999)) {
    ctx.issues.add(`${path}.id`, `${region.id} is outside 900-999, the range reserved for self-hosted DERP regions`, "pick an unused id from 900 to 999");
  }
  if (region.name !== undefined && region.name.trim() === "") ctx.issues.add(`${path}.name`, "is empty", `name the region, e.g. "Hong Kong"`);
  const nodes = present(region.nodes);
  if (region.nodes !== undefined && region.nodes.length === 0) {
    ctx.issues.add(`${path}.nodes`, "is empty", "add at least one node, or remove the region");
  } else if (nodes.length > 0 && nodes.every(([n]) => n.stunOnly)) {
    ctx.issues.add(`${path}.nodes`, "has only STUN-only nodes, so nothing relays traffic in this region", "make at least one node a DERP node (stunOnly: false)");
  }
  for (const [node, i] of nodes) checkNode(ctx, node, `${path}.nodes[${i}]`);
  // derper dials its mesh peers at https://<hostname>/derp with ordinary certificate checks: no
  // pin, no InsecureForTests. A peer that only a pin vouches for cannot be meshed with.
  const relays = nodes.filter(([n]) => !n.stunOnly);
  if (relays.length > 1) {
    for (const [node, i] of relays) {
      const pinned = node.certificate?.mode === "self-signed" || node.certName?.startsWith("sha256-raw:") || (node.hostname !== undefined && isIp(node.hostname) && node.certificate === undefined);
      if (pinned || node.insecureForTests) {
        ctx.issues.add(
          `${path}.nodes[${i}]`,
          `is meshed with the region's other nodes, but its certificate is only trusted through ${node.insecureForTests ? "insecureForTests" : "a pin"}; derper checks mesh peers against public CAs, so the mesh would fail`,
          "give the region's nodes DNS names with CA certificates (letsencrypt, dns-01 or manual), or put this node in a region of its own",
        );
      }
    }
  }
}

function checkDerp(ctx: Ctx): void {
  const derp = ctx.spec.derp ?? {};
  const regions = present(derp.regions);
  for (const [region, i] of regions) checkRegion(ctx, region, `derp.regions[${i}]`);
  for (const [region, i] of duplicates(regions, (r) => r.id)) {
    ctx.issues.add(`derp.regions[${i}].id`, `${region.id} is used by another region too`, "give every region its own id from 900 to 999");
  }
  for (const [region, i] of duplicates(regions, (r) => r.code)) {
    ctx.issues.add(`derp.regions[${i}].code`, `${JSON.stringify(region.code)} is used by another region too`, "give every region its own code");
  }
  checkDerpHostnames(ctx.spec, ctx.issues);
  const nodes = regions.flatMap(([r, i]) => present(r.nodes).map(([n, j]) => [n, `derp.regions[${i}].nodes[${j}]`] as const));
  const seen = new Map<string, string>();
  for (const [node, path] of nodes) {
    if (node.name === undefined) continue;
    const first = seen.get(node.name);
    if (first) ctx.issues.add(`${path}.name`, `${JSON.stringify(node.name)} is also the name of ${first}; node names must be unique across the whole map`, "rename one of them, e.g. after its region code and number");
    else seen.set(node.name, path);
  }
  const choice = derp.tailscaleRegions;
  if (choice !== undefined && choice !== "drop") {
    ctx.warnings.add("derp.tailscaleRegions", "headscale fetches Tailscale's public DERP map at every start and refuses to start when that fetch fails", `use "drop" for a self-contained map, unless you need Tailscale's relays`);
  }
  if (ctx.spec.headscale?.embeddedDerp?.enabled && ctx.spec.headscale.embeddedDerp.verifyClients === false) {
    ctx.warnings.add("headscale.embeddedDerp.verifyClients", "the embedded DERP relays for anyone, not only for nodes headscale knows", "leave verifyClients on");
  }
  if (typeof choice === "object" && choice.keepExcept !== undefined) {
    if (choice.keepExcept.length === 0) ctx.issues.add("derp.tailscaleRegions.keepExcept", "is empty", `use "keep" to keep every public region`);
    for (const [id, i] of present(choice.keepExcept)) {
      if (!Number.isInteger(id) || id < 1) ctx.issues.add(`derp.tailscaleRegions.keepExcept[${i}]`, `${id} is not a region id`, "list Tailscale region ids such as 1 or 2");
    }
  }
  const embedded = ctx.spec.headscale?.embeddedDerp;
  if (embedded?.enabled) {
    const id = embedded.regionId ?? 999;
    const clash = regions.find(([r]) => r.id === id);
    if (clash) ctx.issues.add(`derp.regions[${clash[1]}].id`, `${id} is also the embedded DERP's region id; headscale would replace this region with the embedded one`, "give one of them another id");
    const code = embedded.regionCode ?? "headscale";
    const codeClash = regions.find(([r]) => r.code === code);
    if (codeClash) ctx.issues.add(`derp.regions[${codeClash[1]}].code`, `${JSON.stringify(code)} is also the embedded DERP's region code`, "give one of them another code");
  }
  // Counted before the structural check's removals: a malformed region is still a region the user meant.
  const regionCount = derp.regions?.length ?? 0;
  const embeddedInMap = embedded?.enabled && (embedded.automaticallyAddRegion ?? true);
  const rendersMapFile = regionCount > 0 || tailscaleRegionsOf(ctx.spec).excluded.length > 0;
  if (embedded?.enabled && embedded.automaticallyAddRegion === false && !rendersMapFile) {
    ctx.issues.add("headscale.embeddedDerp.automaticallyAddRegion", "is false while no DERP map file is rendered (headscale refuses to start)", "leave it true, or add regions under derp.regions");
  } else if (regionCount === 0 && !embeddedInMap && !tailscaleRegionsOf(ctx.spec).keep) {
    ctx.issues.add(
      "derp.regions",
      "no DERP region is left (no self-hosted region, Tailscale's public regions dropped, embedded DERP off); headscale refuses to start with an empty DERP map",
      `add a region, enable headscale.embeddedDerp, or set derp.tailscaleRegions: "keep"`,
    );
  }
}

function checkHosts(ctx: Ctx): void {
  const hosts = present(ctx.spec.hosts);
  for (const [host, i] of hosts) {
    const path = `hosts[${i}]`;
    if (host.docker?.sshOpts) checkSshOptions(host.docker.sshOpts, `${path}.docker.sshOpts`, ctx.issues);
    checkAddress(ctx, `${path}.publicIpv4`, host.publicIpv4, 4, false);
    checkAddress(ctx, `${path}.publicIpv6`, host.publicIpv6, 6, false);
  }
  for (const [host, i] of duplicates(hosts, (h: HostSpec) => h.name)) {
    ctx.issues.add(`hosts[${i}].name`, `${JSON.stringify(host.name)} is used by another host too`, "give every host its own name");
  }
}

function checkDnsZone(ctx: Ctx): void {
  const dns = ctx.spec.dns;
  if (!dns) return;
  if (dns.proxied) {
    ctx.issues.add("dns.proxied", "Cloudflare's proxy cannot carry DERP or the Tailscale control protocol (both need a direct TLS connection and long-lived upgrades)", "remove proxied or set it to false");
  }
  if (dns.zoneId === undefined && dns.zoneName === undefined) {
    ctx.issues.add("dns", "names no zone", `add zoneName (e.g. "example.com") or zoneId`);
  }
  if (dns.zoneName !== undefined && !isDnsName(dns.zoneName)) ctx.issues.add("dns.zoneName", `${JSON.stringify(dns.zoneName)} is not a DNS zone name`, `write the zone as "example.com"`);
  if (dns.ttl !== undefined && dns.ttl !== 1 && !(Number.isInteger(dns.ttl) && dns.ttl >= 60 && dns.ttl <= 86400)) {
    ctx.issues.add("dns.ttl", `${dns.ttl} is not a TTL Cloudflare accepts`, "use 1 (automatic) or 60 to 86400 seconds");
  }
}

function checkDerper(ctx: Ctx): void {
  const derper = ctx.spec.derp?.derper;
  if (!derper) return;
  if (derper.version !== undefined && !findTailscaleRelease(derper.version)) {
    ctx.issues.add("derp.derper.version", `${JSON.stringify(derper.version)} is not a Tailscale release the kit knows`, `use one of ${SUPPORTED_TAILSCALE_VERSIONS.join(", ")} (derper is built from it with a Go its go.mod accepts; never "latest", so a rebuild cannot change the relay silently)`);
  }
  if (derper.verifyClients === false) {
    ctx.warnings.add("derp.derper.verifyClients", "client verification is off: anyone who finds the relays can use them", "leave verifyClients on unless the relays are private");
  }
}

/** Checks that need the resolved model: sockets that collide on one host. */
function checkResolved(tailnet: ResolvedTailnet, spec: TailnetSpec, issues: IssueList): void {
  const specIndex = new Map((spec.hosts ?? []).map((h, i) => [h.name, i]));
  for (const host of tailnet.hosts) {
    const path = `hosts[${specIndex.get(host.name)}]`;
    const seen = new Map<string, string>();
    for (const [l, owner] of listenerOwners(tailnet, host)) {
      const key = `${l.protocol}/${l.port}`;
      const first = seen.get(key);
      if (first) {
        issues.add(path, `${l.protocol} port ${l.port} is opened twice on this host: by ${first} and by ${owner} (${l.role})`, "move one service to another host or another port");
      } else {
        seen.set(key, `${owner} (${l.role})`);
      }
    }
  }
}

function checkDevices(ctx: Ctx): void {
  const devices = present(ctx.spec.devices);
  const tailnet = tailnetPrefixes(ctx.spec.headscale);
  for (const [device, i] of devices) {
    const path = `devices[${i}]`;
    for (const [route, j] of present(device.advertiseRoutes)) {
      const at = `${path}.advertiseRoutes[${j}]`;
      const p = parsePrefix(route);
      if (!p) ctx.issues.add(at, `${JSON.stringify(route)} is not a CIDR prefix`, `write the subnet as address/bits, e.g. "192.168.100.0/24"`);
      else if (p.bits === 0) ctx.issues.add(at, `${JSON.stringify(route)} is a default route`, "remove it and set exitNode: true to offer the device as an exit node");
      else if (hasHostBits(p)) ctx.issues.add(at, `${JSON.stringify(route)} has host bits set; Tailscale refuses such routes`, `use the network address, "${networkOf(p)}"`);
      else checkAdvertisedRoute(ctx.issues, at, p, tailnet);
    }
  }
  for (const [device, i] of duplicates(devices, (d) => d.name)) {
    ctx.issues.add(`devices[${i}].name`, `${JSON.stringify(device.name)} is used by another device too`, "give every device its own name");
  }
}

/**
 * Validates a spec from any source (a TypeScript object or parsed YAML) and reports every problem
 * at once. Nothing is written or deployed by anything in the kit until this passes.
 */
export function validate(input: unknown): ValidationResult {
  const issues = new IssueList();
  const warnings = new IssueList();
  const sanitized = checkStructure(input, issues) as TailnetSpec | undefined;
  const structural = issues.length;
  if (sanitized !== undefined) {
    const version = sanitized.headscale ? checkVersion({ issues }, sanitized) : undefined;
    const hostNames = new Set(present(sanitized.hosts).map(([h]) => h.name).filter((n): n is string => n !== undefined));
    const ctx: Ctx = { spec: sanitized, issues, warnings, version, hostNames };
    checkHeadscale(ctx);
    checkDerp(ctx);
    checkDerper(ctx);
    checkHosts(ctx);
    checkVmHosts(sanitized, present(sanitized.hosts), issues, warnings, (input as { hosts?: unknown }).hosts);
    checkDnsZone(ctx);
    checkDdns(sanitized, present(sanitized.hosts), issues, warnings);
    checkAcme(sanitized, issues);
    checkDevices(ctx);
    checkUsers(sanitized, issues, (d) => parseGoDuration(d) !== undefined);
    checkUserNameCase(sanitized, issues);
    checkPolicy(sanitized, sanitized.name ?? "tailnet", issues);
    checkAdvisories(sanitized, version, warnings);
  }
  const resolved = issues.length === 0 ? resolve(input as TailnetSpec) : undefined;
  if (resolved) {
    checkResolved(resolved, input as TailnetSpec, issues);
    checkVmResolved(resolved, input as TailnetSpec, issues);
    checkSharedAddresses(resolved, input as TailnetSpec, issues, warnings);
  }
  if (issues.length > 0 || !resolved) return { ok: false, issues: withoutConsequences(issues.issues, structural), warnings: withSubjects(warnings.issues, sanitized ?? ({} as TailnetSpec)) };
  const all = [...withSubjects(warnings.issues, sanitized ?? ({} as TailnetSpec)), ...resolved.warnings];
  return { ok: true, spec: input as TailnetSpec, resolved: { ...resolved, warnings: all }, issues: [], warnings: all };
}
