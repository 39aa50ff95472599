/**
 * The headscale versions the kit renders for, and what each one's config.yaml knows.
 *
 * Facts come from headscale's CHANGELOG and `hscontrol/types/config.go` per tag (see
 * shared/reference/FORMATS.md §1.4); the integration tests start each version's real binary on
 * what the kit renders. A release is listed only after its CHANGELOG and config example were read:
 * 0.29.3 changed no configuration key (fixes to registration and ephemeral nodes only).
 */

/** What one headscale minor version's configuration accepts. */
export interface HeadscaleFeatures {
  /** `derp.server.verify_clients` exists (0.27+). */
  embeddedDerpVerifyClients: boolean;
  /** `regions: {N: null}` removes a region from the merged DERP map (0.27+). */
  derpMapNullRegions: boolean;
  /** `taildrop.enabled` exists (0.28+). */
  taildrop: boolean;
  /** `oidc.email_verified_required` exists (0.28+). */
  oidcEmailVerifiedRequired: boolean;
  /** An empty `metrics_listen_addr` turns the listener off (0.28+). */
  metricsCanBeDisabled: boolean;
  /** `trusted_proxies` exists (0.29+). */
  trustedProxies: boolean;
  /**
   * The `node:` section exists: `node.expiry`, `node.ephemeral.inactivity_timeout` (0.29+);
   * before, `ephemeral_node_inactivity_timeout` and `oidc.expiry`.
   */
  nodeSection: boolean;
  /** `randomize_client_port` is still a config key (removed, fatal, in 0.29). */
  randomizeClientPortKey: boolean;
  /** `auto_update.enabled` exists (0.29+). */
  autoUpdateKey: boolean;
  /** headscale refuses to skip a minor version or downgrade the database (0.29+). */
  strictUpgradePath: boolean;
}

/** One supported headscale minor line. */
export interface HeadscaleMinor {
  /** e.g. `"0.29"`. */
  minor: string;
  /** Released patch versions, oldest first. */
  releases: readonly string[];
  /** Oldest Tailscale client this line supports. */
  minClientVersion: string;
  features: HeadscaleFeatures;
}

/** Supported headscale lines, oldest first. */
export const HEADSCALE_MINORS: readonly HeadscaleMinor[] = [
  {
    minor: "0.27",
    releases: ["0.27.0", "0.27.1"],
    minClientVersion: "1.64.0",
    features: {
      embeddedDerpVerifyClients: true,
      derpMapNullRegions: true,
      taildrop: false,
      oidcEmailVerifiedRequired: false,
      metricsCanBeDisabled: false,
      trustedProxies: false,
      nodeSection: false,
      randomizeClientPortKey: true,
      autoUpdateKey: false,
      strictUpgradePath: false,
    },
  },
  {
    minor: "0.28",
    releases: ["0.28.0"],
    minClientVersion: "1.74.0",
    features: {
      embeddedDerpVerifyClients: true,
      derpMapNullRegions: true,
      taildrop: true,
      oidcEmailVerifiedRequired: true,
      metricsCanBeDisabled: true,
      trustedProxies: false,
      nodeSection: false,
      randomizeClientPortKey: true,
      autoUpdateKey: false,
      strictUpgradePath: false,
    },
  },
  {
    minor: "0.29",
    releases: ["0.29.0", "0.29.1", "0.29.2", "0.29.3"],
    minClientVersion: "1.80.0",
    features: {
      embeddedDerpVerifyClients: true,
      derpMapNullRegions: true,
      taildrop: true,
      oidcEmailVerifiedRequired: true,
      metricsCanBeDisabled: true,
      trustedProxies: true,
      nodeSection: true,
      randomizeClientPortKey: false,
      autoUpdateKey: true,
      strictUpgradePath: true,
    },
  },
];

/** Every release the kit renders for, oldest first. */
export const SUPPORTED_HEADSCALE_VERSIONS: readonly string[] = HEADSCALE_MINORS.flatMap((m) => m.releases);

/** The newest stable release: the default target. */
export const DEFAULT_HEADSCALE_VERSION: string = SUPPORTED_HEADSCALE_VERSIONS[SUPPORTED_HEADSCALE_VERSIONS.length - 1]!;

/** A resolved headscale target version. */
export interface HeadscaleVersion {
  /** Without a leading `v`, e.g. `"0.29.3"`. */
  version: string;
  minor: HeadscaleMinor;
}

/**
 * Looks a version up, accepting a leading `v`. Returns undefined for anything not supported.
 */
export function findHeadscaleVersion(input: string): HeadscaleVersion | undefined {
  const version = input.trim().replace(/^v/, "");
  const minor = HEADSCALE_MINORS.find((m) => m.releases.includes(version));
  return minor ? { version, minor } : undefined;
}
