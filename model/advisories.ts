/**
 * Known advisories of the programs the kit pins or advises on, as data with their sources: the
 * one place that says which headscale or Tailscale release is affected by what, and which release
 * fixes it. Validation warns about a pinned release that is affected, `cdktf-tailnet versions`
 * lists them per release, `doctor` checks the running headscale against them, and the client
 * advice of `bootstrap` and `doctor` is derived from them.
 *
 * Facts from UPSTREAM-RELEASES.md §1.5, §1.6, §3.2 (gathered 2026-12-07): where a source says
 * less than a field asks, the field's note says what is not known.
 */
import type { CheckContext } from "./context.js";
import { SUPPORTED_HEADSCALE_VERSIONS, compareReleases, findHeadscaleVersion, planUpgrade, type HeadscaleVersion } from "./versions.js";

/** The program whose version decides whether an advisory applies. */
export type AdvisoryProgram = "headscale" | "tailscaled" | "derper";

/** One known advisory. */
export interface Advisory {
  /**
   * Upstream's name for it: a bulletin id (`TS-2026-014`), or, where upstream published no id,
   * the release or pull request that fixed it.
   */
  readonly id: string;
  /** `security`: a vulnerability; `compatibility`: a bug that breaks connectivity. */
  readonly kind: "security" | "compatibility";
  /** The programs it is in; a release of another program is not affected. */
  readonly programs: readonly AdvisoryProgram[];
  /** What is affected, in a few words. */
  readonly affects: string;
  /** The first release that fixes it (no leading `v`). */
  readonly fixedIn: string;
  /** The oldest affected release, when known; without it every release before `fixedIn` counts as affected. */
  readonly affectedFrom?: string;
  /** What to do until the upgrade, when there is a stop-gap. */
  readonly mitigation?: string;
  /** What a fixed release means, in a sentence (for the client advice). */
  readonly whenFixed?: string;
  /** Where the facts come from. */
  readonly source: string;
  /** What the sources did not say. */
  readonly unknown?: string;
}

/** Every known advisory, oldest fix first per program. */
export const ADVISORIES: readonly Advisory[] = [
  {
    id: "TS-2026-004",
    kind: "security",
    programs: ["tailscaled"],
    affects: "tailscaled: Tailscale SSH Unix-socket forwarding did not respect symlink permissions",
    fixedIn: "1.98.10",
    source: "https://github.com/sudocarlos/tailscale-startos/releases/tag/v1.98.10-0 (a repackager quoting the bulletin)",
    unknown: "the bulletin itself was not read; which 1.100 releases carry the fix is not known",
  },
  {
    id: "TS-2026-006",
    kind: "security",
    programs: ["tailscaled"],
    affects: "tailscaled: Tailscale SSH accepted UIDs or numeric-only user names",
    fixedIn: "1.98.10",
    source: "https://github.com/sudocarlos/tailscale-startos/releases/tag/v1.98.10-0 (a repackager quoting the bulletin)",
    unknown: "the bulletin itself was not read; which 1.100 releases carry the fix is not known",
  },
  {
    id: "TS-2026-014",
    kind: "security",
    programs: ["tailscaled"],
    affects: "tailscaled: Tailscale SSH forwarding, SSH session handling and Serve",
    fixedIn: "1.104.4",
    mitigation:
      "set TS_SSH_DISABLE_FORWARDING=1 in tailscaled's environment and restart it: SSH agent and port forwarding are then off for every Tailscale SSH session on that node",
    source:
      "https://tailscale.com/security-bulletins#ts-2026-014, as summarised in headscale's 0.29.7 CHANGELOG (https://raw.githubusercontent.com/juanfont/headscale/v0.29.8/CHANGELOG.md)",
    unknown: "the bulletin text was not read; no source names derper, so derper builds are not counted as affected",
  },
  {
    id: "headscale 0.29.7 security release",
    kind: "security",
    programs: ["headscale"],
    affects: "headscale: denial of service against the coordination server (findings of Anthropic's oss-scanner and the Tailworm report, none critical)",
    fixedIn: "0.29.7",
    source: "https://raw.githubusercontent.com/juanfont/headscale/v0.29.8/CHANGELOG.md (0.29.7; first fix: https://github.com/juanfont/headscale/pull/3624)",
    unknown:
      "headscale published no GHSA or CVE id; its list of fixes was not readable; which earlier releases are affected is not stated, so every release before 0.29.7 counts as affected",
  },
  {
    id: "headscale#3724",
    kind: "compatibility",
    programs: ["headscale"],
    affects:
      "a Tailscale 1.106 or newer client cannot connect to older clients: headscale gives every peer the capability version of the node receiving the map, and 1.106 chooses per-peer features (hybrid WireGuard handshakes) by it",
    fixedIn: "0.29.8",
    mitigation: "keep every node below Tailscale 1.106",
    whenFixed: "Tailscale 1.106 and newer clients connect to older clients",
    source: "https://github.com/juanfont/headscale/releases/tag/v0.29.8 (https://github.com/juanfont/headscale/pull/3724)",
  },
];

