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

/** Where an upgrade from one headscale release to another stands. */
export interface UpgradePlan {
  /** The jump can be deployed as is. */
  readonly ok: boolean;
  /** The versions to deploy in order, each started once so headscale migrates the database. */
  readonly path: readonly string[];
  /** Why not, or what happens. */
  readonly explanation: string;
}

function minorIndex(v: HeadscaleVersion): number {
  return HEADSCALE_MINORS.indexOf(v.minor);
}

function compareReleases(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/**
 * Plans going from the deployed headscale `from` to `to`. headscale upgrades one minor version at
 * a time and never migrates a database back; from 0.29 on it records the version that last used
 * the database and refuses other jumps itself, but a 0.27 or 0.28 database carries no such record,
 * so only the kit can catch 0.27 -> 0.29. Such a jump is refused with the steps to take: each
 * minor's newest release in turn.
 */
export function planUpgrade(from: HeadscaleVersion, to: HeadscaleVersion): UpgradePlan {
  const cmp = compareReleases(from.version, to.version);
  if (cmp === 0) return { ok: true, path: [], explanation: "no version change" };
  if (cmp > 0) {
    return {
      ok: false,
      path: [],
      explanation: `headscale ${from.version} -> ${to.version} is a downgrade: headscale does not migrate a database back (0.29 refuses to start on it); restore the database backup taken before ${from.version} was deployed, or stay on ${from.version}`,
    };
  }
  const [a, b] = [minorIndex(from), minorIndex(to)];
  const path = HEADSCALE_MINORS.slice(a + 1, b).map((m) => m.releases.at(-1)!);
  path.push(to.version);
  if (b - a > 1) {
    return {
      ok: false,
      path,
      explanation: `headscale ${from.version} -> ${to.version} skips ${HEADSCALE_MINORS.slice(a + 1, b).map((m) => m.minor).join(", ")}; headscale upgrades one minor version at a time (0.29 refuses other jumps only on a database a 0.29 or later already used, so it cannot catch this one). Deploy ${[from.version, ...path].join(" -> ")}, starting each version once so it migrates the database`,
    };
  }
  return { ok: true, path, explanation: `headscale ${from.version} -> ${to.version}: the database is backed up, then migrated at the first start` };
}
