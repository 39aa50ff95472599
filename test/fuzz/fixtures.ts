/**
 * The specs the fuzzer starts from. Between them every string field of the schema holds a value
 * (the fuzzer fails when one does not). First the fuzzer's own: small, since a field is fuzzed in
 * the first fixture that sets it and a small spec renders and synthesizes fast, and setting what
 * nobody else sets (OIDC, PostgreSQL, TLS from files, the embedded DERP, every DERP certificate
 * source and derper install source, both DNS providers for the updater and for DNS-01, every
 * address source, the policy's auto-approvers, ssh options...); then the bundled example and the
 * other tests' specs.
 *
 * Files the spec names on the deploying machine (certFile, keyFile, localFile) are made by
 * {@link makeLocalFiles} in a scratch folder, since the constructs read and hash them.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueSelfSigned } from "../../secrets/index.js";
import type { TailnetSpec } from "../../model/index.js";
import { exampleSpec, maximalSpec } from "../support/specs.js";
import { FAKE_SHA256, vmDnsSpec, vmProxySpec, vmSpec } from "../support/vm-specs.js";

/** A spec to fuzz, built in `localDir` (where its files on the deploying machine are). */
export interface Fixture {
  readonly name: string;
  readonly spec: (localDir: string) => TailnetSpec;
}

/** The content of the binaries on the deploying machine the fixtures name (the pins are its SHA-256). */
const BINARY_CONTENT = "not a real binary: the fuzzer only hashes it\n";
const LOCAL_SHA256 = createHash("sha256").update(BINARY_CONTENT).digest("hex");

/** The host name of the DERP node whose certificate files are on the deploying machine. */
export const MANUAL_CERT_HOST = "derp-par.example.org";

/** Creates the files on the deploying machine the fixtures name, in `localDir`: binaries, a certificate and its key. */
export function makeLocalFiles(localDir: string): void {
  mkdirSync(localDir, { recursive: true });
  const cert = issueSelfSigned(MANUAL_CERT_HOST, 90);
  const files: Record<string, string> = { headscale: BINARY_CONTENT, derper: BINARY_CONTENT, "par.crt": cert.certPem, "par.key": cert.keyPem };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(localDir, name), content, { mode: 0o600 });
}

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0lHcmD2wS3lu3aMOTfCq2UJZk1aYcPZfB9fCm3sZ0d admin@laptop";

const ADMINS = { adminCidrs: ["192.0.2.0/24", "2001:db8:1::/48"] };

/**
 * headscale on a VM with everything: mid-upgrade, TLS from files on 443, PostgreSQL, OIDC, the
 * embedded DERP, an extra-records file, explicit prefixes; a DERP node beside it (so the server's
 * URL and the DERP map reach derper and the VM's user-data); the DNS zone (records for both), users,
 * devices and a policy with every kind of entry.
 */
