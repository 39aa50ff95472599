/**
 * The cdktf app: synthesizes the bundled example (examples/home-lab/tailnet.yaml, or the spec
 * named by CDKTF_TAILNET_SPEC) as a Docker-host deployment into cdktf.out/. Synthesis needs no
 * cloud account and no network; `cdktf deploy` (or terraform in cdktf.out/stacks/<name>) applies it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { parseSpecYaml } from "./cli/load-spec.js";
import { TailnetStack } from "./examples/home-lab/stack.js";
import { packageRoot } from "./fsx/package-root.js";

const specPath = process.env.CDKTF_TAILNET_SPEC ?? join(packageRoot(), "examples", "home-lab", "tailnet.yaml");
const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";
const app = new App({ outdir });
new TailnetStack(app, "home-lab", { spec: parseSpecYaml(readFileSync(specPath, "utf8"), specPath) });
app.synth();
console.log(`synthesized ${specPath} into ${outdir}/`);
