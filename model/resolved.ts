/**
 * The resolved model: every default filled, everything derived exactly once. Renderers, the CLI
 * and the constructs read only this; nothing downstream re-derives what resolve decided.
 */
import type { ResolvedBackup } from "./backup.js";
import type { ResolvedDdns } from "./ddns.js";
import type { ModelWarning } from "./issues.js";
import type { ResolvedDerper, ResolvedListener } from "./derper.js";
import type { ResolvedPolicy, ResolvedUser } from "./policy.js";
import type { HeadscaleVersion } from "./versions.js";
import type { ResolvedFirewall, ResolvedVm } from "./vm.js";

export type { ResolvedDerper, ResolvedListener } from "./derper.js";
export type { ResolvedPolicy, ResolvedUser } from "./policy.js";
export type * from "./vm.js";
export type { ResolvedAcme, ResolvedDerperRestart } from "./acme.js";
export type { ResolvedBackup, ResolvedBeforeStart, ResolvedRestic } from "./backup.js";
export type { ResolvedAddressSource, ResolvedDdns, ResolvedDdnsRecord, ResolvedDnsProvider } from "./ddns.js";

/** A validated, fully resolved tailnet. */
export interface ResolvedTailnet {
  readonly name: string;
  readonly headscale: ResolvedHeadscale;
  readonly derp: ResolvedDerp;
  readonly hosts: readonly ResolvedHost[];
  readonly devices: readonly ResolvedDevice[];
  /** Public DNS records, when the spec names a zone. */
  readonly dns: ResolvedDnsZone | undefined;
  /** headscale users: declared ones and those devices name. */
  readonly users: readonly ResolvedUser[];
  /** The policy file's content, when the spec has a policy. */
  readonly policy: ResolvedPolicy | undefined;
  /**
   * Legal but risky choices and what the deployment still needs from its operator (model/warnings.ts):
   * the CLI prints them, the constructs annotate them.
   */
  readonly warnings: readonly ModelWarning[];
}

/** A DNS zone and the records the kit keeps in it. */
export interface ResolvedDnsZone {
  readonly provider: "cloudflare";
  readonly zoneId: string | undefined;
  readonly zoneName: string | undefined;
  readonly ttl: number;
  readonly records: readonly ResolvedDnsRecord[];
  /** Host names that need a record but whose host has no address yet (dynamic hosts). */
  readonly unaddressed: readonly string[];
}

/** One A or AAAA record. */
export interface ResolvedDnsRecord {
  /** Fully qualified name. */
  readonly name: string;
  readonly type: "A" | "AAAA";
  /** An address or a Terraform token. */
  readonly value: string;
  /** The host the address belongs to. */
  readonly host: string;
  /** The host's address changes: Terraform creates the record once, an updater keeps it current. */
  readonly dynamic: boolean;
  /** Why the record exists, e.g. `headscale`, `derp node hkg-1`. */
  readonly purpose: string;
}

/** Where headscale keeps its files on the host it runs on. */
export interface HeadscalePaths {
  /** config.yaml, derp.yaml and the policy: `/etc/headscale`. */
  readonly configDir: string;
  /** Keys, the SQLite database, the ACME cache: `/var/lib/headscale`. */
  readonly stateDir: string;
  /** The unix socket: `/var/run/headscale`. */
  readonly runDir: string;
}

export interface ResolvedHeadscale {
  readonly version: HeadscaleVersion;
  /** The release being upgraded from (validated as a safe step), when the spec says so. */
  readonly upgradeFrom: HeadscaleVersion | undefined;
  /** The release being rolled back from (validated as the reverse of one upgrade step), when the spec says so. */
  readonly rollbackFrom: HeadscaleVersion | undefined;
  readonly serverUrl: string;
  /** The server URL's host name, without port. */
  readonly serverHost: string;
  readonly host: string | undefined;
  readonly listenAddr: string;
  /** Empty when the listener is off. */
  readonly metricsListenAddr: string;
  readonly grpcListenAddr: string;
  readonly grpcAllowInsecure: boolean;
  readonly trustedProxies: readonly string[];
  readonly prefixes: { readonly v4: string | undefined; readonly v6: string | undefined; readonly allocation: "sequential" | "random" };
  readonly database: ResolvedDatabase;
  readonly dns: ResolvedHeadscaleDns;
  readonly tls: ResolvedHeadscaleTls;
  readonly oidc: ResolvedOidc | undefined;
  readonly log: { readonly level: string; readonly format: "text" | "json" };
  readonly policy: { readonly mode: "file" | "database"; readonly path: string };
  readonly embeddedDerp: ResolvedEmbeddedDerp | undefined;
  readonly ephemeralInactivityTimeout: string;
  readonly nodeExpiry: string | undefined;
  readonly derpUpdateFrequency: string;
  readonly taildrop: boolean;
  readonly disableCheckUpdates: boolean;
  readonly paths: HeadscalePaths;
  /** DERPMap JSON URLs headscale fetches at start: Tailscale's public map when it is kept. */
  readonly derpMapUrls: readonly string[];
  /** Where the rendered derp.yaml lives on the host; empty when there is nothing to put in it. */
  readonly derpMapPaths: readonly string[];
  /** The official image at the target version. */
  readonly image: string;
  /** Runs in a container: the listen addresses above are the container's, `listeners` the host's. */
  readonly containerized: boolean;
  /** Sockets headscale opens on its host, with where they are published. */
  readonly listeners: readonly ResolvedListener[];
  /** Backups of its state on the host it runs on (model/backup.ts); undefined when it names no host. */
  readonly backup: ResolvedBackup | undefined;
}