export function fuzzHeadscaleSpec(): TailnetSpec {
  return {
    name: "fuzz-hs",
    headscale: {
      version: "0.29.3",
      upgradeFrom: "0.28.0",
      serverUrl: "https://hs.example.com",
      host: "hs",
      listenAddr: "0.0.0.0:443",
      metricsListenAddr: "127.0.0.1:9090",
      grpcListenAddr: "127.0.0.1:50443",
      trustedProxies: ["192.0.2.10/32"],
      prefixes: { v4: "100.64.0.0/10", v6: "fd7a:115c:a1e0::/48", allocation: "random" },
      database: { type: "postgres", host: "db.example.internal", name: "headscale", user: "headscale", ssl: "verify-full" },
      dns: {
        baseDomain: "tail.example.net",
        nameservers: { global: ["1.1.1.1"], split: { "home.arpa": ["192.168.100.1"] } },
        searchDomains: ["home.arpa"],
        extraRecordsPath: "/var/lib/headscale/extra-records.json",
      },
      tls: { mode: "files", certPath: "/etc/headscale/tls.crt", keyPath: "/etc/headscale/tls.key" },
      oidc: {
        issuer: "https://login.example.com",
        clientId: "headscale",
        clientSecretPath: "/etc/headscale/oidc_client_secret",
        scope: ["openid", "profile", "email"],
        extraParams: { domain_hint: "example.com" },
        allowedDomains: ["example.com"],
        allowedUsers: ["alice@example.com"],
        allowedGroups: ["tailnet-users"],
        pkce: { enabled: true, method: "S256" },
      },
      log: { level: "info", format: "text" },
      policy: { mode: "file" },
      embeddedDerp: {
        enabled: true,
        regionId: 999,
        regionCode: "headscale",
        regionName: "Headscale Embedded DERP",
        stunListenAddr: "0.0.0.0:3478",
        ipv4: "203.0.113.10",
        ipv6: "2001:db8:10::1",
      },
      ephemeralInactivityTimeout: "30m",
      nodeExpiry: "180d",
      derpUpdateFrequency: "3h",
    },
    derp: {
      tailscaleRegions: "drop",
      regions: [
        {
          id: 900,
          code: "hsr",
          name: "Headscale's region",
          nodes: [{ name: "hs-1", host: "hs", hostname: "derp-hs.example.com", derpPort: 8443, stunPort: 3479, certificate: { mode: "manual" } }],
        },
      ],
    },
    hosts: [
      {
        name: "hs",
        publicIpv4: "203.0.113.10",
        publicIpv6: "2001:db8:10::1",
        firewall: ADMINS,
        vm: {
          sshAuthorizedKeys: [SSH_KEY],
          headscale: { kind: "binary", url: "https://downloads.example.com/headscale", sha256: FAKE_SHA256 },
          derper: { source: "build", goSha256: FAKE_SHA256 },
        },
      },
    ],
    dns: { provider: "cloudflare", zoneId: "023e105f4ecef8ad9ca31a8372d0c353", zoneName: "example.com" },
    users: [{ name: "alice", preAuthKey: { reusable: true, expiration: "720h" } }, { name: "home" }],
    devices: [
      { name: "home-router", user: "home", advertiseRoutes: ["192.168.100.0/24"], exitNode: true, tags: ["tag:router"] },
      { name: "laptop", user: "alice" },
    ],
    policy: {
      groups: { "group:admins": ["alice"] },
      tagOwners: { "tag:router": ["group:admins"] },
      hosts: { "home-lan": "192.168.100.0/24" },
      acls: [
        { action: "accept", src: ["group:admins"], dst: ["*:*"] },
        { src: ["home"], dst: ["home-lan:22,443"], proto: "tcp" },
      ],
      autoApprovers: { routes: { "10.20.0.0/16": ["group:admins"] }, exitNode: ["tag:router"] },
    },
  };
}

/**
 * DERP nodes on VMs, with DNS records: one built on its VM with Let's Encrypt and explicit
 * addresses (headscale beside it, behind a proxy, rolled back 0.29.3 -> 0.28.0), one from a binary on this
 * machine with a kit-issued certificate.
 */
export function fuzzDerpSpec(localDir: string): TailnetSpec {
  return {
    name: "fuzz-derp",
    headscale: {
      version: "0.28.0",
      rollbackFrom: "0.29.3",
      serverUrl: "https://hs.example.com:8080",
      host: "fra",
      listenAddr: "0.0.0.0:8080",
      tls: { mode: "proxy" },
      dns: { baseDomain: "tail.example.net" },
    },
    derp: {
      derper: { version: "1.102.3" },
      regions: [
        {
          id: 900,
          code: "fra",
          name: "Frankfurt",
          nodes: [
            {
              name: "fra-1",
              host: "fra",
              hostname: "derp-fra.example.com",
              ipv4: "203.0.113.21",
              ipv6: "2001:db8:21::1",
              certificate: { mode: "letsencrypt" },
            },
          ],
        },
        { id: 902, code: "edge", name: "Edge", nodes: [{ name: "edge-1", host: "edge", hostname: "198.51.100.50", certificate: { mode: "self-signed" } }] },
      ],
    },
    hosts: [
      {
        name: "fra",
        publicIpv4: "203.0.113.21",
        firewall: ADMINS,
        vm: {
          arch: "amd64",
          headscale: { sha256: FAKE_SHA256 },
          derper: { source: "build", goVersion: "1.26.8", goUrl: "https://downloads.example.com/go.tar.gz", goSha256: FAKE_SHA256 },
        },
      },
      {
        name: "edge",
        publicIpv4: "198.51.100.50",
        firewall: ADMINS,
        vm: { derper: { source: "local", localFile: join(localDir, "derper"), sha256: LOCAL_SHA256 } },
      },
    ],
    dns: { provider: "cloudflare", zoneName: "example.com" },
  };
}

