/**
 * The table of defaults: every value the kit fills in for a field the spec leaves out, stated
 * once, in the spec's own shape (`DEFAULTS.headscale.metricsListenAddr` is the default of
 * `headscale.metricsListenAddr`). Resolution's first pass (each feature's `default...` function)
 * takes its values from here and nowhere else, and validation checks what resolution will use by
 * reading the same entries. test/model/defaults.test.ts holds every entry to its field's
 * `@default` in model/spec.ts, which the schema and docs/spec-reference.md show.
 *
 * Below the table: the defaults that follow from other fields (a listener by who terminates TLS,
 * a certificate source by the host name), each stated once as a function.
 */
import { TAILSCALE_CGNAT, TAILSCALE_ULA } from "./net.js";
import { DNS_SECRET_FILES, RESTIC_SECRET_FILES } from "./paths.js";
import type { DerpNodeSpec, HeadscaleSpec, HeadscaleTlsSpec, TailnetSpec } from "./spec.js";
import { DEFAULT_HEADSCALE_VERSION } from "./versions.js";

/** Let's Encrypt's production ACME directory (headscale's letsencrypt mode, DNS-01 certificates). */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/** The port of HTTPS: where Let's Encrypt's TLS-ALPN-01 and derper's letsencrypt mode must serve, and what a URL without a port dials. */
export const HTTPS_PORT = 443;
/** The port of plain HTTP: ACME's HTTP-01 challenge, captive-portal checks. */
export const HTTP_PORT = 80;

