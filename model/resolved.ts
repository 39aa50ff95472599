/**
 * The resolved model: every default filled, everything derived exactly once. Renderers, the CLI
 * and the constructs read only this; nothing downstream re-derives what resolve decided. Every
 * type of the resolved model is declared here (the features that derive them import them), so the
 * model's modules form no import cycle.
 */
import type { ModelWarning } from "./issues.js";
import type { HeadscaleVersion } from "./versions.js";

/** Brands a {@link PreparedTailnet}; a type only, nothing at run time. */
declare const PREPARED: unique symbol;

/**
 * A resolved tailnet whose secrets are materialized: every kit-issued certificate exists in the
 * secrets store and its pin is in the model, certificate files the spec names were checked. Only
 * `prepare()` / `prepareTailnet()` (cdktf-tailnet/secrets) make one, so the compiler refuses to
 * render or deploy a model that skipped the step. Deriving a changed model from a prepared one by
 * spreading it (as the lab does) keeps the brand: the secrets are still those of the prepared model.
 */
export type PreparedTailnet = ResolvedTailnet & { readonly [PREPARED]: true };

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
  /** Its position in the spec (of two hosts that clash, validation reports the later). */
  readonly specIndex: number;
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

/** A listening socket a service opens on its host. */
export interface ResolvedListener {
  /** What it is for: `derp`, `http`, `stun`, `control`, `metrics`, `grpc`, `acme-http`. */
  readonly role: string;
  readonly protocol: "tcp" | "udp";
  /** Host address it is published on: `0.0.0.0` for every address, `127.0.0.1` for local only. */
  readonly hostIp: string;
  readonly port: number;
  /** Reachable from outside the host. */
  readonly public: boolean;
}

/** How one derper process runs: its settings as fields; its command line is rendered from them (render/command-lines.ts). */
export interface ResolvedDerper {
  /** derper's `-certmode`: self-signed certificates are served from files, as manual ones. */
  readonly certMode: "letsencrypt" | "manual";
  /** Where the certificate comes from. */
  readonly certificateSource: "letsencrypt" | "manual" | "self-signed" | "dns-01";
  /** For a DNS-01 certificate: the ACME client on the host that obtains and renews it (model/acme.ts). */
  readonly acme: ResolvedAcme | undefined;
  /** For a self-signed certificate: how long it is issued for. */
  readonly selfSignedValidityDays: number | undefined;
  /** Base name derper looks for in manual mode: the host name with `[^a-zA-Z0-9-.]` removed. */
  readonly certFileBase: string;
  /** User-provided certificate files to install as `<certFileBase>.crt` / `.key` (manual mode). */
  readonly certificateFiles: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** headscale's `/verify` URL, when client verification is on. */
  readonly verifyClientUrl: string | undefined;
  /** Plain HTTP (captive-portal checks, Let's Encrypt's HTTP-01), `-http-port`; -1: off. */
  readonly httpPort: number;
  /** Mesh peers (`-mesh-with`): every other DERP node of a region of more than one node. */
  readonly mesh: readonly DerpMeshPeer[];
  readonly listeners: readonly ResolvedListener[];
}

/** A DERP node a derper meshes with. */
export interface DerpMeshPeer {
  readonly node: string;
  readonly hostname: string;
  readonly port: number;
}

/** A DERP node's DNS-01 certificate. */
export interface ResolvedAcme {
  readonly client: "lego";
  /** The one name the certificate is for: the node's host name. */
  readonly domain: string;
  readonly email: string;
  readonly acmeUrl: string;
  readonly provider: ResolvedDnsProvider;
  /** ECDSA P-256 keys, as derper's own certificates. */
  readonly keyType: "ec256";
  readonly renewDaysBefore: number;
  /** lego `--dns.resolvers`, `host:port`. */
  readonly resolvers: readonly string[];
  /** false: lego `--dns.disable-cp` (check through the resolvers only). */
  readonly checkAuthoritativeNameservers: boolean;
  /** Where derper loads the certificate and key (`-certmode=manual`). */
  readonly certDir: string;
  readonly certFileBase: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly restart: ResolvedDerperRestart;
  /** When renewals are attempted: a systemd calendar spec and a random delay, or the container's sleep. */
  readonly schedule: { readonly onCalendar: string; readonly randomizedDelaySec: number; readonly intervalSeconds: number };
  readonly paths: {
    readonly script: string;
    readonly hook: string;
    readonly config: string;
    readonly stateDir: string;
    readonly service: string;
    readonly timer: string;
    readonly install: string;
    readonly installedPath: string;
    readonly installedService: string;
    readonly restartService: string;
    /** lego's copies of the certificate (with its chain) and key, in `stateDir`: the staged files. */
    readonly stagedCertFile: string;
    readonly stagedKeyFile: string;
  };
}

