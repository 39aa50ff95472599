/**
 * The Tailscale releases the kit builds derper from, and the Go release each one needs.
 *
 * derper has no release binary or image: the kit builds `tailscale.com/cmd/derper@v<release>`
 * (in the rendered Dockerfile's build stage, or on a VM). That build needs a Go at least as new as
 * the `go` line of the release's go.mod, and the Go images and the VM install run with
 * `GOTOOLCHAIN=local`, so an older Go fails instead of fetching a newer one. The `go` lines below
 * are the go.mod files the Go module proxy serves for each release (UPSTREAM-RELEASES.md §3.1,
 * gathered 2026-12-07); a release not listed here is refused, since the kit could not say which Go
 * builds it.
 */
import { compareReleases } from "./versions.js";

/** One Tailscale release derper can be built from. */
export interface TailscaleRelease {
  /** Without a leading `v`, e.g. `"1.102.5"`. */
  readonly version: string;
  /** Module time the Go module proxy reports (YYYY-MM-DD). */
  readonly date: string;
  /** The `go` line of its go.mod: the oldest Go that builds it. */
  readonly goMin: string;
}

/** Where the `go` lines come from: `https://proxy.golang.org/tailscale.com/@v/v<release>.mod`. */
export const TAILSCALE_GO_MOD_SOURCE = "https://proxy.golang.org/tailscale.com/@v/v<release>.mod";

/** Tailscale releases the kit knows, oldest first (there is no 1.104.3). */
export const TAILSCALE_RELEASES: readonly TailscaleRelease[] = [
  { version: "1.102.3", date: "2026-08-19", goMin: "1.26.6" },
  { version: "1.102.4", date: "2026-09-10", goMin: "1.26.6" },
  { version: "1.102.5", date: "2026-09-24", goMin: "1.26.6" },
  { version: "1.104.0", date: "2026-09-30", goMin: "1.27.1" },
  { version: "1.104.1", date: "2026-10-07", goMin: "1.27.1" },
  { version: "1.104.2", date: "2026-10-20", goMin: "1.27.3" },
  { version: "1.104.4", date: "2026-10-27", goMin: "1.27.3" },
  { version: "1.104.5", date: "2026-11-02", goMin: "1.27.3" },
  { version: "1.104.6", date: "2026-11-10", goMin: "1.27.3" },
  { version: "1.104.7", date: "2026-11-12", goMin: "1.27.4" },
];

/**
 * Go releases the kit builds derper with: the newest patch it knows of each Go minor (1.26.8 is
 * the Go the kit's own tests build with; 1.27.4 is the newest Go a Tailscale go.mod names).
 */
export const GO_RELEASES: readonly string[] = ["1.26.8", "1.27.4"];

const bare = (v: string) => v.trim().replace(/^v/, "");
const minorOf = (v: string) => v.split(".").slice(0, 2).join(".");

/** Looks a Tailscale release up (a leading `v` is accepted); undefined when the kit does not know it. */
export function findTailscaleRelease(input: string): TailscaleRelease | undefined {
  const version = bare(input);
  return TAILSCALE_RELEASES.find((r) => r.version === version);
}

/** Every Tailscale release the kit builds derper from, oldest first. */
export const SUPPORTED_TAILSCALE_VERSIONS: readonly string[] = TAILSCALE_RELEASES.map((r) => r.version);

/**
 * The Go release the kit builds `release` with: the newest Go the kit knows in the minor its
 * go.mod names (Go 1.27.4 for a `go 1.27.3` line). Throws for a release the kit does not know
 * (validation refuses those first).
 */
export function goForTailscale(release: string): string {
  const known = findTailscaleRelease(release);
  if (!known) throw new Error(`Tailscale ${release} is not a release the kit knows (known: ${SUPPORTED_TAILSCALE_VERSIONS.join(", ")})`);
  const go = GO_RELEASES.find((g) => minorOf(g) === minorOf(known.goMin) && compareReleases(g, known.goMin) >= 0);
  if (!go) throw new Error(`the kit knows no Go release for Tailscale ${known.version} (its go.mod needs go ${known.goMin})`);
  return go;
}

/** Whether Go `go` can build Tailscale `release` (its go.mod's `go` line is not newer). */
export function goBuilds(go: string, release: TailscaleRelease): boolean {
  return compareReleases(bare(go), release.goMin) >= 0;
}
