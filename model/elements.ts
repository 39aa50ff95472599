/**
 * Resolution's first pass, as types: every element of the spec fully defaulted (model/defaults.ts)
 * and nothing derived from other elements yet. The second pass (mesh peers, listeners, firewall,
 * services, records) reads only these, never the spec.
 */
import type { DerperInstallSpec } from "./spec.js";
import type {
  ResolvedAddressSource,
  ResolvedDerp,
  ResolvedDerpNode,
  ResolvedDerpRegion,
  ResolvedDevice,
  ResolvedDnsProvider,
  ResolvedHeadscale,
  ResolvedHost,
  ResolvedPolicy,
  ResolvedTailnet,
  ResolvedUser,
} from "./resolved.js";

/**
 * headscale, defaulted; where it runs is the second pass's. Until then the listen addresses are as
 * the spec (or its default) writes them (a container rebinds them), the policy path is the user's
 * own ("" for none), and the embedded DERP's addresses are the spec's (its host's fill the rest).
 */
export interface HeadscaleElement extends Omit<ResolvedHeadscale, "derpMapUrls" | "derpMapPaths" | "containerized" | "listeners" | "backup"> {
  readonly backup: BackupElement;
}

/** `headscale.backup`, defaulted (whether anything runs it depends on headscale's host). */
export interface BackupElement {
  readonly enabled: boolean;
  readonly interval: string;
  readonly keep: number;
  readonly restic: ResticElement | undefined;
}

/** `headscale.backup.restic`, defaulted. */
export interface ResticElement {
  readonly repository: string;
  readonly passwordFile: string;
  readonly credentialsFile: string | undefined;
  readonly sshKeyFile: string;
  readonly sshKnownHostsFile: string;
  readonly keepHourly: number;
  readonly keepDaily: number;
  readonly keepWeekly: number;
}

/** The DERP map's settings and regions, defaulted; regions ordered by id. */
export interface DerpElement extends Omit<ResolvedDerp, "regions"> {
  readonly verifyClients: boolean;
  readonly regions: readonly RegionElement[];
}

export interface RegionElement extends Omit<ResolvedDerpRegion, "nodes"> {
  readonly nodes: readonly NodeElement[];
}

/** A DERP node, defaulted; its addresses are the spec's own (its host's fill the rest in the second pass). */
export interface NodeElement extends Omit<ResolvedDerpNode, "derper"> {
  readonly certificate: CertificateElement;
}

/** A node's certificate source, defaulted. */
export type CertificateElement =
  | { readonly source: "letsencrypt" }
  | { readonly source: "manual"; readonly files: { readonly certFile: string; readonly keyFile: string } | undefined }
  | { readonly source: "self-signed"; readonly validityDays: number }
  | {
      readonly source: "dns-01";
      readonly email: string;
      readonly acmeUrl: string;
      readonly provider: DnsProviderElement;
      readonly renewDaysBefore: number;
      readonly resolvers: readonly string[];
      readonly checkAuthoritativeNameservers: boolean;
    };

/** A DNS provider, defaulted (Cloudflare's zone comes from the top-level `dns` in the second pass). */
export type DnsProviderElement = { readonly type: "cloudflare"; readonly tokenFile: string } | Extract<ResolvedDnsProvider, { type: "rfc2136" }>;

/** A host, defaulted; ordered by name. What it runs and opens is the second pass's. */
export interface HostElement extends Omit<ResolvedHost, "ddns" | "runs" | "listeners" | "firewall" | "vm"> {
  readonly firewall: { readonly adminCidrs: readonly string[]; readonly sshPort: number };
  readonly vm: VmElement | undefined;
  /** The updater, for a dynamic host with `ddns`. */
  readonly ddns: DdnsElement | undefined;
}

/** `hosts[].vm`, defaulted. */
export interface VmElement {
  readonly arch: "amd64" | "arm64";
  readonly sshAuthorizedKeys: readonly string[];
  readonly headscale:
    | { readonly kind: "binary" | "deb"; readonly url: string | undefined; readonly localFile: string | undefined; readonly sha256: string }
    | undefined;
  readonly derper: DerperInstallSpec | undefined;
}

/** `hosts[].ddns`, defaulted. */
export interface DdnsElement {
  readonly provider: DnsProviderElement;
  readonly interval: string;
  readonly ipv4: ResolvedAddressSource | undefined;
  readonly ipv6: ResolvedAddressSource | undefined;
  readonly ttl: number;
}

/** The top-level `dns` zone, defaulted. */
export interface DnsZoneElement {
  readonly provider: "cloudflare";
  readonly zoneId: string | undefined;
  readonly zoneName: string | undefined;
  readonly ttl: number;
}

/** The whole spec after the first pass: what the second pass reads. */
export interface TailnetElements {
  readonly name: string;
  readonly headscale: HeadscaleElement;
  readonly derp: DerpElement;
  readonly hosts: readonly HostElement[];
  readonly dns: DnsZoneElement | undefined;
  readonly users: readonly ResolvedUser[];
  readonly policy: PolicyElement | undefined;
  readonly devices: readonly ResolvedDevice[];
}

/** What the second pass reads: the elements, with the hosts by name. */
export interface ResolveContext extends TailnetElements {
  readonly hostsByName: ReadonlyMap<string, HostElement>;
}

/**
 * The second pass's context for a feature that derives from others already resolved: the
 * elements, and those resolved parts (`K`), so each feature's resolve takes this one argument and
 * its type says what it depends on.
 */
export interface ResolvedSoFar<K extends keyof ResolvedTailnet> extends ResolveContext {
  readonly resolved: Pick<ResolvedTailnet, K>;
}

/** The policy, defaulted; `acls` is `allow-all` where the spec writes none (the rule depends on the node prefixes: second pass). */
export interface PolicyElement extends Omit<ResolvedPolicy, "acls"> {
  readonly acls: ResolvedPolicy["acls"] | "allow-all";
}
