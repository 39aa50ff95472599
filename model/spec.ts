/**
 * The tailnet spec: what a user writes, as a TypeScript object or as `tailnet.yaml`.
 *
 * This file is the one source of the spec's shape. `npm run schema` generates
 * `schema/tailnet.schema.json` from these interfaces (descriptions and defaults included), the
 * structural check in `model/structure.ts` walks that schema, and the TSDoc here is the reference
 * that README.md links to. Every optional field states its default.
 *
 * Field names are camelCase; where a field maps onto a headscale config key, the key is named in
 * the field's doc so people coming from a hand-written config.yaml find their way.
 */

/** A whole tailnet: one coordination server, its DERP relays, the hosts they run on, the devices. */
export interface TailnetSpec {
  /**
   * A short name for the tailnet, used to name Terraform resources and output folders.
   * Lower-case letters, digits and dashes.
   * @default "tailnet"
   * @grammar identifier
   */
  name?: string;
  /** The headscale coordination server. */
  headscale: HeadscaleSpec;
  /**
   * The DERP relay map: self-hosted regions, and whether Tailscale's public regions stay.
   * @default - no self-hosted regions, Tailscale's public regions dropped (then the embedded DERP
   * must be enabled, since headscale refuses to start with an empty map)
   */
  derp?: DerpSpec;
  /**
   * The machines things run on. DERP nodes and the coordination server name their host; a
   * host's public addresses flow into DNS records and both DERP maps.
   * @default []
   */
  hosts?: HostSpec[];
  /**
   * Tailnet devices the kit should know about: subnet routers, exit nodes, plain clients.
   * @default []
   */
  devices?: DeviceSpec[];
  /**
   * Public DNS records for the coordination server and every DERP node, managed in a DNS zone.
   * @default - no DNS records are managed
   */
  dns?: DnsZoneSpec;
  /**
   * headscale users (formerly namespaces), and the pre-auth keys bootstrap creates for them.
   * Users that devices name are added automatically.
   * @default []
   */
  users?: UserSpec[];
  /**
   * The access policy, rendered into headscale's policy file: groups, tag owners, ACLs and
   * auto-approvers. Routes and exit nodes the model's devices advertise are auto-approved for
   * the device's tags (or its user) without a manual `headscale nodes approve-routes`.
   * @default - no policy file, so headscale lets every node reach every other; when devices
   * advertise routes or exit nodes (and headscale.policy is neither "database" nor a path of
   * yours), a derived policy that keeps that (one ACL, `*` to `*:*`) and auto-approves them
   */
  policy?: PolicySpec;
}

/** A headscale user. */
export interface UserSpec {
  /**
   * User name: letters, digits, dots, dashes, underscores.
   * @grammar identifier
   */
  name: string;
  /**
   * The pre-auth key `cdktf-tailnet bootstrap` creates for the user (kept in the 0600 secrets
   * directory).
   * @default { reusable: false, ephemeral: false, expiration: "24h" }
   */
  preAuthKey?: PreAuthKeySpec;
}

/** How a pre-auth key is created. */
export interface PreAuthKeySpec {
  /**
   * The key may register more than one node.
   * @default false
   */
  reusable?: boolean;
  /**
   * Nodes registered with it are ephemeral (deleted when offline).
   * @default false
   */
  ephemeral?: boolean;
  /**
   * How long the key is valid, a Go duration such as `"24h"` or `"720h"`.
   * @default "24h"
   * @grammar duration
   */
  expiration?: string;
}

/** The access policy (Tailscale's policy syntax, as headscale reads it). */
export interface PolicySpec {
  /**
   * Groups of users: `{ "group:admins": ["alice"] }`. Members are user names (a trailing `@`,
   * as headscale spells users in policies, is added when rendering).
   * @default {}
   * @keyGrammar groupName
   * @grammar policyAlias
   */
  groups?: Record<string, string[]>;
  /**
   * Who may assign each tag: `{ "tag:router": ["group:admins"] }`. A tag a device carries and
   * no entry names is owned by the device's user.
   * @default {}
   * @keyGrammar tagName
   * @grammar policyAlias
   */
  tagOwners?: Record<string, string[]>;
  /**
   * Named addresses usable in ACLs: `{ "home-lan": "192.168.100.0/24" }`.
   * @default {}
   * @keyGrammar identifier
   * @grammar ipPrefix
   */
  hosts?: Record<string, string>;
  /**
   * Access rules, in order. Sources: `*`, users, `group:...`, `tag:...`, hosts, prefixes.
   * Destinations add `:ports` (`*`, `22`, `80,443`, `8000-8100`).
   * @default [{ src: ["*"], dst: ["*:*"] }] (everyone reaches everything)
   */
  acls?: AclRuleSpec[];
  /**
   * Extra auto-approvers, merged with those derived from the devices.
   * @default {}
   */
  autoApprovers?: {
    /**
     * Routes and who may advertise them without approval: `{ "192.168.100.0/24": ["group:admins"] }`.
     * @keyGrammar ipPrefix
     * @grammar policyAlias
     */
    routes?: Record<string, string[]>;
    /**
     * Who may offer exit nodes without approval.
     * @grammar policyAlias
     */
    exitNode?: string[];
  };
  /**
   * Clients pick a random UDP port (helps with some NATs); moved from config.yaml into the
   * policy in headscale 0.29.
   * @default false
   */
  randomizeClientPort?: boolean;
}

/** One access rule. */
export interface AclRuleSpec {
  /** @default "accept" */
  action?: "accept";
  /**
   * Who the rule lets connect.
   * @grammar policyAlias
   */
  src: string[];
  /**
   * What they may reach, each `alias:ports`.
   * @grammar aclDestination
   */
  dst: string[];
  /**
   * IP protocol, e.g. `tcp`, `udp`, `icmp`.
   * @default - every protocol
   * @grammar ipProtocol
   */
  proto?: string;
}