/** Whether `advisory` applies to `version` of `program` (no leading `v`). */
export function affects(advisory: Advisory, program: AdvisoryProgram, version: string): boolean {
  if (!advisory.programs.includes(program)) return false;
  if (compareReleases(version, advisory.fixedIn) >= 0) return false;
  return advisory.affectedFrom === undefined || compareReleases(version, advisory.affectedFrom) >= 0;
}

/** The advisories that apply to `version` of `program`, in table order. */
export function advisoriesFor(program: AdvisoryProgram, version: string, table: readonly Advisory[] = ADVISORIES): Advisory[] {
  return table.filter((a) => affects(a, program, version.replace(/^v/, "")));
}

/** The oldest Tailscale release with every known tailscaled security fix: what every node should run. */
export function recommendedClientVersion(table: readonly Advisory[] = ADVISORIES): string {
  return table
    .filter((a) => a.kind === "security" && a.programs.includes("tailscaled"))
    .map((a) => a.fixedIn)
    .reduce((a, b) => (compareReleases(a, b) >= 0 ? a : b));
}

/** The newest headscale release the kit renders for that no advisory applies to. */
export function safeHeadscaleVersion(table: readonly Advisory[] = ADVISORIES): string | undefined {
  return [...SUPPORTED_HEADSCALE_VERSIONS].reverse().find((v) => advisoriesFor("headscale", v, table).length === 0);
}

/** `id (fixed in x)`, the short form for tables. */
export function advisoryLabel(a: Advisory): string {
  return `${a.id} (fixed in ${a.fixedIn})`;
}

/** How to get from `version` to a release without known advisories, as a fix line. */
function upgradeFix(version: HeadscaleVersion, table: readonly Advisory[]): string {
  const safe = safeHeadscaleVersion(table);
  if (safe === undefined) return "no release the kit knows fixes it yet";
  const plan = planUpgrade(version, findHeadscaleVersion(safe)!);
  if (plan.ok) return `set headscale.version to ${safe} (with upgradeFrom: "${version.version}" while it deploys)`;
  return `upgrade one minor version at a time, ${[version.version, ...plan.path].join(" -> ")}, with headscale.upgradeFrom set to the deployed release at each step`;
}

/**
 * Warns about each known advisory of the pinned headscale release and derper's Tailscale release:
 * the spec stays valid (a user may have to stay on a release for a while), but every render says
 * what the release is exposed to and which release fixes it.
 */
export function checkAdvisories(ctx: Pick<CheckContext, "spec" | "version" | "warnings">, table: readonly Advisory[] = ADVISORIES): void {
  const { spec, version: headscale, warnings } = ctx;
  if (headscale) {
    for (const a of advisoriesFor("headscale", headscale.version, table)) {
      const mitigation = a.mitigation ? `; until then, ${a.mitigation}` : "";
      warnings.add(
        "headscale.version",
        `headscale ${headscale.version} has a known ${a.kind} advisory: ${a.id}, ${a.affects}; fixed in ${a.fixedIn} (${a.source})`,
        `${upgradeFix(headscale, table)}${mitigation}`,
      );
    }
  }
  const derper = spec.derp?.derper?.version;
  if (derper !== undefined) {
    for (const a of advisoriesFor("derper", derper, table)) {
      warnings.add(
        "derp.derper.version",
        `derper from Tailscale ${derper.replace(/^v/, "")} has a known ${a.kind} advisory: ${a.id}, ${a.affects}; fixed in ${a.fixedIn} (${a.source})`,
        `set derp.derper.version to ${a.fixedIn} or later${a.mitigation ? `; until then, ${a.mitigation}` : ""}`,
      );
    }
  }
}

/**
 * What Tailscale clients need with headscale `version`: the minimum it accepts, the release every
 * node should run for the known tailscaled fixes, and what the release means for mixed client
 * versions. One sentence per line, for bootstrap's join commands, doctor and the README.
 */
export function clientAdvice(version: HeadscaleVersion, table: readonly Advisory[] = ADVISORIES): string[] {
  const recommended = recommendedClientVersion(table);
  const fixes = table.filter((a) => a.kind === "security" && a.programs.includes("tailscaled") && a.fixedIn === recommended);
  const lines = [
    `headscale ${version.version} accepts Tailscale clients ${version.minor.minClientVersion} or newer; run ${recommended} or newer on every node (${fixes.map((a) => `${a.id}: ${a.affects}`).join("; ")})`,
    ...fixes.filter((a) => a.mitigation).map((a) => `a node that cannot upgrade yet: ${a.mitigation} (${a.id})`),
  ];
  for (const a of table.filter((x) => x.kind === "compatibility" && x.programs.includes("headscale"))) {
    lines.push(
      affects(a, "headscale", version.version)
        ? `headscale ${version.version} predates ${a.id}: ${a.affects}; move headscale to ${a.fixedIn} or later${a.mitigation ? `, or ${a.mitigation}` : ""}`
        : `headscale ${version.version} includes ${a.id}: ${a.whenFixed ?? a.affects}`,
    );
  }
  return lines;
}
