/**
 * The Dockerfile that builds derper at the model's pinned Tailscale release.
 */
import type { ResolvedTailnet } from "../model/index.js";
import { renderTemplate } from "./templates.js";

/** Go toolchain image for building derper (Tailscale 1.102 needs Go 1.26). */
export const DERPER_BUILD_IMAGE = "docker.io/library/golang:1.26-bookworm";
/** Runtime base: static binary, no shell, non-root user 65532. */
export const DERPER_RUNTIME_IMAGE = "gcr.io/distroless/static-debian12:nonroot";
/** The user (`uid:gid`) derper runs as in the kit's image: distroless's nonroot. */
export const DERPER_IMAGE_USER = "65532:65532";

/** Renders the derper Dockerfile. */
export function renderDerperDockerfile(tailnet: ResolvedTailnet): string {
  return renderTemplate("derper.Dockerfile", {
    version: tailnet.derp.derperVersion,
    goImage: DERPER_BUILD_IMAGE,
    runtimeImage: DERPER_RUNTIME_IMAGE,
    user: DERPER_IMAGE_USER,
  });
}

/** The tag the kit gives the image it builds. */
export function derperImageTag(tailnet: ResolvedTailnet): string {
  return `cdktf-tailnet/derper:${tailnet.derp.derperVersion}`;
}