/** A DNS zone the kit manages A/AAAA records in. */
export interface DnsZoneSpec {
  /** The DNS provider. */
  provider: "cloudflare";
  /**
   * The zone's id. Give `zoneId` or `zoneName` (or both).
   * @default - looked up by zoneName
   * @grammar cloudflareId
   */
  zoneId?: string;
  /**
   * The zone's name, e.g. `example.com`; only host names inside it get records.
   * @default - every host name gets a record in the zone zoneId names
   * @grammar dnsName
   */
  zoneName?: string;
  /**
   * Record TTL in seconds; 1 means automatic.
   * @default 300
   */
  ttl?: number;
  /**
   * Whether records go through Cloudflare's proxy. Must stay false: DERP and the Tailscale control
   * protocol cannot pass an HTTP proxy.
   * @default false
   */
  proxied?: boolean;
}

// ---------------------------------------------------------------------------------------------
// headscale

/** The headscale coordination server (rendered into `config.yaml`). */
export interface HeadscaleSpec {
  /**
   * headscale release to target, e.g. `"0.29.8"` (a leading `v` is accepted). The rendered
   * config.yaml holds only the keys this version knows. Supported: see `SUPPORTED_HEADSCALE_VERSIONS`
   * (`cdktf-tailnet versions`); a release with a known advisory is accepted with a warning naming
   * it and the release that fixes it.
   * @default "0.29.8"
   * @grammar version
   */
  version?: string;
  /**
   * The headscale release currently deployed, when `version` changes it. The kit then checks the
   * upgrade path (headscale 0.29+ refuses to skip a minor version or downgrade) and backs the
   * database up before the new version starts. Remove it once the upgrade is deployed.
   * @default - no upgrade in progress
   * @grammar version
   */
  upgradeFrom?: string;
  /**
   * The headscale release currently deployed, when `version` goes back to the release it was
   * upgraded from: a rollback. Allowed only as the exact reverse of an upgrade the kit backs up
   * (`version` -> `rollbackFrom` is one allowed upgrade step): before `version` starts again, the
   * kit restores the backup taken before `rollbackFrom` was deployed (headscale never migrates a
   * database back). Nodes and users registered since then are lost. Remove it once deployed.
   * @default - no rollback in progress
   * @grammar version
   */
  rollbackFrom?: string;
  /**
   * The URL clients reach the coordination server at (`server_url`), e.g. `https://hs.example.com`.
   * Tailscale clients assume port 443 for https.
   * @grammar webUrl
   */
  serverUrl: string;
  /**
   * Name of the host (in `hosts`) that runs headscale.
   * @default - none: only the configuration files are rendered
   * @grammar identifier
   */
  host?: string;
  /**
   * Main listener (`listen_addr`): control protocol, `/verify`, `/health`, embedded `/derp`.
   * @default "0.0.0.0:443" when headscale terminates TLS itself, else "0.0.0.0:8080"
   * @grammar listenAddress
   */
  listenAddr?: string;
  /**
   * Metrics and debug listener (`metrics_listen_addr`). Keep it private. An empty string turns it
   * off (headscale 0.28 and later).
   * @default "127.0.0.1:9090"
   * @grammar listenAddress | ""
   */
  metricsListenAddr?: string;
  /**
   * Remote gRPC listener (`grpc_listen_addr`), used by the remote CLI. Keep it private.
   * @default "127.0.0.1:50443"
   * @grammar listenAddress
   */
  grpcListenAddr?: string;
  /**
   * Serve gRPC without TLS (`grpc_allow_insecure`).
   * @default false
   */
  grpcAllowInsecure?: boolean;
  /**
   * Proxies whose `X-Forwarded-For` / `X-Real-IP` headers are trusted (`trusted_proxies`, CIDRs).
   * headscale 0.29 and later.
   * @default []
   * @grammar ipPrefix
   */
  trustedProxies?: string[];
  /** IP prefixes nodes get their addresses from (`prefixes`). */
  prefixes?: PrefixesSpec;
  /**
   * The database.
   * @default { type: "sqlite" }
   */
  database?: DatabaseSpec;
  /** MagicDNS and the DNS configuration pushed to nodes (`dns`). */
  dns?: HeadscaleDnsSpec;
  /**
   * How TLS is terminated for the coordination server.
   * @default { mode: "proxy" }
   */
  tls?: HeadscaleTlsSpec;
  /**
   * OpenID Connect login (`oidc`).
   * @default - no OIDC: nodes join with pre-auth keys or `headscale nodes register`
   */
  oidc?: OidcSpec;
  /** Logging (`log`). */
  log?: LogSpec;
  /** Where headscale reads its ACL policy from (`policy`). */
  policy?: PolicySourceSpec;
  /**
   * headscale's embedded DERP server (`derp.server`), served at `/derp` on the main listener.
   * @default { enabled: false }
   */
  embeddedDerp?: EmbeddedDerpSpec;
  /**
   * How long an ephemeral node may be offline before it is deleted, a Go duration above 65s
   * (`node.ephemeral.inactivity_timeout` from 0.29, `ephemeral_node_inactivity_timeout` before).
   * @default "30m"
   * @grammar duration
   */
  ephemeralInactivityTimeout?: string;
  /**
   * Default key expiry for nodes, a Prometheus duration such as `"180d"`; `"0"` means never
   * (`node.expiry` from 0.29; before 0.29 only OIDC logins expire, through `oidc.expiry`).
   * @default - headscale's default: never
   * @grammar duration
   */
  nodeExpiry?: string;
  /**
   * How often headscale re-reads the DERP map files and URLs (`derp.update_frequency`), a Go duration.
   * @default "3h"
   * @grammar duration
   */
  derpUpdateFrequency?: string;
  /**
   * Taildrop file sharing between a user's own nodes (`taildrop.enabled`, headscale 0.28 and later).
   * @default true
   */
  taildrop?: boolean;
  /**
   * Turn off headscale's check for new releases at start (`disable_check_updates`).
   * @default true (a server should not call out at start)
   */
  disableCheckUpdates?: boolean;
  /**
   * Scheduled backups of headscale's state on the host that runs it: a consistent snapshot of the
   * live SQLite database (`VACUUM INTO`, never a file copy) and the private keys, each checked with
   * `PRAGMA integrity_check` before it counts; optionally copied off the host with restic. A
   * systemd timer on a VM (or any systemd host), a container next to headscale's on a Docker host.
   * @default { enabled: true, interval: "1h", keep: 48 } (backups stay on the host)
   */
  backup?: HeadscaleBackupSpec;
}

