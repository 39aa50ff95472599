/**
 * The cdktf app: synthesizes the bundled example (examples/home-lab/tailnet.yaml, or the spec
 * named by CDKTF_TAILNET_SPEC) into cdktf.out/. No cloud account and no network are needed to
 * synthesize; `cdktf deploy` (or terraform in cdktf.out/stacks/<name>) applies it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { parse } from "yaml";
import { TailnetStack } from "./examples/home-lab/stack.js";
import { packageRoot } from "./render/package-root.js";

const specPath = process.env.CDKTF_TAILNET_SPEC ?? join(packageRoot(), "examples", "home-lab", "tailnet.yaml");
const spec: unknown = parse(readFileSync(specPath, "utf8"));
const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? "cdktf.out" });
new TailnetStack(app, "home-lab", { spec });
app.synth();
console.log(`synthesized ${specPath} into ${process.env.CDKTF_OUTDIR ?? "cdktf.out"}/`);
