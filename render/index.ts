/**
 * Renderers: pure functions from the resolved model to files. No I/O, no cdktf; the CLI writes
 * the files, the constructs upload them.
 */
import type { ResolvedTailnet } from "../model/index.js";
import { renderDerpJson } from "./derp-json.js";
import { renderDerpYaml } from "./derp-yaml.js";
import { renderDerperDockerfile } from "./derper-image.js";
import { publicFile, type RenderedFile } from "./files.js";
import { renderHeadscaleConfig } from "./headscale-config.js";

export { buildDerpMap, type DerpMap, type DerpMapNode, type DerpMapRegion } from "./derp-map.js";
export { renderDerpJson } from "./derp-json.js";
export { renderDerpYaml } from "./derp-yaml.js";
export { publicFile, type RenderedFile } from "./files.js";
export { headscaleConfigObject, renderHeadscaleConfig } from "./headscale-config.js";

/**
 * Every file of the output tree, sorted by path:
 * - `headscale/config.yaml`: headscale's configuration;
 * - `headscale/derp.yaml`: the DERP map headscale loads (when there is anything to put in it);
 * - `derp.json`: the same map in Tailscale's JSON format;
 * - `derper/Dockerfile`: builds derper at the pinned Tailscale release (unless the spec names an image).
 */
export function renderTailnet(tailnet: ResolvedTailnet): RenderedFile[] {
  const files: RenderedFile[] = [
    publicFile("headscale/config.yaml", renderHeadscaleConfig(tailnet)),
    publicFile("derp.json", renderDerpJson(tailnet)),
  ];
  if (tailnet.headscale.derpMapPaths.length > 0) files.push(publicFile("headscale/derp.yaml", renderDerpYaml(tailnet)));
  if (tailnet.derp.derperImage === undefined && tailnet.derp.regions.length > 0) files.push(publicFile("derper/Dockerfile", renderDerperDockerfile(tailnet)));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
export { derperImageTag, renderDerperDockerfile } from "./derper-image.js";
