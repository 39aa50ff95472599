/**
 * What the golden test pins: every test spec (test/support/*specs*.ts, the backup fixture's spec and
 * the fuzz fixtures) rendered and synthesized, and every example's stack synthesized.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { App, TerraformStack } from "cdktf";
import { TailnetStack } from "../../examples/home-lab/stack.js";
import { ExistingStack } from "../../examples/existing-stack/stack.js";
import { VmSshStack } from "../../examples/vm-ssh/stack.js";
import { parseTailnetYaml, SUPPORTED_HEADSCALE_VERSIONS, type TailnetSpec } from "../../model/index.js";
import { packageRoot } from "../../fsx/package-root.js";
import { howToLabSpec, smallLabSpec } from "../../lab/specs.js";
import { FIXTURES } from "../fuzz/fixtures.js";
import { backupSpec } from "../support/backup-fixture.js";
import { largeSpec, maximalSpec, minimalSpec } from "../support/specs.js";
import { FAKE_SHA256 } from "../support/vm-specs.js";

/** A spec: its files are rendered (prepareTailnet, renderTailnet) and a Tailnet construct of it synthesized. */
export interface SpecCase {
  readonly name: string;
  /** `localDir` holds the files the spec names on the deploying machine (test/fuzz/fixtures.ts makeLocalFiles). */
  readonly spec: (localDir: string) => TailnetSpec;
}

/** An example's stack, synthesized with its secrets in `secretsDir`. */
export interface ExampleCase {
  readonly name: string;
  readonly stack: (app: App, secretsDir: string) => TerraformStack;
}

/** The newest release of every headscale minor the kit supports. */
function newestOfEachMinor(): string[] {
  const byMinor = new Map<string, string>();
  for (const v of SUPPORTED_HEADSCALE_VERSIONS) byMinor.set(v.split(".").slice(0, 2).join("."), v);
  return [...byMinor.values()];
}

export const SPEC_CASES: readonly SpecCase[] = [
  ...FIXTURES.map((f) => ({ name: `fixture-${f.name}`, spec: f.spec })),
  { name: "minimal", spec: () => minimalSpec() },
  { name: "large-4x3", spec: () => largeSpec(4, 3) },
  ...newestOfEachMinor().map((v) => ({ name: `maximal-${v}`, spec: () => maximalSpec(v) })),
  { name: "lab-how-to", spec: () => howToLabSpec() },
  {
    name: "lab-small-full",
    spec: () => smallLabSpec({ nodes: 2, router: true, exitNode: true, taggedDevice: true, pinnedRegion: true, oidc: true, ipv6: true }),
  },
  { name: "backup-default", spec: () => backupSpec(undefined) },
  { name: "backup-restic-sftp", spec: () => backupSpec({ interval: "6h", keep: 5, restic: { repository: "sftp:backup@backup.example.com:/srv/restic/hs" } }) },
];

export const EXAMPLE_CASES: readonly ExampleCase[] = [
  {
    name: "example-home-lab",
    stack: (app) => {
      const path = join(packageRoot(), "examples", "home-lab", "tailnet.yaml");
      return new TailnetStack(app, "home-lab", { spec: parseTailnetYaml(readFileSync(path, "utf8"), path) });
    },
  },
  { name: "example-existing-stack", stack: (app) => new ExistingStack(app, "existing-stack") },
  {
    name: "example-vm-ssh",
    stack: (app, secretsDir) =>
      new VmSshStack(app, "vm-ssh", { headscaleSha256: FAKE_SHA256, goSha256: FAKE_SHA256, adminCidrs: ["192.0.2.0/24"], secretsDir }),
  },
];
