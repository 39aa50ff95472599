/**
 * The Dockerfile that builds derper at the model's pinned Tailscale release.
 */
import { goForTailscale, type ResolvedTailnet } from "../model/index.js";
import { renderTemplate } from "./templates.js";

/**
 * Go toolchain image that builds derper from Tailscale `release`: the official Go image at the
 * exact Go release the kit's table picks for it (its go.mod's minimum, newest patch known), so a
 * rebuild uses the same compiler. The image runs with GOTOOLCHAIN=local.
 */
export function derperBuildImage(release: string): string {
  return `docker.io/library/golang:${goForTailscale(release)}-bookworm`;
}
/** Runtime base: static binary, no shell, non-root user 65532. */
export const DERPER_RUNTIME_IMAGE = "gcr.io/distroless/static-debian12:nonroot";
/** The user (`uid:gid`) derper runs as in the kit's image: distroless's nonroot. */
export const DERPER_IMAGE_USER = "65532:65532";

/** Renders the derper Dockerfile. */
export function renderDerperDockerfile(tailnet: ResolvedTailnet): string {
  return renderTemplate("derper.Dockerfile", {
    version: tailnet.derp.derperVersion,
    goVersion: goForTailscale(tailnet.derp.derperVersion),
    goImage: derperBuildImage(tailnet.derp.derperVersion),
    runtimeImage: DERPER_RUNTIME_IMAGE,
    user: DERPER_IMAGE_USER,
  });
}

/** The tag the kit gives the image it builds. */
export function derperImageTag(tailnet: ResolvedTailnet): string {
  return `cdktf-tailnet/derper:${tailnet.derp.derperVersion}`;
}