/**
 * The DNS helpers on VMs: a dynamic host whose updater uses RFC 2136 with an interface and a URL
 * as address sources and whose node gets a DNS-01 certificate through RFC 2136 (derper downloaded),
 * and one using Cloudflare for both, with token files.
 */
export function fuzzDnsHelpersSpec(): TailnetSpec {
  return {
    name: "fuzz-dns",
    headscale: { serverUrl: "https://hs.example.com", dns: { baseDomain: "tail.example.net" } },
    derp: {
      regions: [
        {
          id: 901,
          code: "home",
          name: "Home",
          nodes: [
            {
              name: "home-1",
              host: "home",
              hostname: "derp-home.example.com",
              derpPort: 8443,
              certificate: {
                mode: "dns-01",
                email: "admin@example.com",
                acmeUrl: "https://acme-staging-v02.api.letsencrypt.org/directory",
                resolvers: ["192.0.2.53:53"],
                provider: {
                  type: "rfc2136",
                  nameserver: "ns1.example.com",
                  zone: "example.com",
                  tsigKeyName: "home-acme",
                  tsigAlgorithm: "hmac-sha512",
                  tsigSecretFile: "/etc/cdktf-tailnet/acme-tsig.secret",
                },
              },
            },
          ],
        },
        {
          id: 903,
          code: "ams",
          name: "Amsterdam",
          nodes: [
            {
              name: "ams-1",
              host: "ams",
              hostname: "derp-ams.example.com",
              derpPort: 8443,
              certificate: {
                mode: "dns-01",
                email: "admin@example.com",
                provider: { type: "cloudflare", tokenFile: "/etc/cdktf-tailnet/acme-cloudflare-token" },
              },
            },
          ],
        },
      ],
    },
    hosts: [
      {
        name: "home",
        dynamicIp: true,
        ddns: {
          provider: {
            type: "rfc2136",
            nameserver: "192.0.2.53",
            zone: "example.com",
            tsigKeyName: "home-ddns",
            tsigAlgorithm: "hmac-sha256",
            tsigSecretFile: "/etc/cdktf-tailnet/ddns-tsig.secret",
          },
          interval: "5m",
          ipv4: { interface: "ppp0" },
          ipv6: { url: "https://api6.ipify.org" },
        },
        firewall: { adminCidrs: ["192.168.1.0/24"], sshPort: 2222 },
        vm: { derper: { source: "url", url: "https://downloads.example.com/derper", sha256: FAKE_SHA256 } },
      },
      {
        name: "ams",
        dynamicIp: true,
        ddns: {
          provider: { type: "cloudflare", tokenFile: "/etc/cdktf-tailnet/ddns-cloudflare-token" },
          ipv4: { url: "https://ipv4.icanhazip.com" },
          ipv6: "off",
        },
        firewall: ADMINS,
        vm: { derper: { source: "build", goSha256: FAKE_SHA256 } },
      },
    ],
    dns: { provider: "cloudflare", zoneName: "example.com" },
  };
}

/**
 * Docker hosts with what the example leaves out: headscale (its backups copied to S3) with Let's Encrypt's TLS-ALPN-01 on a
 * named host, a policy file of the user's own, IPv4-only prefixes, extra records; derper from an
 * image of the user's own, a node with certificate files from this machine, a dynamic host whose
 * updater uses Cloudflare with a token file and an interface as address source; ssh options for
 * the engines.
 */
