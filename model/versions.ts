/**
 * The headscale versions the kit renders for, and what each one's config.yaml knows.
 *
 * Facts come from headscale's CHANGELOG and `hscontrol/types/config.go` per tag (see
 * shared/reference/FORMATS.md §1.4, UPSTREAM-RELEASES.md §1); the integration tests start each
 * version's real binary on what the kit renders. A release is listed only after its CHANGELOG was
 * read, or (0.29.5, 0.29.6, 0.29.7: see their notes) its neighbours' notes show the minor's config
 * did not change. Known advisories per release are in advisories.ts.
 */

/** One headscale release the kit renders for. */
export interface HeadscaleRelease {
  /** Without a leading `v`, e.g. `"0.29.8"`. */
  readonly version: string;
  /** Release date (YYYY-MM-DD); undefined when no source gave it. */
  readonly date: string | undefined;
  /** What the release changed that matters to the kit, and how sure that is. */
  readonly notes: string;
}

const CHANGELOG_0_29_8 = "https://raw.githubusercontent.com/juanfont/headscale/v0.29.8/CHANGELOG.md";

/**
 * Every release the kit renders for, oldest first. Patch releases of one minor share that minor's
 * features (`HeadscaleMinor.features`): a patch that changed a config key would need a minor entry
 * of its own.
 */
export const HEADSCALE_RELEASES: readonly HeadscaleRelease[] = [
  { version: "0.27.0", date: undefined, notes: "baseline of the 0.27 line (FORMATS.md §1.4)" },
  { version: "0.27.1", date: "2025-11-11", notes: "fixes only" },
  { version: "0.28.0", date: "2026-02-04", notes: "baseline of the 0.28 line (FORMATS.md §1.4)" },
  { version: "0.29.0", date: "2026-06-17", notes: "baseline of the 0.29 line (FORMATS.md §1.4)" },
  { version: "0.29.1", date: undefined, notes: "fixes only" },
  { version: "0.29.2", date: "2026-07-01", notes: "fixes only; the config keys the kit was proved against" },
  {
    version: "0.29.3",
    date: "2026-07-29",
    notes:
      "registration, auth and tag fixes; /key refuses clients below 1.80 as /ts2021 did; no config, DERP, policy or CLI change (https://github.com/juanfont/headscale/releases/tag/v0.29.3)",
  },
  {
    version: "0.29.4",
    date: undefined,
    notes:
      "backported fixes (extra-record names lower-cased, a node no longer its own peer, users rename, metrics); no config key, default, DERP, policy or CLI flag change in the known items; released on or before 2026-09-25, final notes not read (https://github.com/juanfont/headscale/pull/3454, /pull/3467)",
  },
  {
    version: "0.29.5",
    date: undefined,
    notes: "contents unknown: no notes were found; the kit assumes 0.29's config keys, as in every 0.29 release whose notes were read",
  },
  {
    version: "0.29.6",
    date: undefined,
    notes: "contents unknown: no notes were found; the kit assumes 0.29's config keys, as in every 0.29 release whose notes were read",
  },
  {
    version: "0.29.7",
    date: "2026-10-30",
    notes: `security release (advisories.ts); minimum client still 1.80.0; its full fix list was not readable, so a config change in it is not ruled out; 0.29.8, which lists no config change, renders the same keys (${CHANGELOG_0_29_8})`,
  },
  {
    version: "0.29.8",
    date: "2026-11-26",
    notes: `one change (#3724): each peer carries its own capability version, which Tailscale 1.106+ needs to reach older clients; no config, DERP, policy or CLI change (${CHANGELOG_0_29_8})`,
  },
];

function releasesOf(minor: string): string[] {
  return HEADSCALE_RELEASES.filter((r) => r.version.startsWith(`${minor}.`)).map((r) => r.version);
}

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
  /**
   * `*` in a policy means Tailscale's ranges (100.64.0.0/10, fd7a:115c:a1e0::/48) and the approved
   * routes, not every address (0.29+), so nodes of a non-standard prefix are not in it.
   */
  wildcardIsTailscaleRanges: boolean;
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
    releases: releasesOf("0.27"),
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
      wildcardIsTailscaleRanges: false,
    },
  },
  {
    minor: "0.28",
    releases: releasesOf("0.28"),
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
      wildcardIsTailscaleRanges: false,
    },
  },
  {
    minor: "0.29",
    releases: releasesOf("0.29"),
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
      wildcardIsTailscaleRanges: true,
    },
  },
];

/** Every release the kit renders for, oldest first. */
export const SUPPORTED_HEADSCALE_VERSIONS: readonly string[] = HEADSCALE_MINORS.flatMap((m) => m.releases);

/** The newest release: the default target (advisories.ts proves it has no known advisory). */
export const DEFAULT_HEADSCALE_VERSION: string = SUPPORTED_HEADSCALE_VERSIONS[SUPPORTED_HEADSCALE_VERSIONS.length - 1]!;

/** A resolved headscale target version. */
export interface HeadscaleVersion {
  /** Without a leading `v`, e.g. `"0.29.8"`. */
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

/** Orders two `x.y.z` releases (no leading `v`): negative when `a` is older. */
export function compareReleases(a: string, b: string): number {
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
      explanation: `headscale ${from.version} -> ${to.version} skips ${HEADSCALE_MINORS.slice(a + 1, b)
        .map((m) => m.minor)
        .join(
          ", ",
        )}; headscale upgrades one minor version at a time (0.29 refuses other jumps only on a database a 0.29 or later already used, so it cannot catch this one). Deploy ${[from.version, ...path].join(" -> ")}, starting each version once so it migrates the database`,
    };
  }
  return { ok: true, path, explanation: `headscale ${from.version} -> ${to.version}: the database is backed up, then migrated at the first start` };
}
