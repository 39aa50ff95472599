/**
 * The default headscale (0.29.8) cannot run where the tests run (the Go module proxy here serves
 * headscale only up to 0.29.3, which the integration tests start). What the kit renders for 0.29.8,
 * and for every 0.29 patch after 0.29.3, is proved equal, file by file, to what it renders for
 * 0.29.3 except for the version itself: so the real-binary tests of 0.29.3 cover those files.
 */
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { HEADSCALE_MINORS, type TailnetSpec } from "../../model/index.js";
import { renderTailnet } from "../../render/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { scratchDir } from "../support/scratch.js";
import { exampleSpec, maximalSpec } from "../support/specs.js";
import { vmDnsSpec, vmProxySpec, vmSpec } from "../support/vm-specs.js";

const TESTED = "0.29.3";
/** One secrets directory for both renders, so kit-issued certificates (and their pins) are the same. */
const secretsDir = scratchDir("cdktf-tailnet-release-equivalence-");
const LATER = HEADSCALE_MINORS.find((m) => m.minor === "0.29")!.releases.filter((v) => Number(v.split(".")[2]) > 3);

function rendered(spec: TailnetSpec, version: string): Map<string, string> {
  const s = structuredClone(spec);
  s.headscale.version = version;
  // A gzipped user-data (cloud-init.yaml.gz.b64) is compared as what it holds.
  const text = (path: string, content: string) => (path.endsWith(".gz.b64") ? gunzipSync(Buffer.from(content, "base64")).toString("utf8") : content);
  return new Map(renderTailnet(prepareTailnet(s, { secretsDir })).map((f) => [`${f.path} (mode ${f.mode.toString(8)})`, text(f.path, f.content)]));
}

const specs: [string, () => TailnetSpec][] = [
  ["the home-lab example", exampleSpec],
  ["every optional key, sqlite", () => maximalSpec(TESTED, "sqlite")],
  ["every optional key, postgres", () => maximalSpec(TESTED, "postgres")],
  ["VM hosts (release binary)", vmSpec],
  ["VM hosts (.deb)", vmProxySpec],
  ["VM hosts with DNS helpers", vmDnsSpec],
];

describe(`headscale ${LATER.join(", ")} render what ${TESTED} renders, but for the version`, () => {
  it("covers 0.29.4 to 0.29.8", () => {
    expect(LATER).toEqual(["0.29.4", "0.29.5", "0.29.6", "0.29.7", "0.29.8"]);
  });

  it.each(specs.flatMap(([name, spec]) => LATER.map((v) => [name, v, spec] as const)))("%s at %s", (_name, version, spec) => {
    const tested = rendered(spec(), TESTED);
    const later = rendered(spec(), version);
    expect([...later.keys()]).toEqual([...tested.keys()]);
    let mentions = 0;
    for (const [path, content] of later) {
      mentions += content.split(version).length - 1;
      expect(content.replaceAll(version, TESTED), path).toBe(tested.get(path));
    }
    // The version is named (config header, derp.yaml header; on VMs the release URL), so the
    // comparison above did replace something.
    expect(mentions).toBeGreaterThan(0);
  });
});
