/**
 * derp.json: Tailscale's DERPMap JSON (PascalCase keys, region ids as string keys), the format
 * `derp.urls` serves and Tailscale tooling reads.
 */
import type { PreparedTailnet } from "../model/index.js";
import { buildDerpMap } from "./derp-map.js";

/** Renders derp.json, pretty-printed with a trailing newline. */
export function renderDerpJson(tailnet: PreparedTailnet): string {
  const map = buildDerpMap(tailnet, { includeRemovals: false });
  const regions = Object.fromEntries(map.Regions.map(([id, r]) => [String(id), r]));
  return `${JSON.stringify({ Regions: regions }, null, 2)}\n`;
}
