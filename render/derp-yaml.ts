/**
 * derp.yaml: the DERP map as headscale reads it from `derp.paths`. headscale decodes it with
 * gopkg.in/yaml.v3 straight into tailcfg.DERPMap, which has no yaml tags, so every key is the Go
 * field name lower-cased (`hostname`, `stunport`, `canport80`), region keys are unquoted integers,
 * and a misspelled key would be dropped without a word. The keys here are derived from the same
 * DerpMap value derp.json is rendered from, never typed by hand.
 */
import type { PreparedTailnet } from "../model/index.js";
import { buildDerpMap } from "./derp-map.js";
import { toYaml } from "./yaml-text.js";

function lowerKeys(value: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.map((x) => (typeof x === "object" ? lowerKeys(x) : x)) : v]),
  );
}

/** Renders derp.yaml for headscale. */
export function renderDerpYaml(tailnet: PreparedTailnet): string {
  const map = buildDerpMap(tailnet, { includeRemovals: tailnet.headscale.version.minor.features.derpMapNullRegions });
  const regions = new Map<number, unknown>(map.Regions.map(([id, r]) => [id, r === null ? null : lowerKeys(r)]));
  const header = ` Rendered by cdktf-tailnet for headscale ${tailnet.headscale.version.version} (tailnet "${tailnet.name}"); do not edit.\n Keys are tailcfg.DERPMap field names lower-cased, as headscale's YAML decoder expects.`;
  return toYaml({ regions }, header);
}
