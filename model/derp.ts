/**
 * The DERP map and its relays: regions and nodes checked (the DERP map's rules and derper's),
 * defaulted (the first pass: ports, certificate source), and each node's derper derived from the
 * defaulted elements (the second pass): its certificate mode and files, listeners, client
 * verification against headscale and the region's mesh. derper's command line is rendered from
 * these settings late (render/command-lines.ts), with the file paths as parameters.
 */
import { resolveAcme } from "./acme.js";
import { checkAddress, checkPublicAddress } from "./addresses.js";
import { checkHostRef, duplicates, present, type CheckContext } from "./context.js";
import { DEFAULTS, HTTP_PORT, HTTPS_PORT, defaultCanPort80, defaultCertificateSource, derpPortOf } from "./defaults.js";
import { defaultDnsProvider } from "./ddns.js";
import type { CertificateElement, DerpElement, HostElement, NodeElement, RegionElement, ResolveContext } from "./elements.js";
import { checkDerpHostnames } from "./name-collisions.js";
import { isDnsName, isIPv4, isIPv6, isIp } from "./net.js";
import { derperCertFileBase } from "./paths.js";
import type { ResolvedDerp, ResolvedDerpNode, ResolvedDerper, ResolvedListener } from "./resolved.js";
import type { DerpCertificateSpec, DerpNodeSpec, DerpRegionSpec, TailnetSpec } from "./spec.js";
import { findTailscaleRelease, SUPPORTED_TAILSCALE_VERSIONS } from "./tailscale-releases.js";

/** Tailscale release derper is built from unless the spec says otherwise. Must be in TAILSCALE_RELEASES. */
export const DEFAULT_DERPER_VERSION: string = DEFAULTS.derp.derper.version;

/** The effective public-region choice. */
export function tailscaleRegionsOf(spec: TailnetSpec): { keep: boolean; excluded: number[] } {
  const choice = spec.derp?.tailscaleRegions ?? DEFAULTS.derp.tailscaleRegions;
  if (choice === "drop") return { keep: false, excluded: [] };
  if (choice === "keep") return { keep: true, excluded: [] };
  return { keep: true, excluded: [...choice.keepExcept].sort((a, b) => a - b) };
}

/** The Tailscale release derper is built from, as the spec names it, defaulted. */
export function derperVersionOf(spec: TailnetSpec): string {
  const version = spec.derp?.derper?.version;
  return typeof version === "string" ? version : DEFAULT_DERPER_VERSION;
}

// ---------------------------------------------------------------------------------------------
// first pass

function defaultCertificate(cert: DerpCertificateSpec | undefined, node: Parameters<typeof defaultCertificateSource>[0]): CertificateElement {
  const d = DEFAULTS.derp.regions.nodes.certificate;
  const source = cert?.mode ?? defaultCertificateSource(node);
  switch (source) {
    case "letsencrypt":
      return { source };
    case "manual":
      return { source, files: cert?.mode === "manual" && cert.certFile && cert.keyFile ? { certFile: cert.certFile, keyFile: cert.keyFile } : undefined };
    case "self-signed":
      return { source, validityDays: (cert?.mode === "self-signed" ? cert.validityDays : undefined) ?? d.validityDays };
    case "dns-01": {
      const dns01 = cert as Extract<DerpCertificateSpec, { mode: "dns-01" }>;
      return {
        source,
        email: dns01.email,
        acmeUrl: dns01.acmeUrl ?? d.acmeUrl,
        provider: defaultDnsProvider(dns01.provider),
        renewDaysBefore: dns01.renewDaysBefore ?? d.renewDaysBefore,
        resolvers: dns01.resolvers ?? d.resolvers,
        checkAuthoritativeNameservers: dns01.checkAuthoritativeNameservers ?? d.checkAuthoritativeNameservers,
      };
    }
  }
}