/**
 * How a new certificate reaches derper, which reads certificates only at start.
 * - `hook` (a Docker host's ACME container, which runs as derper's user on derper's volume):
 *   lego's hook installs the files under derper's names and runs `command`.
 * - `units` (a VM or any systemd host): lego, as a transient user of its own, only stages the
 *   files in its state directory. After each successful run systemd starts `paths.install`, which
 *   runs as derper's `user` and installs them when they differ; `paths.installedPath` sees the
 *   new certificate, and through `paths.installedService` `paths.restartService` restarts
 *   derper's `unit`. No step runs as root.
 */
export type ResolvedDerperRestart =
  | { readonly via: "hook"; readonly command: string }
  | { readonly via: "units"; readonly user: string; readonly unit: string };

/** One inbound allow rule. */
export interface ResolvedFirewallRule {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  /** CIDR prefixes allowed to connect; `ANYWHERE` for a public port. */
  readonly sources: readonly string[];
  /** Which service needs it, e.g. `derper hkg-1: DERP over TLS`. */
  readonly reason: string;
}

/** A socket a service opens that the firewall leaves closed, and why. */
export interface ResolvedClosedPort {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  readonly reason: string;
}

/** A host's inbound firewall: default drop, then exactly these rules. */
export interface ResolvedFirewall {
  readonly adminCidrs: readonly string[];
  readonly sshPort: number;
  /** Sorted by protocol, then port. */
  readonly rules: readonly ResolvedFirewallRule[];
  /** Listeners that stay closed from outside (loopback-only, or admin-only without admins). */
  readonly closed: readonly ResolvedClosedPort[];
}

/** How headscale's binary gets onto the VM. */
export interface ResolvedHeadscaleInstall {
  readonly program: "headscale";
  readonly kind: "binary" | "deb";
  readonly version: string;
  /** Where the VM downloads it; undefined when it comes from the deploying machine (`localFile`). */
  readonly url: string | undefined;
  /** The file on the deploying machine, uploaded to `staged` (VmHost over SSH, or by hand). */
  readonly localFile: string | undefined;
  /** Where an uploaded `localFile` is expected on the VM. */
  readonly staged: string | undefined;
  readonly sha256: string;
  /** Where the binary ends up: `/usr/local/bin/headscale`, or `/usr/bin/headscale` from the package. */
  readonly binaryPath: string;
}

/** How derper's binary gets onto the VM. */
export type ResolvedDerperInstall =
  | {
      readonly program: "derper";
      readonly source: "build";
      /** Tailscale release, without `v`. */
      readonly tailscaleVersion: string;
      readonly goVersion: string;
      readonly goUrl: string;
      readonly goSha256: string;
      readonly binaryPath: string;
    }
  | {
      readonly program: "derper";
      readonly source: "url";
      readonly url: string;
      readonly sha256: string;
      readonly binaryPath: string;
    }
  | {
      readonly program: "derper";
      readonly source: "local";
      /** The binary on the deploying machine. */
      readonly localFile: string;
      /** Where it is uploaded to on the VM before it is installed. */
      readonly staged: string;
      readonly sha256: string;
      readonly binaryPath: string;
    };

/** A long-running service on a VM, as its systemd unit runs it. */
export interface ResolvedVmService {
  /** Unit file name, e.g. `headscale.service`. */
  readonly unit: string;
  readonly program: "headscale" | "derper";
  readonly description: string;
  /** System user and group the service runs as (never root). */
  readonly user: string;
  /** The program's absolute path; its arguments are rendered from the model (render/command-lines.ts). */
  readonly binaryPath: string;
  /** SIGHUP makes the program reload something (headscale: the policy). */
  readonly reloadsOnHup: boolean;
  readonly workingDirectory: string;
  /** `StateDirectory=` entries, relative to /var/lib, owned by the service user. */
  readonly stateDirectories: readonly string[];
  /** `RuntimeDirectory=` entry, relative to /run. */
  readonly runtimeDirectory: string | undefined;
  /** Read-only configuration the service reads: owned by root, readable by the service's group. */
  readonly configDirectory: string;
  /** An optional environment file for secrets (e.g. the PostgreSQL password); never rendered. */
  readonly environmentFile: string | undefined;
  /** Binds a port below 1024, so it gets CAP_NET_BIND_SERVICE (and only that), never root. */
  readonly bindsPrivilegedPorts: boolean;
  /** Socket families it may create. */
  readonly addressFamilies: readonly string[];
  /** What it listens on (from the model's listeners). */
  readonly listeners: readonly ResolvedListener[];
}

/** A VM target: what cloud-init sets up. */
export interface ResolvedVm {
  readonly arch: "amd64" | "arm64";
  readonly sshAuthorizedKeys: readonly string[];
  /** headscale first, then derper. */
  readonly services: readonly ResolvedVmService[];
  readonly installs: readonly (ResolvedHeadscaleInstall | ResolvedDerperInstall)[];
}