/** Scheduled backups of headscale's database and keys. */
export interface HeadscaleBackupSpec {
  /**
   * Take scheduled backups. The backup before an upgrade (`upgradeFrom`) is taken either way.
   * @default true
   */
  enabled?: boolean;
  /**
   * How often, a Go duration from 5m to 24h. Nodes and users registered since the last backup
   * are what a restore loses.
   * @default "1h"
   * @grammar duration
   */
  interval?: string;
  /**
   * How many scheduled backups stay on the host, newest first (backups taken before an upgrade
   * are kept until removed by hand).
   * @default 48
   */
  keep?: number;
  /**
   * Off-host copies with restic (encrypted, deduplicated): every backup is copied to the
   * repository after it is taken.
   * @default - none: backups stay on the host, and losing the host loses them
   */
  restic?: ResticBackupSpec;
}

/**
 * A restic repository the backups are copied to. Secrets are files on the host (0600 root), never
 * in the spec: the repository password, the S3 or REST credentials, the SFTP key.
 */
export interface ResticBackupSpec {
  /**
   * The repository: an absolute path on the host (`/srv/backup/headscale`, e.g. a mounted disk),
   * `sftp:user@host:/path` (or `sftp://user@host:port//path`), `s3:https://host/bucket/path`, or
   * `rest:https://host:8000/path`. No user name or password in it: they go into `credentialsFile`.
   * @grammar resticRepository
   */
  repository: string;
  /**
   * File on the host holding the repository's password (0600 root). restic encrypts everything
   * with it: keep a copy of it off the host too, or the copies cannot be read.
   * @default "/etc/cdktf-tailnet/restic-password"
   * @grammar absolutePath
   */
  passwordFile?: string;
  /**
   * File on the host (0600 root) with the repository's credentials as `NAME=value` lines:
   * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION` for
   * S3; `RESTIC_REST_USERNAME`, `RESTIC_REST_PASSWORD` for a REST server. Read as data, never
   * run as a script.
   * @default - none (an S3 repository then needs credentials from the host's environment)
   * @grammar absolutePath
   */
  credentialsFile?: string;
  /**
   * For `sftp:` repositories: the SSH private key file on the host (0600 root).
   * @default "/etc/cdktf-tailnet/restic-ssh-key"
   * @grammar absolutePath
   */
  sshKeyFile?: string;
  /**
   * For `sftp:` repositories: a known_hosts file on the host with the server's host key (the key
   * is checked strictly; nothing is trusted on first use).
   * @default "/etc/cdktf-tailnet/restic-known-hosts"
   * @grammar absolutePath
   */
  sshKnownHostsFile?: string;
  /**
   * Snapshots kept in the repository: the newest of each of this many hours.
   * @default 24
   */
  keepHourly?: number;
  /**
   * Snapshots kept in the repository: the newest of each of this many days.
   * @default 14
   */
  keepDaily?: number;
  /**
   * Snapshots kept in the repository: the newest of each of this many weeks.
   * @default 8
   */
  keepWeekly?: number;
}

/** Node address prefixes. */
export interface PrefixesSpec {
  /**
   * IPv4 prefix (`prefixes.v4`). Set to `null` for IPv6 only.
   * @default "100.64.0.0/10"
   * @grammar ipPrefix
   */
  v4?: string | null;
  /**
   * IPv6 prefix (`prefixes.v6`). Set to `null` for IPv4 only.
   * @default "fd7a:115c:a1e0::/48"
   * @grammar ipPrefix
   */
  v6?: string | null;
  /**
   * How addresses are handed out (`prefixes.allocation`).
   * @default "sequential"
   */
  allocation?: "sequential" | "random";
  /**
   * Allow prefixes outside 100.64.0.0/10 and fd7a:115c:a1e0::/48. headscale starts with them but
   * does not support them, and Tailscale clients treat only those ranges as tailnet addresses.
   * @default false
   */
  allowNonStandard?: boolean;
}

/** The database: SQLite (recommended) or PostgreSQL. */
export type DatabaseSpec = SqliteDatabaseSpec | PostgresDatabaseSpec;

/** SQLite in headscale's state directory. */
export interface SqliteDatabaseSpec {
  type: "sqlite";
  /**
   * Write-ahead logging (`database.sqlite.write_ahead_log`).
   * @default true
   */
  writeAheadLog?: boolean;
}

/**
 * PostgreSQL ("highly discouraged, legacy" upstream). The password is never written to
 * config.yaml: give it to the service as the environment variable
 * `HEADSCALE_DATABASE_POSTGRES_PASS`, which headscale reads in place of `database.postgres.pass`.
 */
export interface PostgresDatabaseSpec {
  type: "postgres";
  /**
   * Server host name, address, or a unix socket directory (`database.postgres.host`).
   * @grammar host | absolutePath
   */
  host: string;
  /**
   * Server port (`database.postgres.port`); omitted for a unix socket.
   * @default 5432 for a host name or address, none for a socket path
   */
  port?: number;
  /**
   * Database name (`database.postgres.name`).
   * @grammar databaseName
   */
  name: string;
  /**
   * Login user (`database.postgres.user`).
   * @grammar databaseName
   */
  user: string;
  /**
   * TLS mode, passed to libpq as `sslmode` (`database.postgres.ssl`).
   * @default "require"
   */
  ssl?: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
}

