/**
 * Small tailnets for the lab's own tests and benchmarks: one region (and what a test needs
 * besides), so a lab of them starts in a few seconds. Same shape as a user's spec: they go
 * through the normal pipeline like any other.
 */
import type { OidcSpec, TailnetSpec } from "../model/index.js";

/**
 * An `oidc` block as a production tailnet has one: PKCE, logins only for one domain and one group
 * (and the `groups` scope that carries it), headscale refusing to start without the provider.
 */
export const LAB_OIDC: OidcSpec = {
  issuer: "https://login.example.com",
  clientId: "headscale",
  clientSecretPath: "/etc/headscale/oidc-client-secret",
  scope: ["openid", "profile", "email", "groups"],
  allowedDomains: ["example.com"],
  allowedGroups: ["tailnet-users"],
  onlyStartIfAvailable: true,
  pkce: { enabled: true, method: "S256" },
};

export interface SmallLabSpecOptions {
  /** headscale version (default: the kit's default). */
  readonly headscaleVersion?: string;
  /** DERP nodes in the one region: 2 are meshed, each on a machine of its own (default 1). */
  readonly nodes?: 1 | 2;
  /** A subnet router (user ops, tag:router) advertising 192.168.100.0/24, auto-approved for its tag. */
  readonly router?: boolean;
  /** The router is an exit node too (approved for its tag). */
  readonly exitNode?: boolean;
  /** A tagged device without routes (user ops, tag:printer). */
  readonly taggedDevice?: boolean;
  /**
   * A second region with one DERP node named by an IP address, whose self-signed certificate the
   * kit issues and pins; NoMeasureNoHome, so clients home in the first region whatever happens to it.
   */
  readonly pinnedRegion?: boolean;
  /** derper's client verification against headscale (default on, as in the model). */
  readonly verifyClients?: boolean;
  /** Logins through OpenID Connect (`LAB_OIDC`). */
  readonly oidc?: boolean;
  /** headscale (on host `control`) and the first region's first node have IPv6 addresses (so a client with IPv6 only joins). */
  readonly ipv6?: boolean;
}

/** A tailnet of one region (`lab`, nodes derp1/derp2.example.com) and headscale at hs.example.com. */
export function smallLabSpec(options: SmallLabSpecOptions = {}): TailnetSpec {
  const nodes = options.nodes ?? 1;
  const devices: NonNullable<TailnetSpec["devices"]> = [
    ...(options.router
      ? [{ name: "router", user: "ops", advertiseRoutes: ["192.168.100.0/24"], tags: ["tag:router"], ...(options.exitNode && { exitNode: true }) }]
      : []),
    ...(options.taggedDevice ? [{ name: "printer", user: "ops", tags: ["tag:printer"] }] : []),
  ];
  return {
    name: "lab-small",
    headscale: {
      ...(options.headscaleVersion !== undefined && { version: options.headscaleVersion }),
      serverUrl: "https://hs.example.com",
      dns: { magicDns: true, baseDomain: "tail.example.net" },
      ...(options.oidc && { oidc: LAB_OIDC }),
      ...(options.ipv6 && { host: "control" }),
    },
    ...(options.ipv6 && {
      hosts: [{ name: "control", publicIpv4: "198.51.100.1", publicIpv6: "2001:db8:900::10", docker: { daemon: "ssh://deploy@198.51.100.1" } }],
    }),
    derp: {
      tailscaleRegions: "drop",
      ...(options.verifyClients !== undefined && { derper: { verifyClients: options.verifyClients } }),
      regions: [
        {
          id: 900,
          code: "lab",
          name: "Lab",
          nodes: [...Array(nodes).keys()].map((i) => ({
            name: `lab-${i + 1}`,
            hostname: `derp${i + 1}.example.com`,
            ...(options.ipv6 && i === 0 && { ipv6: "2001:db8:900::1" }),
          })),
        },
        ...(options.pinnedRegion
          ? [
              {
                id: 901,
                code: "edge",
                name: "Edge (IP only)",
                noMeasureNoHome: true,
                nodes: [{ name: "edge-1", hostname: "192.0.2.50", certificate: { mode: "self-signed" as const } }],
              },
            ]
          : []),
      ],
    },
    ...(devices.length > 0 && {
      users: [{ name: "ops" }],
      devices,
      policy: { tagOwners: Object.fromEntries(devices.flatMap((d) => d.tags ?? []).map((t) => [t, ["ops"]])) },
    }),
  };
}

/**
 * The tailnet of the how-to users come from, as they write it: headscale at an IP address over
 * plain HTTP on port 8080 (a private address: the kit refuses http:// to a public one), the node
 * prefix 10.1.0.0/16 with the opt-in, a meshed region of two nodes and an IP-only node the kit
 * pins, a router advertising 192.168.100.0/24 and an exit node, and no policy written (the kit
 * derives one that auto-approves both).
 */
export function howToLabSpec(options: { readonly headscaleVersion?: string } = {}): TailnetSpec {
  return {
    name: "how-to",
    headscale: {
      ...(options.headscaleVersion !== undefined && { version: options.headscaleVersion }),
      serverUrl: "http://192.168.1.10:8080",
      host: "server",
      prefixes: { v4: "10.1.0.0/16", v6: "fd7a:115c:a1e0::/48", allowNonStandard: true },
      dns: { magicDns: true, baseDomain: "tail.example.net" },
    },
    derp: {
      tailscaleRegions: "drop",
      regions: [
        {
          id: 900,
          code: "home",
          name: "Home",
          nodes: [
            { name: "home-1", host: "derp-a", hostname: "derp-a.example.com" },
            { name: "home-2", host: "derp-b", hostname: "derp-b.example.com" },
          ],
        },
        {
          id: 901,
          code: "pinned",
          name: "Pinned (IP only)",
          nodes: [{ name: "pinned-1", host: "derp-c", hostname: "192.168.1.13", certificate: { mode: "self-signed" } }],
        },
      ],
    },
    hosts: [
      { name: "server", publicIpv4: "192.168.1.10", docker: { daemon: "ssh://deploy@192.168.1.10" } },
      { name: "derp-a", publicIpv4: "192.168.1.11", docker: { daemon: "ssh://deploy@192.168.1.11" } },
      { name: "derp-b", publicIpv4: "192.168.1.12", docker: { daemon: "ssh://deploy@192.168.1.12" } },
      { name: "derp-c", publicIpv4: "192.168.1.13", docker: { daemon: "ssh://deploy@192.168.1.13" } },
    ],
    devices: [
      { name: "router", user: "home", advertiseRoutes: ["192.168.100.0/24"] },
      { name: "exit", user: "home", exitNode: true },
    ],
  };
}