/** A DNS provider as the updater and lego use it on the host. */
export type ResolvedDnsProvider =
  | {
      readonly type: "cloudflare";
      readonly apiUrl: string;
      /** The zone's id when the spec gives it; else the updater looks it up by name. */
      readonly zoneId: string | undefined;
      readonly zoneName: string | undefined;
      /** File on the host holding the API token. */
      readonly tokenFile: string;
    }
  | {
      readonly type: "rfc2136";
      readonly nameserver: string;
      readonly port: number;
      readonly zone: string;
      readonly tsigKeyName: string;
      readonly tsigAlgorithm: string;
      /** File on the host holding the base64 TSIG secret. */
      readonly tsigSecretFile: string;
    };

/** Where the updater reads the public address of one family. */
export type ResolvedAddressSource = { readonly kind: "url"; readonly url: string } | { readonly kind: "interface"; readonly interface: string };

/** One record the updater keeps current. */
export interface ResolvedDdnsRecord {
  /** Fully qualified, without the trailing dot. */
  readonly name: string;
  readonly type: "A" | "AAAA";
  /** Which service the name belongs to, e.g. `derp node home-1`. */
  readonly purpose: string;
}

/** A host's dynamic-DNS updater. */
export interface ResolvedDdns {
  readonly provider: ResolvedDnsProvider;
  /** The spec's interval, e.g. `5m` (systemd and Go read it alike). */
  readonly interval: string;
  readonly intervalSeconds: number;
  readonly ipv4: ResolvedAddressSource | undefined;
  readonly ipv6: ResolvedAddressSource | undefined;
  readonly ttl: number;
  /** Sorted by name, then type. */
  readonly records: readonly ResolvedDdnsRecord[];
  readonly recheckSeconds: number;
  /** The updater's files and units on the host (DDNS_PATHS). */
  readonly paths: { readonly script: string; readonly config: string; readonly stateDir: string; readonly service: string; readonly timer: string };
}

/** A restic repository as the backup script uses it. */
export interface ResolvedRestic {
  /** As the spec gives it (restic's syntax). */
  readonly repository: string;
  readonly kind: "local" | "sftp" | "s3" | "rest";
  readonly passwordFile: string;
  readonly credentialsFile: string | undefined;
  /** For sftp: how ssh reaches the server (restic runs ssh with the kit's options, not the user's ssh config). */
  readonly sftp: { readonly target: string; readonly port: number | undefined; readonly keyFile: string; readonly knownHostsFile: string } | undefined;
  readonly keep: { readonly hourly: number; readonly daily: number; readonly weekly: number };
}

/** What runs before headscale starts, once (the script keeps a record in the state directory). */
export type ResolvedBeforeStart =
  /** Before `to` first starts on `from`'s database: a snapshot of it, kept until removed by hand. */
  | { readonly step: "pre-upgrade"; readonly from: string; readonly to: string }
  /** Before `to` starts again after `from` ran: the snapshot taken before `from` was deployed, restored. */
  | { readonly step: "rollback"; readonly from: string; readonly to: string };

/** headscale's backups on the host that runs it. */
export interface ResolvedBackup {
  /** The schedule; undefined when scheduled backups are off (`enabled: false`). */
  readonly schedule: { readonly interval: string; readonly intervalSeconds: number } | undefined;
  /** Scheduled backups kept on the host. */
  readonly keep: number;
  /** The SQLite database's file name in the state directory; undefined for PostgreSQL (back it up with its own tools). */
  readonly database: string | undefined;
  /** Key files in the state directory: the noise key, and the embedded DERP server's key when it runs. */
  readonly keys: readonly string[];
  /** How it runs: a container next to headscale's (Docker host), or units on a systemd host. */
  readonly runs: "container" | "systemd";
  readonly restic: ResolvedRestic | undefined;
  readonly paths: { readonly script: string; readonly config: string; readonly dir: string; readonly service: string; readonly timer: string };
  /** Steps before headscale starts (an upgrade or a rollback in progress). */
  readonly beforeStart: readonly ResolvedBeforeStart[];
}

/** A headscale user and the pre-auth key bootstrap creates for it. */
export interface ResolvedUser {
  readonly name: string;
  readonly preAuthKey: { readonly reusable: boolean; readonly ephemeral: boolean; readonly expiration: string };
}

/** The policy file's content, as headscale reads it (users spelled `name@`). */
export interface ResolvedPolicy {
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly tagOwners: Readonly<Record<string, readonly string[]>>;
  readonly hosts: Readonly<Record<string, string>>;
  readonly acls: readonly { readonly action: "accept"; readonly src: readonly string[]; readonly dst: readonly string[]; readonly proto?: string }[];
  readonly autoApprovers: { readonly routes: Readonly<Record<string, readonly string[]>>; readonly exitNode: readonly string[] };
  readonly randomizeClientPort: boolean;
  /**
   * `spec`: the spec's own policy. `derived`: the spec has none, but devices advertise routes or
   * exit nodes, so the kit renders headscale's allow-all behaviour as a policy (every node reaches
   * every other) plus the auto-approvers of those routes, which would otherwise wait for a manual
   * approval (see `derivesPolicy` in model/policy.ts).
   */
  readonly origin: "spec" | "derived";
}