/** MagicDNS and nameservers pushed to nodes. */
export interface HeadscaleDnsSpec {
  /**
   * MagicDNS (`dns.magic_dns`): nodes are reachable as `<node>.<baseDomain>`.
   * @default true
   */
  magicDns?: boolean;
  /**
   * The tailnet's DNS suffix (`dns.base_domain`), e.g. `tail.example.net`. Must not equal the
   * server URL's host nor be a parent of it. Required when `magicDns` is true.
   * @default "" (none; only with magicDns off)
   * @grammar dnsName | ""
   */
  baseDomain?: string;
  /**
   * Make nodes use the tailnet's nameservers instead of their own (`dns.override_local_dns`).
   * Needs `nameservers.global`.
   * @default true
   */
  overrideLocalDns?: boolean;
  /** Nameservers pushed to nodes. */
  nameservers?: {
    /**
     * Resolvers for all queries (`dns.nameservers.global`): IP addresses or DoH URLs.
     * @default ["1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001"] when overrideLocalDns is true, else []
     * @grammar ipAddress | httpsUrl
     */
    global?: string[];
    /**
     * Resolvers per domain (`dns.nameservers.split`), e.g. `{ "home.arpa": ["192.168.100.1"] }`.
     * @default {}
     * @keyGrammar dnsName
     * @grammar ipAddress
     */
    split?: Record<string, string[]>;
  };
  /**
   * Search domains pushed to nodes (`dns.search_domains`).
   * @default []
   * @grammar dnsName
   */
  searchDomains?: string[];
  /**
   * Extra A/AAAA records served by MagicDNS (`dns.extra_records`).
   * @default []
   */
  extraRecords?: ExtraDnsRecordSpec[];
  /**
   * A JSON file of extra records that headscale watches (`dns.extra_records_path`). Cannot be
   * combined with `extraRecords`.
   * @default - none
   * @grammar absolutePath
   */
  extraRecordsPath?: string;
}

/** One extra MagicDNS record. */
export interface ExtraDnsRecordSpec {
  /**
   * Fully qualified name, e.g. `grafana.tail.example.net`.
   * @grammar dnsName
   */
  name: string;
  /** Record type. */
  type: "A" | "AAAA";
  /**
   * The address.
   * @grammar ipAddress
   */
  value: string;
}

/** How TLS is terminated for the coordination server. */
export type HeadscaleTlsSpec = ProxyTlsSpec | LetsEncryptTlsSpec | CertificateFilesTlsSpec;

/** A reverse proxy in front of headscale terminates TLS; headscale speaks plain HTTP. */
export interface ProxyTlsSpec {
  mode: "proxy";
}

/** headscale obtains a certificate from Let's Encrypt itself. */
export interface LetsEncryptTlsSpec {
  mode: "letsencrypt";
  /**
   * Certificate host name (`tls_letsencrypt_hostname`).
   * @default - the server URL's host
   * @grammar dnsName
   */
  hostname?: string;
  /**
   * ACME challenge (`tls_letsencrypt_challenge_type`). HTTP-01 needs port 80 reachable;
   * TLS-ALPN-01 needs headscale itself listening on 443.
   * @default "HTTP-01"
   */
  challenge?: "HTTP-01" | "TLS-ALPN-01";
  /**
   * Contact address for the ACME account (`acme_email`).
   * @default ""
   * @grammar email | ""
   */
  email?: string;
  /**
   * ACME directory (`acme_url`).
   * @default "https://acme-v02.api.letsencrypt.org/directory"
   * @grammar httpsUrl
   */
  acmeUrl?: string;
}

/** headscale serves a certificate from files (full chain and key). */
export interface CertificateFilesTlsSpec {
  mode: "files";
  /**
   * Full-chain certificate path on the host (`tls_cert_path`).
   * @grammar absolutePath
   */
  certPath: string;
  /**
   * Private key path on the host (`tls_key_path`).
   * @grammar absolutePath
   */
  keyPath: string;
}

/** OpenID Connect login. The client secret is only ever read from a file. */
export interface OidcSpec {
  /**
   * Issuer URL (`oidc.issuer`).
   * @grammar httpsUrl
   */
  issuer: string;
  /**
   * Client id (`oidc.client_id`).
   * @grammar oauthToken
   */
  clientId: string;
  /**
   * File holding the client secret (`oidc.client_secret_path`); `${CREDENTIALS_DIRECTORY}` and
   * other environment variables are expanded by headscale.
   * @grammar absolutePath | credentialPath
   */
  clientSecretPath: string;
  /**
   * Scopes (`oidc.scope`).
   * @default ["openid", "profile", "email"]
   * @grammar oauthToken
   */
  scope?: string[];
  /**
   * Extra authorization request parameters (`oidc.extra_params`). @default {}
   * @keyGrammar parameterName
   * @grammar parameterValue
   */
  extraParams?: Record<string, string>;
  /**
   * Only these e-mail domains may log in (`oidc.allowed_domains`). @default []
   * @grammar dnsName
   */
  allowedDomains?: string[];
  /**
   * Only these users may log in (`oidc.allowed_users`). @default []
   * @grammar email
   */
  allowedUsers?: string[];
  /**
   * Only members of these groups may log in (`oidc.allowed_groups`). @default []
   * @grammar freeText
   */
  allowedGroups?: string[];
  /**
   * Refuse to start while the issuer is unreachable (`oidc.only_start_if_oidc_is_available`).
   * @default true
   */
  onlyStartIfAvailable?: boolean;
  /**
   * Require a verified e-mail (`oidc.email_verified_required`, headscale 0.28 and later).
   * @default true
   */
  emailVerifiedRequired?: boolean;
  /** Use the token's expiry as the node's (`oidc.use_expiry_from_token`). @default false */
  useExpiryFromToken?: boolean;
  /**
   * PKCE (`oidc.pkce`): `method` is the challenge method.
   * @default { enabled: false, method: "S256" }
   */
  pkce?: { enabled: boolean; method?: "S256" | "plain" };
}