function defaultNode(region: DerpRegionSpec, node: DerpNodeSpec, specPath: string): NodeElement {
  const d = DEFAULTS.derp.regions.nodes;
  const hostnameIsIp = isIp(node.hostname);
  const derpPort = derpPortOf(node);
  const insecureForTests = node.insecureForTests ?? d.insecureForTests;
  return {
    name: node.name,
    specPath,
    regionId: region.id,
    host: node.host,
    hostname: node.hostname,
    hostnameIsIp,
    certName: node.certName,
    ipv4: node.ipv4,
    ipv6: node.ipv6,
    derpPort,
    stunPort: node.stunPort ?? d.stunPort,
    canPort80: node.canPort80 ?? defaultCanPort80(derpPort),
    stunOnly: node.stunOnly ?? d.stunOnly,
    insecureForTests,
    certificate: defaultCertificate(node.certificate, { hostnameIsIp, derpPort, certName: node.certName, insecureForTests }),
  };
}

function defaultRegion(region: DerpRegionSpec, index: number): RegionElement {
  return {
    id: region.id,
    code: region.code,
    name: region.name,
    noMeasureNoHome: region.noMeasureNoHome ?? DEFAULTS.derp.regions.noMeasureNoHome,
    nodes: region.nodes.map((n, i) => defaultNode(region, n, `derp.regions[${index}].nodes[${i}]`)),
  };
}

/** The DERP map, defaulted: regions ordered by id, each region's nodes in spec order. */
export function defaultDerp(spec: TailnetSpec): DerpElement {
  const derper = spec.derp?.derper;
  const publicRegions = tailscaleRegionsOf(spec);
  return {
    derperVersion: derperVersionOf(spec).replace(/^v/, ""),
    derperImage: derper?.image,
    verifyClients: derper?.verifyClients ?? DEFAULTS.derp.derper.verifyClients,
    tailscaleRegions: publicRegions.keep ? "keep" : "drop",
    excludedTailscaleRegions: publicRegions.excluded,
    regions: (spec.derp?.regions ?? []).map(defaultRegion).sort((a, b) => a.id - b.id),
  };
}

// ---------------------------------------------------------------------------------------------
// second pass

/** A node's address for one family: explicit, else its (static) host's, else the host name if it is one. */
function nodeAddress(node: NodeElement, host: HostElement | undefined, family: 4 | 6): string | undefined {
  const explicit = family === 4 ? node.ipv4 : node.ipv6;
  if (explicit !== undefined) return explicit;
  // A dynamic host's address goes stale: clients resolve the node's name instead, which the
  // updater on the host keeps current.
  const fromHost = host?.dynamicIp ? undefined : family === 4 ? host?.publicIpv4 : host?.publicIpv6;
  if (fromHost !== undefined) return fromHost;
  const matches = family === 4 ? isIPv4(node.hostname) : isIPv6(node.hostname);
  return matches ? node.hostname : undefined;
}

/** How a node's derper runs, from the node, its region and its host. */
function resolveDerper(ctx: ResolveContext, region: RegionElement, node: NodeElement, host: HostElement | undefined): ResolvedDerper {
  const cert = node.certificate;
  const certMode = cert.source === "letsencrypt" ? "letsencrypt" : "manual";
  // Port 80 serves captive-portal checks (CanPort80) and Let's Encrypt's HTTP-01 challenge.
  const httpPort = node.canPort80 || certMode === "letsencrypt" ? HTTP_PORT : -1;
  const listeners: ResolvedListener[] = [
    ...(node.stunOnly ? [] : [{ role: "derp", protocol: "tcp" as const, hostIp: "0.0.0.0", port: node.derpPort, public: true }]),
    ...(httpPort > 0 && !node.stunOnly ? [{ role: "http", protocol: "tcp" as const, hostIp: "0.0.0.0", port: httpPort, public: true }] : []),
    ...(node.stunPort > 0 ? [{ role: "stun", protocol: "udp" as const, hostIp: "0.0.0.0", port: node.stunPort, public: true }] : []),
  ];
  return {
    certMode,
    certificateSource: cert.source,
    acme: cert.source === "dns-01" ? resolveAcme(node, cert, host, ctx.dns) : undefined,
    selfSignedValidityDays: cert.source === "self-signed" ? cert.validityDays : undefined,
    certFileBase: derperCertFileBase(node.hostname),
    certificateFiles: cert.source === "manual" ? cert.files : undefined,
    verifyClientUrl: ctx.derp.verifyClients ? `${ctx.headscale.serverUrl.replace(/\/+$/, "")}/verify` : undefined,
    httpPort,
    mesh:
      region.nodes.length > 1
        ? region.nodes.filter((n) => n !== node && !n.stunOnly).map((n) => ({ node: n.name, hostname: n.hostname, port: n.derpPort }))
        : [],
    listeners,
  };
}

