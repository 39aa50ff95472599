/**
 * Specs with VM hosts, for the systemd / nftables / firewall.json / cloud-init tests. Between them
 * they cover every shape of unit the kit renders: headscale binding 443/80 (a capability) and
 * 8080 (a user namespace instead), derper binding 443/80 and 8443 only, a meshed region, an
 * IP-only node, admin-only metrics and gRPC, every way of installing the binaries.
 */
import type { TailnetSpec } from "../../model/index.js";

/** A SHA-256 that only has the right shape (tests that download use real ones). */
export const FAKE_SHA256 = "0123456789abcdef".repeat(4);
export const ADMIN_V4 = "192.0.2.0/24";
export const ADMIN_V6 = "2001:db8:1::/48";

/**
 * A cloud tailnet on VMs: headscale with Let's Encrypt on 443 (HTTP-01 on 80) and metrics and gRPC
 * on every address (admins only); a meshed two-node region; a node on 8443 with no port 80; an
 * IP-only node with a binary of the user's own.
 */
export function vmSpec(): TailnetSpec {
  const firewall = () => ({ adminCidrs: [ADMIN_V4, ADMIN_V6] });
  const derperBuild = () => ({ source: "build" as const, goSha256: FAKE_SHA256 });
  return {
    name: "vm-lab",
    headscale: {
      serverUrl: "https://hs.example.com",
      host: "hs",
      tls: { mode: "letsencrypt", email: "admin@example.com" },
      metricsListenAddr: "0.0.0.0:9090",
      grpcListenAddr: "0.0.0.0:50443",
      dns: { baseDomain: "tail.example.net" },
    },
    derp: {
      regions: [
        {
          id: 900,
          code: "fra",
          name: "Frankfurt",
          nodes: [
            { name: "fra-1", host: "fra-1", hostname: "derp-fra1.example.com" },
            { name: "fra-2", host: "fra-2", hostname: "derp-fra2.example.com" },
          ],
        },
        {
          id: 901,
          code: "home",
          name: "Home",
          nodes: [{ name: "home-1", host: "home", hostname: "derp-home.example.com", derpPort: 8443, certificate: { mode: "manual" } }],
        },
        { id: 902, code: "edge", name: "Edge", nodes: [{ name: "edge-1", host: "edge", hostname: "198.51.100.50", certName: `sha256-raw:${FAKE_SHA256}` }] },
      ],
    },
    hosts: [
      {
        name: "hs",
        publicIpv4: "203.0.113.10",
        publicIpv6: "2001:db8:10::1",
        firewall: firewall(),
        vm: {
          sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0lHcmD2wS3lu3aMOTfCq2UJZk1aYcPZfB9fCm3sZ0d admin@laptop"],
          headscale: { sha256: FAKE_SHA256 },
        },
      },
      { name: "fra-1", publicIpv4: "203.0.113.21", firewall: firewall(), vm: { derper: derperBuild() } },
      { name: "fra-2", publicIpv4: "203.0.113.22", firewall: firewall(), vm: { arch: "arm64", derper: derperBuild() } },
      { name: "home", firewall: { adminCidrs: ["192.168.100.0/24"], sshPort: 2222 }, vm: { derper: derperBuild() } },
      {
        name: "edge",
        publicIpv4: "198.51.100.50",
        firewall: firewall(),
        vm: { derper: { source: "url", url: "https://downloads.example.com/derper-1.102.3-amd64", sha256: FAKE_SHA256 } },
      },
    ],
  };
}

/**
 * headscale behind a TLS proxy on 8080 (no port below 1024, so its unit gets a user namespace),
 * PostgreSQL (an environment file for the password), the Debian package, and the embedded DERP's
 * STUN on 3478; one DERP node on 443/80 beside it on another VM.
 */
export function vmProxySpec(): TailnetSpec {
  return {
    name: "vm-proxy",
    headscale: {
      serverUrl: "https://hs.example.org",
      host: "hs",
      listenAddr: "0.0.0.0:8080",
      database: { type: "postgres", host: "/run/postgresql", name: "headscale", user: "headscale" },
      embeddedDerp: { enabled: true, regionId: 999 },
      dns: { baseDomain: "tail.example.net" },
    },
    derp: { regions: [{ id: 900, code: "ams", name: "Amsterdam", nodes: [{ name: "ams-1", host: "ams", hostname: "derp-ams.example.org" }] }] },
    hosts: [
      { name: "hs", publicIpv4: "203.0.113.30", firewall: { adminCidrs: ["203.0.113.0/28"] }, vm: { headscale: { kind: "deb", sha256: FAKE_SHA256 } } },
      {
        name: "ams",
        publicIpv4: "203.0.113.40",
        firewall: { adminCidrs: ["203.0.113.0/28"] },
        vm: { derper: { source: "build", goVersion: "1.26.6", goSha256: FAKE_SHA256 } },
      },
    ],
  };
}

/**
 * A home VM behind a changing address: the DDNS updater (Cloudflare) keeps its DERP node's name
 * current, and the node has a DNS-01 certificate (RFC 2136). So the host gets every helper unit the
 * kit renders: the updater's service and timer; the ACME client's service and timer, its hand-off
 * service, and derper's restart path and service.
 */
export function vmDnsSpec(): TailnetSpec {
  return {
    name: "vm-dns",
    headscale: { serverUrl: "https://hs.example.net", host: "hs", listenAddr: "0.0.0.0:8080", dns: { baseDomain: "tail.example.net" } },
    dns: { provider: "cloudflare", zoneName: "example.net" },
    derp: {
      regions: [
        {
          id: 900,
          code: "home",
          name: "Home",
          nodes: [
            {
              name: "home-1",
              host: "home",
              hostname: "derp-home.example.net",
              derpPort: 8443,
              certificate: {
                mode: "dns-01",
                email: "admin@example.net",
                provider: { type: "rfc2136", nameserver: "192.0.2.53", zone: "example.net", tsigKeyName: "acme" },
              },
            },
          ],
        },
      ],
    },
    hosts: [
      { name: "hs", publicIpv4: "203.0.113.50", firewall: { adminCidrs: [ADMIN_V4] }, vm: { headscale: { sha256: FAKE_SHA256 } } },
      {
        name: "home",
        dynamicIp: true,
        ddns: { provider: "cloudflare", interval: "5m" },
        firewall: { adminCidrs: ["192.168.1.0/24"] },
        vm: { derper: { source: "build", goSha256: FAKE_SHA256 } },
      },
    ],
  };
}