/** Logging. */
export interface LogSpec {
  /** @default "info" */
  level?: "panic" | "fatal" | "error" | "warn" | "info" | "debug" | "trace";
  /** @default "text" */
  format?: "text" | "json";
}

/** Where the ACL policy comes from. */
export interface PolicySourceSpec {
  /**
   * `file`: the policy file rendered by the kit (or `path`); `database`: managed through the
   * headscale CLI/API.
   * @default "file"
   */
  mode?: "file" | "database";
  /**
   * Policy file path on the host (`policy.path`). With mode `file` and no path, headscale
   * applies no policy at all: every node reaches every other node.
   * @default "" (allow all)
   * @grammar absolutePath | ""
   */
  path?: string;
}

/** headscale's embedded DERP relay. */
export interface EmbeddedDerpSpec {
  /** Turn the embedded DERP on (`derp.server.enabled`). Needs an https server URL. */
  enabled: boolean;
  /**
   * Region id (`derp.server.region_id`), 900 to 999.
   * @default 999
   */
  regionId?: number;
  /**
   * @default "headscale"
   * @grammar identifier
   */
  regionCode?: string;
  /**
   * @default "Headscale Embedded DERP"
   * @grammar freeText
   */
  regionName?: string;
  /**
   * STUN listener (`derp.server.stun_listen_addr`).
   * @default "0.0.0.0:3478"
   * @grammar listenAddress
   */
  stunListenAddr?: string;
  /**
   * Only nodes known to headscale may relay (`derp.server.verify_clients`).
   * @default true
   */
  verifyClients?: boolean;
  /**
   * Add the embedded region to the map automatically
   * (`derp.server.automatically_add_embedded_derp_region`).
   * @default true
   */
  automaticallyAddRegion?: boolean;
  /**
   * Public IPv4 of the server, published in the map (`derp.server.ipv4`). @default - the host's publicIpv4
   * @grammar ipAddress | token
   */
  ipv4?: string;
  /**
   * Public IPv6 of the server, published in the map (`derp.server.ipv6`). @default - the host's publicIpv6
   * @grammar ipAddress | token
   */
  ipv6?: string;
}

// ---------------------------------------------------------------------------------------------
// DERP

/** The DERP map. */
export interface DerpSpec {
  /**
   * Tailscale's public DERP regions: `"drop"` (a self-contained map; no fetch of Tailscale's map at
   * start, which otherwise stops headscale from starting when it fails), `"keep"`, or keep all but
   * some region ids: `{ keepExcept: [1, 2] }` (headscale 0.27 and later).
   * @default "drop"
   */
  tailscaleRegions?: "drop" | "keep" | { keepExcept: number[] };
  /**
   * Self-hosted regions.
   * @default []
   */
  regions?: DerpRegionSpec[];
  /**
   * How the derper relays run.
   * @default { version: "1.102.5", verifyClients: true }
   */
  derper?: DerperSpec;
}

/** The derper program every self-hosted node runs. */
export interface DerperSpec {
  /**
   * Tailscale release derper is built from (there is no official derper image or package): one
   * the kit knows (`SUPPORTED_TAILSCALE_VERSIONS`, 1.102.3 to 1.104.7), so it builds it with a Go
   * its go.mod accepts.
   * @default "1.102.5"
   * @grammar version
   */
  version?: string;
  /**
   * A derper image of your own, used instead of building one. It must run derper as its
   * entrypoint and accept derper's flags.
   * @default - the kit builds an image from its Dockerfile at `version`
   * @grammar imageReference
   */
  image?: string;
  /**
   * Admit only clients headscale knows (`-verify-client-url=<server>/verify`, fail closed).
   * @default true
   */
  verifyClients?: boolean;
}

/** One DERP region. Clients measure latency per region and pick a home region. */
export interface DerpRegionSpec {
  /** Region id, 900 to 999 (reserved for self-hosted DERP). */
  id: number;
  /**
   * Short code, e.g. `hkg`. Unique across the map.
   * @grammar identifier
   */
  code: string;
  /**
   * Human-readable name, e.g. `Hong Kong`.
   * @grammar freeText
   */
  name: string;
  /**
   * Never measure or choose this region as home; still reachable for peers homed there
   * (`NoMeasureNoHome`, Tailscale 1.82 and later).
   * @default false
   */
  noMeasureNoHome?: boolean;
  /**
   * The region's nodes, in priority order. More than one node needs a mesh (derper `-mesh-with`).
   */
  nodes: DerpNodeSpec[];
}

/** One derper process. */
export interface DerpNodeSpec {
  /**
   * Node name, unique across the whole map (not a host name), e.g. `hkg-1`.
   * @grammar identifier
   */
  name: string;
  /**
   * Name of the host (in `hosts`) that runs this derper.
   * @default - none: the node is only published in the maps
   * @grammar identifier
   */
  host?: string;
  /**
   * The name clients dial and check the TLS certificate against: a DNS name, or an IP address
   * (then `certName` or `insecureForTests` is needed). No scheme, port or path.
   * @grammar host
   */
  hostname: string;
  /**
   * IPv4 clients dial instead of resolving `hostname`; `"none"` turns IPv4 off for this node.
   * @default - the host's publicIpv4, or `hostname` when it is an IPv4 address
   * @grammar ipAddress | "none" | token
   */
  ipv4?: string;
  /**
   * IPv6 clients dial instead of resolving `hostname`; `"none"` turns IPv6 off for this node.
   * @default - the host's publicIpv6, or `hostname` when it is an IPv6 address
   * @grammar ipAddress | "none" | token
   */
  ipv6?: string;
  /**
   * DERP (TLS) port.
   * @default 443
   */
  derpPort?: number;
  /**
   * STUN port (UDP); `-1` turns STUN off for this node.
   * @default 3478
   */
  stunPort?: number;
  /**
   * The node answers plain HTTP on port 80 (captive-portal checks, `CanPort80`).
   * @default true when derpPort is 443, else false
   */
  canPort80?: boolean;
  /**
   * A STUN server only, no DERP relay (`STUNOnly`).
   * @default false
   */
  stunOnly?: boolean;
  /**
   * The certificate name clients expect when it differs from `hostname`, or a pin of a
   * self-signed certificate: `"sha256-raw:<64 hex digits>"` (SHA-256 of the DER certificate;
   * honoured by Tailscale clients 1.82 and later).
   * @default - the certificate must be valid for `hostname`
   * @grammar certName
   */
  certName?: string;
  /**
   * Clients skip TLS verification for this node (`InsecureForTests`). Only for labs and tests.
   * @default false
   */
  insecureForTests?: boolean;
  /**
   * Where the node's TLS certificate comes from.
   * @default { mode: "self-signed" } for an IP address without certName or insecureForTests,
   * { mode: "letsencrypt" } for a DNS name on port 443, else { mode: "manual" }
   */
  certificate?: DerpCertificateSpec;
}