export type ResolvedDatabase =
  | { readonly type: "sqlite"; readonly writeAheadLog: boolean }
  | {
      readonly type: "postgres";
      readonly host: string;
      readonly port: number | undefined;
      readonly name: string;
      readonly user: string;
      readonly ssl: string;
    };

export interface ResolvedHeadscaleDns {
  readonly magicDns: boolean;
  readonly baseDomain: string;
  readonly overrideLocalDns: boolean;
  readonly nameservers: { readonly global: readonly string[]; readonly split: Readonly<Record<string, readonly string[]>> };
  readonly searchDomains: readonly string[];
  readonly extraRecords: readonly { readonly name: string; readonly type: "A" | "AAAA"; readonly value: string }[];
  readonly extraRecordsPath: string | undefined;
}

export type ResolvedHeadscaleTls =
  | { readonly mode: "proxy" }
  | {
      readonly mode: "letsencrypt";
      readonly hostname: string;
      readonly challenge: "HTTP-01" | "TLS-ALPN-01";
      readonly email: string;
      readonly acmeUrl: string;
    }
  | { readonly mode: "files"; readonly certPath: string; readonly keyPath: string };

export interface ResolvedOidc {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecretPath: string;
  readonly scope: readonly string[];
  readonly extraParams: Readonly<Record<string, string>>;
  readonly allowedDomains: readonly string[];
  readonly allowedUsers: readonly string[];
  readonly allowedGroups: readonly string[];
  readonly onlyStartIfAvailable: boolean;
  readonly emailVerifiedRequired: boolean;
  readonly useExpiryFromToken: boolean;
  readonly pkce: { readonly enabled: boolean; readonly method: "S256" | "plain" };
}

export interface ResolvedEmbeddedDerp {
  readonly regionId: number;
  readonly regionCode: string;
  readonly regionName: string;
  readonly stunListenAddr: string;
  readonly verifyClients: boolean;
  readonly automaticallyAddRegion: boolean;
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
}

export interface ResolvedDerp {
  /** Tailscale release derper is built from. */
  readonly derperVersion: string;
  /** An image of the user's own; undefined: the kit builds one. */
  readonly derperImage: string | undefined;
  /** `keep`: headscale also loads Tailscale's public map (minus `excludedTailscaleRegions`). */
  readonly tailscaleRegions: "drop" | "keep";
  readonly excludedTailscaleRegions: readonly number[];
  readonly regions: readonly ResolvedDerpRegion[];
}

export interface ResolvedDerpRegion {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  readonly noMeasureNoHome: boolean;
  readonly nodes: readonly ResolvedDerpNode[];
}

export interface ResolvedDerpNode {
  readonly name: string;
  /** Where the node is in the spec, e.g. `derp.regions[2].nodes[0]` (for messages; the model orders regions by id). */
  readonly specPath: string;
  readonly regionId: number;
  readonly host: string | undefined;
  readonly hostname: string;
  /** The host name is an IP literal (the node needs a pinned or self-signed certificate). */
  readonly hostnameIsIp: boolean;
  readonly certName: string | undefined;
  /** An address, a Terraform token, `"none"`, or undefined (clients resolve the host name). */
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  readonly derpPort: number;
  /** -1: no STUN. */
  readonly stunPort: number;
  readonly canPort80: boolean;
  readonly stunOnly: boolean;
  readonly insecureForTests: boolean;
  /** How the node's derper runs. */
  readonly derper: ResolvedDerper;
}

export interface ResolvedHost {
  readonly name: string;
  /** Where the host is in the spec, e.g. `hosts[3]` (for messages; the model orders hosts by name). */
  readonly specPath: string;
  readonly publicIpv4: string | undefined;
  readonly publicIpv6: string | undefined;
  readonly dynamicIp: boolean;
  /** The dynamic-DNS updater on the host (model/ddns.ts), for a dynamic host with `ddns`. */
  readonly ddns: ResolvedDdns | undefined;
  /** What this host runs, derived from the references to it. */
  readonly runs: { readonly headscale: boolean; readonly derpNodes: readonly string[] };
  /** The Docker engine to deploy to, if any. */
  readonly docker: { readonly daemon: string; readonly sshOpts: readonly string[] } | undefined;
  /** Every socket the host's services open (what its firewall must allow). */
  readonly listeners: readonly ResolvedListener[];
  /** The inbound firewall: default drop, SSH and admin-only listeners from admins, public ports from anywhere. */
  readonly firewall: ResolvedFirewall;
  /** The VM target (systemd units, nftables, cloud-init), if the host is one. */
  readonly vm: ResolvedVm | undefined;
}

export interface ResolvedDevice {
  readonly name: string;
  readonly user: string;
  readonly advertiseRoutes: readonly string[];
  readonly exitNode: boolean;
  readonly tags: readonly string[];
}
