/**
 * `cdktf-tailnet versions`: the headscale releases the kit renders for and the Tailscale releases
 * it builds derper from, each with its known advisories, the defaults marked, and what clients
 * should run. Everything comes from the model's tables (versions.ts, tailscale-releases.ts,
 * advisories.ts).
 */
import {
  ADVISORIES,
  DEFAULT_DERPER_VERSION,
  DEFAULT_HEADSCALE_VERSION,
  HEADSCALE_MINORS,
  TAILSCALE_RELEASES,
  advisoriesFor,
  advisoryLabel,
  clientAdvice,
  findHeadscaleVersion,
  goForTailscale,
  type Advisory,
} from "../model/index.js";

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd(),
  );
}

const labels = (list: readonly Advisory[]) => (list.length ? list.map(advisoryLabel).join("; ") : "none known");

/** The lines `cdktf-tailnet versions` prints. */
export function versionsReport(): string[] {
  const headscale = table([
    ["headscale", "", "clients", "known advisories"],
    ...HEADSCALE_MINORS.flatMap((m) =>
      m.releases.map((v) => [v, v === DEFAULT_HEADSCALE_VERSION ? "default" : "", `${m.minClientVersion}+`, labels(advisoriesFor("headscale", v))]),
    ),
  ]);
  const tailscale = table([
    ["derper", "", "Go", "known advisories (derper is built from this Tailscale release)"],
    ...TAILSCALE_RELEASES.map((r) => {
      const tailscaled = advisoriesFor("tailscaled", r.version);
      const derper = advisoriesFor("derper", r.version);
      return [
        r.version,
        r.version === DEFAULT_DERPER_VERSION ? "default" : "",
        goForTailscale(r.version),
        `derper: ${labels(derper)}${tailscaled.length ? `; as a client (tailscaled): ${labels(tailscaled)}` : ""}`,
      ];
    }),
  ]);
  return [
    ...headscale,
    "",
    ...tailscale,
    "",
    "Tailscale clients:",
    ...clientAdvice(findHeadscaleVersion(DEFAULT_HEADSCALE_VERSION)!).map((l) => `  ${l}`),
    "",
    "advisories:",
    ...ADVISORIES.map((a) => `  ${a.id} (${a.kind}): ${a.affects}; fixed in ${a.fixedIn}. ${a.source}${a.unknown ? `. Not known: ${a.unknown}` : ""}`),
  ];
}