/** A DERP node's certificate source. */
export type DerpCertificateSpec = LetsEncryptCertificateSpec | ManualCertificateSpec | SelfSignedCertificateSpec | Dns01CertificateSpec;

/**
 * An ACME client on the node's host (lego) obtains a certificate with the DNS-01 challenge: the
 * way for a node that cannot answer HTTP-01 (a home connection behind NAT, DERP off port 443). It
 * writes the challenge's TXT record through the DNS provider, installs the certificate under the
 * names derper loads (`<hostname>.crt`, `<hostname>.key`, the key 0600) and restarts derper,
 * which reads certificates only at start. A daily timer renews it before it expires. derper runs
 * with `-certmode=manual`.
 */
export interface Dns01CertificateSpec {
  mode: "dns-01";
  /**
   * Where the challenge's TXT record is written: `cloudflare` (the zone of the top-level `dns`)
   * or an RFC 2136 server.
   */
  provider: DnsProviderSpec;
  /**
   * Contact address of the ACME account (the CA's expiry warnings go there).
   * @grammar email
   */
  email: string;
  /**
   * ACME directory URL.
   * @default "https://acme-v02.api.letsencrypt.org/directory"
   * @grammar httpsUrl
   */
  acmeUrl?: string;
  /**
   * Renew when fewer than this many days of validity are left.
   * @default 30
   */
  renewDaysBefore?: number;
  /**
   * Resolvers, `address` or `address:port`, through which lego looks up the zone and checks
   * that the TXT record is visible before the CA is asked to validate it.
   * @default [] (the host's resolvers)
   * @grammar hostPort
   */
  resolvers?: string[];
  /**
   * Also wait until every authoritative nameserver of the zone, queried directly on port 53,
   * serves the TXT record. Turn it off when the host cannot reach them on port 53 (a hidden
   * primary, a firewall); the check then goes through `resolvers` only.
   * @default true
   */
  checkAuthoritativeNameservers?: boolean;
}

/**
 * How the kit writes DNS records from a host: `"cloudflare"` is short for `{ type: "cloudflare" }`.
 * Secrets (the API token, the TSIG secret) are read from files on the host, never from the spec.
 */
export type DnsProviderSpec = "cloudflare" | CloudflareDnsProviderSpec | Rfc2136DnsProviderSpec;

/** Cloudflare's API, in the zone of the top-level `dns`. */
export interface CloudflareDnsProviderSpec {
  type: "cloudflare";
  /**
   * File on the host holding the API token (mode 0600, owner root). Scope the token to the one
   * zone: Zone / DNS / Edit, plus Zone / Zone / Read (lego looks the zone up; so does the updater
   * when `dns.zoneId` is not given). In a container the kit puts it there from a sensitive
   * Terraform variable. The environment variable `CLOUDFLARE_API_TOKEN` takes precedence.
   * @default "/etc/cdktf-tailnet/cloudflare-token"
   * @grammar absolutePath
   */
  tokenFile?: string;
}

/** RFC 2136 dynamic updates to a nameserver (BIND, Knot, PowerDNS, ...), signed with a TSIG key. */
export interface Rfc2136DnsProviderSpec {
  type: "rfc2136";
  /**
   * The nameserver that accepts the updates (usually the zone's primary): an IP address or a DNS name.
   * @grammar host
   */
  nameserver: string;
  /**
   * Its port.
   * @default 53
   */
  port?: number;
  /**
   * The zone the records live in, e.g. `example.com`; every name updated must lie inside it.
   * @grammar dnsName
   */
  zone: string;
  /**
   * Name of the TSIG key as the nameserver knows it, e.g. `home-ddns`.
   * @grammar tsigKeyName
   */
  tsigKeyName: string;
  /**
   * The TSIG key's algorithm.
   * @default "hmac-sha256"
   */
  tsigAlgorithm?: "hmac-sha256" | "hmac-sha384" | "hmac-sha512" | "hmac-sha224" | "hmac-sha1" | "hmac-md5";
  /**
   * File on the host holding the TSIG secret: the base64 `secret` of the key (as `tsig-keygen`
   * prints it), mode 0600, owner root. The environment variable `RFC2136_TSIG_SECRET` takes
   * precedence.
   * @default "/etc/cdktf-tailnet/tsig.secret"
   * @grammar absolutePath
   */
  tsigSecretFile?: string;
}

/**
 * The kit issues a self-signed ECDSA P-256 certificate for the node's host name (an IP address
 * SAN for IP-only nodes) and pins it in both DERP maps with `CertName: "sha256-raw:<hex>"`, so
 * clients verify exactly that certificate instead of skipping verification (InsecureForTests).
 * The private key stays in the local secrets directory (0600) and is reused on every synth, so
 * the pin is stable; it is reissued only when it nears expiry. Pins need Tailscale clients 1.82+.
 */
export interface SelfSignedCertificateSpec {
  mode: "self-signed";
  /**
   * How long the certificate is valid. Clients check expiry even with a pin; the kit reissues it
   * (and the maps carry the new pin) when fewer than 30 days are left.
   * @default 1826
   */
  validityDays?: number;
}