/** Every default of the spec, in its shape. */
export const DEFAULTS = {
  /** The tailnet's name: the folder of its secrets, and the user of devices that name none. */
  name: "tailnet",
  headscale: {
    /** The newest release without a known advisory (versions.ts, advisories.ts). */
    version: DEFAULT_HEADSCALE_VERSION,
    /** headscale's main listener, by who terminates TLS (see {@link defaultListenAddr}). */
    listenAddr: { terminatesTls: "0.0.0.0:443", behindProxy: "0.0.0.0:8080" },
    /** Metrics and debug: loopback only. */
    metricsListenAddr: "127.0.0.1:9090",
    /** Remote gRPC: loopback only. */
    grpcListenAddr: "127.0.0.1:50443",
    grpcAllowInsecure: false,
    trustedProxies: [] as readonly string[],
    /** Tailscale's own ranges: the addresses clients treat as the tailnet's. */
    prefixes: { v4: TAILSCALE_CGNAT.text, v6: TAILSCALE_ULA.text, allocation: "sequential", allowNonStandard: false },
    /** SQLite with write-ahead logging; PostgreSQL on its standard port over TLS. */
    database: { type: "sqlite", writeAheadLog: true, port: 5432, ssl: "require" },
    dns: {
      magicDns: true,
      baseDomain: "",
      overrideLocalDns: true,
      /** `global`: headscale's example resolvers, pushed to nodes only while overriding local DNS (see {@link defaultGlobalNameservers}). */
      nameservers: {
        global: ["1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001"] as readonly string[],
        split: {} as Readonly<Record<string, readonly string[]>>,
      },
      searchDomains: [] as readonly string[],
      extraRecords: [] as readonly never[],
    },
    /** Behind a TLS proxy; in letsencrypt mode: HTTP-01, no contact address, Let's Encrypt's production CA. */
    tls: { mode: "proxy", challenge: "HTTP-01", email: "", acmeUrl: LETS_ENCRYPT_DIRECTORY },
    oidc: {
      scope: ["openid", "profile", "email"] as readonly string[],
      extraParams: {} as Readonly<Record<string, string>>,
      allowedDomains: [] as readonly string[],
      allowedUsers: [] as readonly string[],
      allowedGroups: [] as readonly string[],
      onlyStartIfAvailable: true,
      emailVerifiedRequired: true,
      useExpiryFromToken: false,
      pkce: { enabled: false, method: "S256" },
    },
    log: { level: "info", format: "text" },
    /** From a file; without a path (and without the spec's policy) headscale allows all. */
    policy: { mode: "file", path: "" },
    embeddedDerp: {
      enabled: false,
      regionId: 999,
      regionCode: "headscale",
      regionName: "Headscale Embedded DERP",
      stunListenAddr: "0.0.0.0:3478",
      verifyClients: true,
      automaticallyAddRegion: true,
    },
    ephemeralInactivityTimeout: "30m",
    derpUpdateFrequency: "3h",
    taildrop: true,
    /** A server should not call out at start. */
    disableCheckUpdates: true,
    /** Hourly snapshots, two days of them on the host; restic's secrets in the host's files. */
    backup: {
      enabled: true,
      interval: "1h",
      keep: 48,
      restic: {
        passwordFile: RESTIC_SECRET_FILES.password,
        sshKeyFile: RESTIC_SECRET_FILES.sshKey,
        sshKnownHostsFile: RESTIC_SECRET_FILES.sshKnownHosts,
        keepHourly: 24,
        keepDaily: 14,
        keepWeekly: 8,
      },
    },
  },
  derp: {
    /** A self-contained map: headscale never fetches Tailscale's at start. */
    tailscaleRegions: "drop",
    derper: {
      /**
       * The newest Tailscale release whose build the kit's tests run (1.104.x needs Go 1.27, and
       * the Go module proxy where the tests run refuses the setec, gliderssh and gvisor versions
       * it pins; no advisory names derper: advisories.ts). Must be in TAILSCALE_RELEASES.
       */
      version: "1.102.5",
      /** Admit only clients headscale knows. */
      verifyClients: true,
    },
    regions: {
      noMeasureNoHome: false,
      nodes: {
        derpPort: 443,
        stunPort: 3478,
        stunOnly: false,
        insecureForTests: false,
        /** A kit-issued certificate's validity (five years); DNS-01's CA, renewal and checks. */
        certificate: {
          validityDays: 1826,
          acmeUrl: LETS_ENCRYPT_DIRECTORY,
          renewDaysBefore: 30,
          resolvers: [] as readonly string[],
          checkAuthoritativeNameservers: true,
        },
      },
    },
  },
  /** A DNS provider on a host (the updater, DNS-01): its secrets in the host's files, RFC 2136 on port 53. */
  dnsProvider: {
    cloudflare: { tokenFile: DNS_SECRET_FILES.cloudflareToken },
    rfc2136: { port: 53, tsigAlgorithm: "hmac-sha256", tsigSecretFile: DNS_SECRET_FILES.tsigSecret },
  },
  hosts: {
    dynamicIp: false,
    docker: { sshOpts: [] as readonly string[] },
    /** No admins: SSH, metrics and gRPC closed to everyone. */
    firewall: { adminCidrs: [] as readonly string[], sshPort: 22 },
    vm: { arch: "amd64", sshAuthorizedKeys: [] as readonly string[], headscale: { kind: "binary" } },
    /** Every five minutes, IPv4 from a "what is my IP" service, no IPv6, records short-lived. */
    ddns: { interval: "5m", ipv4: { url: "https://ipv4.icanhazip.com" }, ipv6: "off", ttl: 60 },
  },
  dns: { ttl: 300, proxied: false },
  devices: { advertiseRoutes: [] as readonly string[], exitNode: false, tags: [] as readonly string[] },
  /** Without ACLs the policy allows all (model/policy.ts allowAllAcl); clients keep Tailscale's fixed port. */
  policy: { randomizeClientPort: false },
} as const;

/** Who terminates TLS for headscale, as far as its listener's default goes. */
export function terminatesTls(tlsMode: string): boolean {
  return tlsMode !== "proxy";
}

/** The tailnet's name: the spec's, else the default. */
export function defaultName(spec: Pick<TailnetSpec, "name">): string {
  return spec.name ?? DEFAULTS.name;
}