export function fuzzDockerSpec(localDir: string): TailnetSpec {
  return {
    name: "fuzz-docker",
    headscale: {
      serverUrl: "https://hs.example.org",
      host: "cloud",
      tls: {
        mode: "letsencrypt",
        hostname: "hs.example.org",
        challenge: "TLS-ALPN-01",
        email: "admin@example.org",
        acmeUrl: "https://acme-staging-v02.api.letsencrypt.org/directory",
      },
      prefixes: { v4: "100.64.0.0/10", v6: null },
      dns: { baseDomain: "tail.example.net", extraRecords: [{ name: "grafana.tail.example.net", type: "A", value: "100.64.0.10" }] },
      policy: { mode: "file", path: "/etc/headscale/policy/own.hujson" },
      backup: { restic: { repository: "s3:https://s3.example.org/backups/hs", credentialsFile: "/etc/cdktf-tailnet/restic.env" } },
    },
    derp: {
      tailscaleRegions: { keepExcept: [1] },
      derper: { version: "1.102.3", image: "registry.example.org/derper:1.102.3" },
      regions: [
        {
          id: 900,
          code: "par",
          name: "Paris",
          nodes: [
            {
              name: "par-1",
              host: "par",
              hostname: MANUAL_CERT_HOST,
              certificate: { mode: "manual", certFile: join(localDir, "par.crt"), keyFile: join(localDir, "par.key") },
            },
          ],
        },
        {
          id: 901,
          code: "home",
          name: "Home",
          nodes: [
            {
              name: "home-1",
              host: "home",
              hostname: "derp-home.example.org",
              derpPort: 8443,
              certificate: { mode: "dns-01", email: "admin@example.org", provider: "cloudflare" },
            },
          ],
        },
      ],
    },
    hosts: [
      { name: "cloud", publicIpv4: "203.0.113.10", docker: { daemon: "ssh://deploy@203.0.113.10", sshOpts: ["-o", "StrictHostKeyChecking=yes"] } },
      { name: "par", publicIpv4: "198.51.100.11", docker: { daemon: "tcp://198.51.100.11:2376" } },
      {
        name: "home",
        dynamicIp: true,
        ddns: { provider: { type: "cloudflare", tokenFile: "/etc/cdktf-tailnet/cloudflare-token" }, interval: "10m", ipv4: "off", ipv6: { interface: "ppp0" } },
        docker: { daemon: "ssh://deploy@home-gw.example.org" },
      },
    ],
    dns: { provider: "cloudflare", zoneName: "example.org" },
  };
}

/** headscale on a VM from a binary on this machine, behind a proxy (explicit), SQLite (explicit), backups every 30m copied to sftp. */
export function fuzzVmLocalSpec(localDir: string): TailnetSpec {
  return {
    name: "fuzz-vm-local",
    headscale: {
      serverUrl: "https://hs.example.net",
      host: "hs",
      listenAddr: "0.0.0.0:8080",
      tls: { mode: "proxy" },
      database: { type: "sqlite", writeAheadLog: true },
      dns: { baseDomain: "tail.example.net" },
      policy: { mode: "database" },
      backup: {
        interval: "30m",
        keep: 10,
        restic: {
          repository: "sftp:backup@backup.example.net:/srv/restic/hs",
          passwordFile: "/etc/cdktf-tailnet/restic-password",
          sshKeyFile: "/etc/cdktf-tailnet/restic-ssh-key",
          sshKnownHostsFile: "/etc/cdktf-tailnet/restic-known-hosts",
        },
      },
    },
    derp: { tailscaleRegions: "keep" },
    hosts: [{ name: "hs", publicIpv4: "203.0.113.60", vm: { headscale: { kind: "deb", localFile: join(localDir, "headscale"), sha256: LOCAL_SHA256 } } }],
  };
}

/**
 * Every fixture, in the order the fuzzer prefers them for a field: its own first (small, and the
 * only ones for many fields), then the bundled example and the other tests' specs.
 */
export const FIXTURES: readonly Fixture[] = [
  { name: "fuzz-hs", spec: () => fuzzHeadscaleSpec() },
  { name: "fuzz-derp", spec: fuzzDerpSpec },
  { name: "fuzz-dns", spec: () => fuzzDnsHelpersSpec() },
  { name: "fuzz-docker", spec: fuzzDockerSpec },
  { name: "fuzz-vm-local", spec: fuzzVmLocalSpec },
  { name: "home-lab", spec: () => exampleSpec() },
  { name: "vm-dns", spec: () => vmDnsSpec() },
  { name: "vm-proxy", spec: () => vmProxySpec() },
  { name: "vm-lab", spec: () => vmSpec() },
  { name: "maximal-postgres", spec: () => maximalSpec("0.29.3", "postgres") },
];