function resolveNode(ctx: ResolveContext, region: RegionElement, node: NodeElement): ResolvedDerpNode {
  const host = node.host === undefined ? undefined : ctx.hostsByName.get(node.host);
  const { certificate: _certificate, ...settings } = node;
  return { ...settings, ipv4: nodeAddress(node, host, 4), ipv6: nodeAddress(node, host, 6), derper: resolveDerper(ctx, region, node, host) };
}

/** The DERP map with every node's derper. */
export function resolveDerp(ctx: ResolveContext): ResolvedDerp {
  const { verifyClients: _verifyClients, ...derp } = ctx.derp;
  return {
    ...derp,
    regions: ctx.derp.regions.map((region) => {
      const { nodes, ...rest } = region;
      return { ...rest, nodes: nodes.map((node) => resolveNode(ctx, region, node)) };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// checks

const SHA256_RAW_PIN = /^sha256-raw:[0-9a-f]{64}$/;

function checkHostname(ctx: CheckContext, path: string, node: DerpNodeSpec): void {
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
  if (!isDnsName(h))
    ctx.issues.add(path, `${JSON.stringify(h)} is neither a DNS name nor an IP address`, `write the name clients dial, e.g. "derp1.example.com"`);
}

function checkCertificate(ctx: CheckContext, node: DerpNodeSpec, path: string): void {
  const cert = node.certificate;
  if (!cert) return;
  if (cert.mode === "letsencrypt") {
    if (derpPortOf(node) !== HTTPS_PORT) {
      ctx.issues.add(
        `${path}.certificate.mode`,
        `derper serves TLS with Let's Encrypt only on port 443, but derpPort is ${node.derpPort} (it would serve plain HTTP)`,
        `use certificate mode "manual" with certificate files, or derpPort 443`,
      );
    }
    if (node.hostname !== undefined && isIp(node.hostname)) {
      ctx.issues.add(
        `${path}.certificate.mode`,
        `Let's Encrypt issues no certificate for the IP address ${JSON.stringify(node.hostname)} in derper's letsencrypt mode`,
        `use certificate mode "manual" and pin the certificate with certName`,
      );
    }
  } else if (cert.mode === "manual" && (cert.certFile === undefined) !== (cert.keyFile === undefined)) {
    ctx.issues.add(`${path}.certificate`, "names only one of certFile and keyFile", "give both the certificate and its private key, or neither");
  } else if (cert.mode === "self-signed") {
    if (node.certName !== undefined) {
      ctx.issues.add(
        `${path}.certName`,
        "is set while the kit issues the node's self-signed certificate; the pin is computed from that certificate",
        `remove certName, or use certificate mode "manual" with your own certificate`,
      );
    }
    if (cert.validityDays !== undefined && (!Number.isInteger(cert.validityDays) || cert.validityDays < 31 || cert.validityDays > 3650)) {
      ctx.issues.add(
        `${path}.certificate.validityDays`,
        `${cert.validityDays} is outside 31-3650 days`,
        "use a whole number of days from 31 to 3650 (the kit reissues 30 days before expiry)",
      );
    }
  }
}

function checkNode(ctx: CheckContext, node: DerpNodeSpec, path: string): void {
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
    ctx.issues.add(
      `${path}.stunPort`,
      "is -1 on a STUN-only node, which then does nothing",
      "give the node a STUN port, or make it a DERP node (stunOnly: false)",
    );
  }
  if (node.certName !== undefined) {
    if (node.certName.startsWith("sha256-raw:") ? !SHA256_RAW_PIN.test(node.certName) : !isDnsName(node.certName)) {
      ctx.issues.add(
        `${path}.certName`,
        `${JSON.stringify(node.certName)} is neither "sha256-raw:" followed by 64 lower-case hex digits nor a DNS name`,
        `write the pin exactly as derper prints it, e.g. "sha256-raw:${"0".repeat(64)}"`,
      );
    }
  }
}

function checkRegion(ctx: CheckContext, region: DerpRegionSpec, path: string): void {
  if (region.id !== undefined && (!Number.isInteger(region.id) || region.id < 900 || region.id > 999)) {
    ctx.issues.add(`${path}.id`, `${region.id} is outside 900-999, the range reserved for self-hosted DERP regions`, "pick an unused id from 900 to 999");
  }
  if (region.name !== undefined && region.name.trim() === "") ctx.issues.add(`${path}.name`, "is empty", `name the region, e.g. "Hong Kong"`);
  const nodes = present(region.nodes);
  if (region.nodes !== undefined && region.nodes.length === 0) {
    ctx.issues.add(`${path}.nodes`, "is empty", "add at least one node, or remove the region");
  } else if (nodes.length > 0 && nodes.every(([n]) => n.stunOnly)) {
    ctx.issues.add(
      `${path}.nodes`,
      "has only STUN-only nodes, so nothing relays traffic in this region",
      "make at least one node a DERP node (stunOnly: false)",
    );
  }
  for (const [node, i] of nodes) checkNode(ctx, node, `${path}.nodes[${i}]`);
  // derper dials its mesh peers at https://<hostname>/derp with ordinary certificate checks: no
  // pin, no InsecureForTests. A peer that only a pin vouches for cannot be meshed with.
  const relays = nodes.filter(([n]) => !n.stunOnly);
  if (relays.length > 1) {
    for (const [node, i] of relays) {
      const pinned =
        node.certificate?.mode === "self-signed" ||
        node.certName?.startsWith("sha256-raw:") ||
        (node.hostname !== undefined && isIp(node.hostname) && node.certificate === undefined);
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

/** The rules of the DERP map: regions, nodes, names, the public regions, the embedded DERP beside them. */
export function checkDerp(ctx: CheckContext): void {
  const derp = ctx.spec.derp ?? {};
  const regions = present(derp.regions);
  for (const [region, i] of regions) checkRegion(ctx, region, `derp.regions[${i}]`);
  for (const [region, i] of duplicates(regions, (r) => r.id)) {
    ctx.issues.add(`derp.regions[${i}].id`, `${region.id} is used by another region too`, "give every region its own id from 900 to 999");
  }
  for (const [region, i] of duplicates(regions, (r) => r.code)) {
    ctx.issues.add(`derp.regions[${i}].code`, `${JSON.stringify(region.code)} is used by another region too`, "give every region its own code");
  }
  checkDerpHostnames(ctx);
  const seen = new Map<string, string>();
  for (const { node, path } of ctx.nodes) {
    if (node.name === undefined) continue;
    const first = seen.get(node.name);
    if (first)
      ctx.issues.add(
        `${path}.name`,
        `${JSON.stringify(node.name)} is also the name of ${first}; node names must be unique across the whole map`,
        "rename one of them, e.g. after its region code and number",
      );
    else seen.set(node.name, path);
  }
  const choice = derp.tailscaleRegions;
  if (choice !== undefined && choice !== "drop") {
    ctx.warnings.add(
      "derp.tailscaleRegions",
      "headscale fetches Tailscale's public DERP map at every start and refuses to start when that fetch fails",
      `use "drop" for a self-contained map, unless you need Tailscale's relays`,
    );
  }
  if (ctx.spec.headscale?.embeddedDerp?.enabled && ctx.spec.headscale.embeddedDerp.verifyClients === false) {
    ctx.warnings.add(
      "headscale.embeddedDerp.verifyClients",
      "the embedded DERP relays for anyone, not only for nodes headscale knows",
      "leave verifyClients on",
    );
  }
  if (typeof choice === "object" && choice.keepExcept !== undefined) {
    if (choice.keepExcept.length === 0) ctx.issues.add("derp.tailscaleRegions.keepExcept", "is empty", `use "keep" to keep every public region`);
    for (const [id, i] of present(choice.keepExcept)) {
      if (!Number.isInteger(id) || id < 1)
        ctx.issues.add(`derp.tailscaleRegions.keepExcept[${i}]`, `${id} is not a region id`, "list Tailscale region ids such as 1 or 2");
    }
  }
  const embedded = ctx.spec.headscale?.embeddedDerp;
  if (embedded?.enabled) {
    const id = embedded.regionId ?? DEFAULTS.headscale.embeddedDerp.regionId;
    const clash = regions.find(([r]) => r.id === id);
    if (clash)
      ctx.issues.add(
        `derp.regions[${clash[1]}].id`,
        `${id} is also the embedded DERP's region id; headscale would replace this region with the embedded one`,
        "give one of them another id",
      );
    const code = embedded.regionCode ?? DEFAULTS.headscale.embeddedDerp.regionCode;
    const codeClash = regions.find(([r]) => r.code === code);
    if (codeClash)
      ctx.issues.add(`derp.regions[${codeClash[1]}].code`, `${JSON.stringify(code)} is also the embedded DERP's region code`, "give one of them another code");
  }
  // Counted before the structural check's removals: a malformed region is still a region the user meant.
  const regionCount = derp.regions?.length ?? 0;
  const addsRegion = embedded?.automaticallyAddRegion ?? DEFAULTS.headscale.embeddedDerp.automaticallyAddRegion;
  const embeddedInMap = embedded?.enabled && addsRegion;
  const publicRegions = tailscaleRegionsOf(ctx.spec);
  const rendersMapFile = regionCount > 0 || publicRegions.excluded.length > 0;
  if (embedded?.enabled && !addsRegion && !rendersMapFile) {
    ctx.issues.add(
      "headscale.embeddedDerp.automaticallyAddRegion",
      "is false while no DERP map file is rendered (headscale refuses to start)",
      "leave it true, or add regions under derp.regions",
    );
  } else if (regionCount === 0 && !embeddedInMap && !publicRegions.keep) {
    ctx.issues.add(
      "derp.regions",
      "no DERP region is left (no self-hosted region, Tailscale's public regions dropped, embedded DERP off); headscale refuses to start with an empty DERP map",
      `add a region, enable headscale.embeddedDerp, or set derp.tailscaleRegions: "keep"`,
    );
  }
}

/** The rules of `derp.derper`. */
export function checkDerper(ctx: CheckContext): void {
  const derper = ctx.spec.derp?.derper;
  if (!derper) return;
  if (derper.version !== undefined && !findTailscaleRelease(derper.version)) {
    ctx.issues.add(
      "derp.derper.version",
      `${JSON.stringify(derper.version)} is not a Tailscale release the kit knows`,
      `use one of ${SUPPORTED_TAILSCALE_VERSIONS.join(", ")} (derper is built from it with a Go its go.mod accepts; never "latest", so a rebuild cannot change the relay silently)`,
    );
  }
  if (derper.verifyClients === false) {
    ctx.warnings.add(
      "derp.derper.verifyClients",
      "client verification is off: anyone who finds the relays can use them",
      "leave verifyClients on unless the relays are private",
    );
  }
}