/** headscale's main listener when the spec gives none: 443 when it terminates TLS itself, else 8080 behind the proxy. */
export function defaultListenAddr(tlsMode: string): string {
  return terminatesTls(tlsMode) ? DEFAULTS.headscale.listenAddr.terminatesTls : DEFAULTS.headscale.listenAddr.behindProxy;
}

/** The resolvers pushed to nodes when the spec lists none: headscale's example ones while overriding local DNS, else none. */
export function defaultGlobalNameservers(overrideLocalDns: boolean): readonly string[] {
  return overrideLocalDns ? DEFAULTS.headscale.dns.nameservers.global : [];
}

/** PostgreSQL's port when the spec gives none: the standard one, none for a unix socket directory. */
export function defaultPostgresPort(host: string): number | undefined {
  return host.startsWith("/") ? undefined : DEFAULTS.headscale.database.port;
}

/** A DERP node answers plain HTTP on port 80 (CanPort80) when the spec does not say: when it serves DERP on the HTTPS port. */
export function defaultCanPort80(derpPort: number): boolean {
  return derpPort === HTTPS_PORT;
}

/**
 * A DERP node's certificate source when its spec names none: self-signed and pinned for an IP
 * address without a pin of the user's own (or a lab's insecureForTests), Let's Encrypt for a DNS
 * name on the HTTPS port, else files.
 */
export function defaultCertificateSource(node: {
  readonly hostnameIsIp: boolean;
  readonly derpPort: number;
  readonly certName: string | undefined;
  readonly insecureForTests: boolean;
}): "letsencrypt" | "manual" | "self-signed" {
  if (node.hostnameIsIp) return node.certName === undefined && !node.insecureForTests ? "self-signed" : "manual";
  return node.derpPort === HTTPS_PORT ? "letsencrypt" : "manual";
}

// ---------------------------------------------------------------------------------------------
// fields with their defaults, for the first pass and for the checks (which see a sanitized spec)

/** The DERP port of a node, defaulted. */
export function derpPortOf(node: Pick<DerpNodeSpec, "derpPort">): number {
  return node.derpPort ?? DEFAULTS.derp.regions.nodes.derpPort;
}

/** The TLS mode, defaulted. */
export function tlsOf(spec: HeadscaleSpec): HeadscaleTlsSpec {
  return spec.tls ?? { mode: DEFAULTS.headscale.tls.mode };
}

/** headscale's main listener, defaulted. */
export function listenAddrOf(spec: HeadscaleSpec): string {
  return spec.listenAddr ?? defaultListenAddr(tlsOf(spec).mode);
}

/** The node address prefixes, defaulted; undefined where the spec turns a family off (`null`). */
export function nodePrefixesOf(spec: HeadscaleSpec): { v4: string | undefined; v6: string | undefined } {
  const p = spec.prefixes;
  const d = DEFAULTS.headscale.prefixes;
  return { v4: p?.v4 === null ? undefined : (p?.v4 ?? d.v4), v6: p?.v6 === null ? undefined : (p?.v6 ?? d.v6) };
}

/** MagicDNS, defaulted. */
export function magicDnsOf(spec: HeadscaleSpec): boolean {
  return spec.dns?.magicDns ?? DEFAULTS.headscale.dns.magicDns;
}

/** `overrideLocalDns`, defaulted. */
export function overrideLocalDnsOf(spec: HeadscaleSpec): boolean {
  return spec.dns?.overrideLocalDns ?? DEFAULTS.headscale.dns.overrideLocalDns;
}

/** Global nameservers, defaulted. */
export function globalNameserversOf(spec: HeadscaleSpec): readonly string[] {
  return spec.dns?.nameservers?.global ?? defaultGlobalNameservers(overrideLocalDnsOf(spec));
}

/** The target release as the spec names it, defaulted. */
export function requestedVersionOf(spec: TailnetSpec): string {
  return spec.headscale?.version ?? DEFAULTS.headscale.version;
}