/** derper obtains and renews a certificate itself (needs port 443 and port 80 reachable). */
export interface LetsEncryptCertificateSpec {
  mode: "letsencrypt";
}

/**
 * derper loads `<hostname>.crt` and `<hostname>.key` from its certificate directory at start
 * (`-certmode=manual`). With `certFile`/`keyFile` the kit installs them under the names derper
 * expects; without them, the files must be put there by other means. For an IP-address host
 * name with no files, derper (1.82+) generates a self-signed certificate whose pin it prints.
 */
export interface ManualCertificateSpec {
  mode: "manual";
  /**
   * Certificate (full chain) on the machine that deploys, installed as `<hostname>.crt`.
   * @default - none
   * @grammar localPath
   */
  certFile?: string;
  /**
   * Private key on the machine that deploys, installed as `<hostname>.key` (mode 0600). It is
   * referenced by path and never copied into the synthesized Terraform JSON.
   * @default - none
   * @grammar localPath
   */
  keyFile?: string;
}

// ---------------------------------------------------------------------------------------------
// hosts and devices

/** A machine that runs headscale or derper. */
export interface HostSpec {
  /**
   * Host name in the model: lower-case letters, digits and dashes. Names output folders and resources.
   * @grammar identifier
   */
  name: string;
  /**
   * Public IPv4 address: a literal, or a Terraform token from another resource (a VM's IP).
   * @default - none
   * @grammar ipAddress | token
   */
  publicIpv4?: string;
  /**
   * Public IPv6 address: a literal or a Terraform token.
   * @default - none
   * @grammar ipAddress | token
   */
  publicIpv6?: string;
  /**
   * The public address changes (a home connection): DNS records are kept current by an updater
   * on the host instead of by Terraform.
   * @default false
   */
  dynamicIp?: boolean;
  /**
   * Keep the DNS records of this host's services (the coordination server's name, its DERP
   * nodes' names) current from the host itself: a systemd timer, or a container on a Docker host.
   * Only for hosts with `dynamicIp: true`; Terraform then creates such records once and leaves
   * their content to the updater.
   * @default - no updater
   */
  ddns?: HostDdnsSpec;
  /**
   * Deploy to this host's Docker engine.
   * @default - nothing is deployed to the host by Terraform
   */
  docker?: DockerTargetSpec;
  /**
   * Run the host's services directly on a Debian 12+ / Ubuntu 22.04+ VM under systemd: the kit
   * renders hardened units, an nftables ruleset and cloud-init user-data for it. Not together
   * with `docker`.
   * @default - not a VM target
   */
  vm?: VmTargetSpec;
  /**
   * The host's inbound firewall: rendered as `nftables.conf` for a VM, and as `firewall.json` (the
   * same rules as data, for a cloud security group) for every host.
   * @default { adminCidrs: [], sshPort: 22 }
   */
  firewall?: HostFirewallSpec;
}

/** A dynamic-DNS updater on a host whose public address changes. */
export interface HostDdnsSpec {
  /**
   * Where the records live: `cloudflare` (the zone of the top-level `dns`) or an RFC 2136 server.
   */
  provider: DnsProviderSpec;
  /**
   * How often the updater checks the address, a Go duration from 1m to 24h. Nothing is sent to
   * the provider while the address stays the same.
   * @default "5m"
   * @grammar duration
   */
  interval?: string;
  /**
   * How the updater learns the host's public IPv4 address: a "what is my IP" URL answering with
   * the bare address, a network interface holding it, or `"off"` (no A records).
   * @default { url: "https://ipv4.icanhazip.com" }
   */
  ipv4?: DdnsAddressSource | "off";
  /**
   * How the updater learns the host's public IPv6 address, or `"off"` (no AAAA records).
   * @default "off"
   */
  ipv6?: DdnsAddressSource | "off";
  /**
   * TTL in seconds of the records the updater writes (Cloudflare: of records it creates; 1 means
   * automatic there).
   * @default 60
   */
  ttl?: number;
}

/** Where the updater reads the public address. */
export type DdnsAddressSource = DdnsUrlSource | DdnsInterfaceSource;

/** A "what is my IP" service: an http(s) URL answering with the bare address. */
export interface DdnsUrlSource {
  /**
   * e.g. `https://ipv4.icanhazip.com` or `https://api6.ipify.org`.
   * @grammar webUrl
   */
  url: string;
}

/** A network interface that holds the public address (a host directly on the Internet). */
export interface DdnsInterfaceSource {
  /**
   * Interface name, e.g. `eth0` or `ppp0`; its first global address of the family is used.
   * @grammar interfaceName
   */
  interface: string;
}

/**
 * Inbound firewall settings. Everything else follows from the model: the ports the host's
 * services open (DERP, STUN, the control plane, port 80 only where ACME HTTP-01 or CanPort80
 * needs it) are open to everyone, SSH and headscale's metrics and gRPC listeners only to admins.
 */
export interface HostFirewallSpec {
  /**
   * Networks the host's administrators connect from, as CIDR prefixes or single addresses, e.g.
   * `["192.0.2.0/24", "2001:db8:1::/48"]`. Only they reach SSH, and headscale's metrics and
   * gRPC listeners when those listen beyond loopback.
   * @default [] (SSH, metrics and gRPC are closed to everyone)
   * @grammar ipPrefix
   */
  adminCidrs?: string[];
  /**
   * The port sshd listens on.
   * @default 22
   */
  sshPort?: number;
}

