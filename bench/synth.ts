/**
 * Synth wall time, measured the way cdktf runs an app: a fresh process per run, from start to
 * exit, for the bundled example and for 100 regions x 3 nodes, side by side with an empty cdktf
 * app in the same run. Two launchers: `tsx main.ts` (what cdktf.json's "app" runs, TypeScript
 * compiled on the fly) and `node dist/main.js` (the compiled package). Target: the example at
 * most 1.3x the empty app.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { stringify } from "yaml";
import { packageRoot } from "../fsx/package-root.js";
import { handWrittenPlan } from "./hand-written.js";
import { largeSpec } from "./specs.js";

const RUNS = 7;
const root = packageRoot();
const work = mkdtempSync(join(tmpdir(), "cdktf-tailnet-bench-"));
// Removed however the benchmark ends (it holds kit-issued keys).
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

type Launcher = { name: string; command: (script: string) => string[] };

const launchers: Launcher[] = [
  { name: "tsx <app>.ts (cdktf.json)", command: (script) => [join(root, "node_modules", "tsx", "dist", "cli.mjs"), join(root, `${script}.ts`)] },
  { name: "node dist/<app>.js", command: (script) => [join(root, "dist", `${script}.js`)] },
];

function wallTime(launcher: Launcher, script: string, env: Record<string, string>): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const outdir = join(work, `out-${i}`);
    const start = performance.now();
    const run = spawnSync(process.execPath, launcher.command(script), {
      cwd: root,
      env: { ...process.env, ...env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1", CDKTF_TAILNET_SECRETS_DIR: join(work, "secrets") },
      encoding: "utf8",
    });
    const elapsed = performance.now() - start;
    if (run.status !== 0) throw new Error(`${script} failed:\n${run.stderr}`);
    rmSync(outdir, { recursive: true, force: true });
    if (i > 0) times.push(elapsed); // the first run warms the file cache (and tsx's transform cache)
  }
  return median(times);
}

const large = largeSpec(100, 3);
for (const host of large.hosts ?? []) host.docker = { daemon: `ssh://deploy@${host.publicIpv4}` };
const largePath = join(work, "large.yaml");
writeFileSync(largePath, stringify(large));

/** The example's resources written by hand (bench/hand-written.ts): the plan file for the floor app. */
function handWrittenPlanFile(name: string, env: Record<string, string>): string {
  const outdir = join(work, `plan-${name}`);
  const run = spawnSync(process.execPath, [join(root, "dist", "main.js")], {
    cwd: root,
    env: { ...process.env, ...env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1", CDKTF_TAILNET_SECRETS_DIR: join(work, "secrets") },
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`main failed:\n${run.stderr}`);
  const plan = handWrittenPlan(readFileSync(join(outdir, "stacks", "home-lab", "cdk.tf.json"), "utf8"));
  const file = join(work, `plan-${name}.json`);
  writeFileSync(file, JSON.stringify(plan));
  return file;
}
const examplePlan = handWrittenPlanFile("example", {});
const largePlan = handWrittenPlanFile("large", { CDKTF_TAILNET_SPEC: largePath });

console.log(`\nsynth wall time, fresh process per run (median of ${RUNS})`);
console.log("the floor: the same resources created by hand with the provider classes (no spec, validation, rendering or assets)");
console.log("launcher                     app                                    ms   x empty  x floor");
const verdicts: string[] = [];
for (const launcher of launchers) {
  const empty = wallTime(launcher, "bench/empty-app", {});
  const floor = wallTime(launcher, "bench/hand-written-app", { CDKTF_BENCH_PLAN: examplePlan });
  const example = wallTime(launcher, "main", {});
  const largeFloor = wallTime(launcher, "bench/hand-written-app", { CDKTF_BENCH_PLAN: largePlan });
  const hundred = wallTime(launcher, "main", { CDKTF_TAILNET_SPEC: largePath });
  const rows = [
    ["empty cdktf app", empty, undefined],
    ["example's resources by hand (floor)", floor, floor],
    ["home-lab example", example, floor],
    ["100x3 resources by hand (floor)", largeFloor, largeFloor],
    ["100 regions x 3 nodes", hundred, largeFloor],
  ] as const;
  for (const [name, ms, base] of rows) {
    const overFloor = base === undefined ? "" : (ms / base).toFixed(2).padStart(8);
    console.log(`${launcher.name.padEnd(28)} ${name.padEnd(36)} ${ms.toFixed(0).padStart(6)}  ${(ms / empty).toFixed(2).padStart(8)} ${overFloor}`);
  }
  verdicts.push(
    `${launcher.name}: ${(example / empty).toFixed(2)}x empty (${example / empty <= 1.3 ? "met" : "MISSED"}; the floor alone is ${(floor / empty).toFixed(2)}x), kit ${(example / floor).toFixed(2)}x its floor`,
  );
}
console.log(`target: the example at most 1.3x the empty app:\n  ${verdicts.join("\n  ")}`);
