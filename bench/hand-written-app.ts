/**
 * The synth benchmark's floor app: creates the providers and resources of the plan in
 * $CDKTF_BENCH_PLAN (see bench/hand-written.ts) with the provider classes, then synthesizes.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { App, TerraformProvider, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { HandWrittenPlan } from "./hand-written.js";

type ConstructClass = new (scope: Construct, id: string, props: Record<string, unknown>) => Construct;

const require = createRequire(import.meta.url);
const plan = JSON.parse(readFileSync(process.env.CDKTF_BENCH_PLAN!, "utf8")) as HandWrittenPlan;
const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? "cdktf.out" });
const stack = new TerraformStack(app, "hand-written");
const load = (module: string, className: string) => (require(module) as Record<string, ConstructClass>)[className]!;
const providers = new Map<string, Construct>();
for (const p of plan.providers) providers.set(p.provider!, new (load(p.module, p.className))(stack, p.id, p.props));
for (const r of plan.resources) {
  const provider = providers.get(r.provider!);
  if (!(provider instanceof TerraformProvider)) throw new Error(`hand-written bench: no provider ${r.provider} for ${r.id}`);
  new (load(r.module, r.className))(stack, r.id, { ...r.props, provider });
}
app.synth();