/** A VM the kit sets up with cloud-init: system users, files, units, firewall, binaries. */
export interface VmTargetSpec {
  /**
   * CPU architecture, for the release files the VM downloads.
   * @default "amd64"
   */
  arch?: "amd64" | "arm64";
  /**
   * SSH public keys for the image's default user (cloud-init `ssh_authorized_keys`). Public keys
   * only; the spec never holds secrets.
   * @default [] (the cloud's own key injection stays in charge)
   * @grammar sshPublicKey
   */
  sshAuthorizedKeys?: string[];
  /**
   * How headscale is installed, on the VM that runs it.
   * @default - required on a VM that runs headscale (its SHA-256 cannot be defaulted)
   */
  headscale?: HeadscaleInstallSpec;
  /**
   * How derper is installed, on a VM that runs a DERP node. There is no derper release binary:
   * build it on the VM from the pinned Tailscale release, or give a binary of your own.
   * @default - required on a VM that runs a DERP node
   */
  derper?: DerperInstallSpec;
}

/** headscale's official release file, pinned by its SHA-256. */
export interface HeadscaleInstallSpec {
  /**
   * `binary`: the release's static binary, installed as `/usr/local/bin/headscale`; `deb`: the
   * release's Debian package (binary `/usr/bin/headscale`; the kit's unit and config take
   * precedence over the package's).
   * @default "binary"
   */
  kind?: "binary" | "deb";
  /**
   * Where to download it (https, http or file; the SHA-256 is what is trusted).
   * @default - the GitHub release asset for headscale.version and arch, e.g.
   * `https://github.com/juanfont/headscale/releases/download/v0.29.8/headscale_0.29.8_linux_amd64`
   * @grammar downloadUrl
   */
  url?: string;
  /**
   * Instead of a download: the file (release binary, or `.deb` with `kind: "deb"`) on the machine
   * that deploys, e.g. `"dist/headscale"` (relative to the working directory). The `VmHost`
   * construct uploads it over SSH; on the VM the install script checks its SHA-256 before
   * installing it. Not together with `url`. With cloud-init alone, copy it to the VM yourself
   * (the user-data says where).
   * @default - downloaded from `url`
   * @grammar localPath
   */
  localFile?: string;
  /**
   * SHA-256 of that file, 64 hex digits (from the release's `checksums.txt`).
   * @grammar sha256
   */
  sha256: string;
}

/** How derper gets onto a VM. */
export type DerperInstallSpec = DerperBuildSpec | DerperBinarySpec | DerperLocalFileSpec;

/**
 * Build derper on the VM: download the pinned Go toolchain (verified by SHA-256), then
 * `go install tailscale.com/cmd/derper@v<derp.derper.version>` (the module is verified by Go's
 * checksum database). Needs about 1 GB of memory and a few minutes on a small VM.
 */
export interface DerperBuildSpec {
  source: "build";
  /**
   * Go release to build with; it must be at least the `go` line of the Tailscale release's
   * go.mod (1.102.x: 1.26.6; 1.104.0-1.104.1: 1.27.1; 1.104.2-1.104.6: 1.27.3; 1.104.7: 1.27.4).
   * @default - the Go the kit picks for derp.derper.version: 1.26.8 for 1.102.x, 1.27.4 for 1.104.x
   * @grammar version
   */
  goVersion?: string;
  /**
   * Where to download the Go toolchain.
   * @default - `https://go.dev/dl/go<goVersion>.linux-<arch>.tar.gz`
   * @grammar downloadUrl
   */
  goUrl?: string;
  /**
   * SHA-256 of the Go toolchain archive, 64 hex digits (listed on https://go.dev/dl/).
   * @grammar sha256
   */
  goSha256: string;
}

/** A derper binary of your own (built for the VM's architecture), pinned by its SHA-256. */
export interface DerperBinarySpec {
  source: "url";
  /**
   * Where to download it (https, http or file).
   * @grammar downloadUrl
   */
  url: string;
  /**
   * SHA-256 of the binary, 64 hex digits.
   * @grammar sha256
   */
  sha256: string;
}

/**
 * A derper binary of your own on the machine that deploys (e.g. built with
 * `GOOS=linux go install tailscale.com/cmd/derper@v<version>`), uploaded over SSH by the `VmHost`
 * construct and checked against its SHA-256 on the VM before it is installed.
 */
export interface DerperLocalFileSpec {
  source: "local";
  /**
   * The binary's path on the machine that deploys, e.g. `"dist/derper"` (relative to the working directory).
   * @grammar localPath
   */
  localFile: string;
  /**
   * SHA-256 of the binary, 64 hex digits.
   * @grammar sha256
   */
  sha256: string;
}

/** A Docker engine the kit deploys containers to. */
export interface DockerTargetSpec {
  /**
   * The engine's address: `ssh://user@host[:port]`, `tcp://host:2376` (TLS) or
   * `unix:///var/run/docker.sock`.
   * @grammar dockerDaemon | token
   */
  daemon: string;
  /**
   * Extra ssh options for an `ssh://` daemon, one argument per item, e.g.
   * `["-o", "StrictHostKeyChecking=yes"]`. An allow-list: `-o Key=Value` for options that change
   * how ssh connects and checks the host (`StrictHostKeyChecking`, `UserKnownHostsFile`,
   * `IdentityFile`, `Port`, `ProxyJump`, ...; never `ProxyCommand`, `LocalCommand` or anything
   * else that runs a command), `-i`, `-p`, `-l`, `-J`, `-4`, `-6`, `-C`, `-q`, `-v`, `-T`, `-x`, `-a`.
   * @default []
   * @grammar sshOption
   */
  sshOpts?: string[];
}

/** A tailnet device the kit should know about. */
export interface DeviceSpec {
  /**
   * Device name, lower-case letters, digits and dashes; its MagicDNS name.
   * @grammar identifier
   */
  name: string;
  /**
   * headscale user that owns the device.
   * @default - the tailnet's name
   * @grammar identifier
   */
  user?: string;
  /**
   * Subnet routes the device advertises, e.g. `["192.168.100.0/24"]`.
   * @default []
   * @grammar ipPrefix
   */
  advertiseRoutes?: string[];
  /**
   * The device offers itself as an exit node.
   * @default false
   */
  exitNode?: boolean;
  /**
   * ACL tags, e.g. `["tag:router"]`.
   * @default []
   * @grammar tagName
   */
  tags?: string[];
}
