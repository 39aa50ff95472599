/**
 * Synth wall time, measured the way cdktf runs an app: a fresh process per run, from start to
 * exit, for the bundled example and for 100 regions x 3 nodes, side by side with an empty cdktf
 * app in the same run. Two launchers: `tsx main.ts` (what cdktf.json's "app" runs, TypeScript
 * compiled on the fly) and `node dist/main.js` (the compiled package). Targets (issue 15): the
 * example at most 1.15x its floor, 100 regions x 3 nodes at most 1.3x its floor.
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
/** Issue 15's targets: the kit's synth against the same resources written by hand. */
const EXAMPLE_TARGET = 1.15;
const LARGE_TARGET = 1.3;
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

/** One timed run of `script` (a fresh process, start to exit). */
function runOnce(launcher: Launcher, script: string, env: Record<string, string>, i: number): number {
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
  return elapsed;
}

type App = { readonly script: string; readonly env: Record<string, string> };

/**
 * The median wall time of each app, interleaved: every round runs each app once, so a slow
 * stretch of the machine (shared, virtualized) weighs on all of them alike. Round 0 warms the file
 * cache and tsx's transform cache and is not counted.
 */
function wallTimes(launcher: Launcher, apps: readonly App[]): number[] {
  const times: number[][] = apps.map(() => []);
  for (let i = 0; i < RUNS + 1; i++) {
    apps.forEach((app, j) => {
      const elapsed = runOnce(launcher, app.script, app.env, i);
      if (i > 0) times[j]!.push(elapsed);
    });
  }
  return times.map(median);
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
  const [empty, floor, example, largeFloor, hundred] = wallTimes(launcher, [
    { script: "bench/empty-app", env: {} },
    { script: "bench/hand-written-app", env: { CDKTF_BENCH_PLAN: examplePlan } },
    { script: "main", env: {} },
    { script: "bench/hand-written-app", env: { CDKTF_BENCH_PLAN: largePlan } },
    { script: "main", env: { CDKTF_TAILNET_SPEC: largePath } },
  ]) as [number, number, number, number, number];
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
  const verdict = (ratio: number, target: number) => `${ratio.toFixed(2)}x (${ratio <= target ? "met" : "MISSED"})`;
  verdicts.push(
    `${launcher.name}: example ${verdict(example / floor, EXAMPLE_TARGET)}, 100x3 ${verdict(hundred / largeFloor, LARGE_TARGET)}; the example is ${(example / empty).toFixed(2)}x the empty app`,
  );
}
console.log(`targets: the example at most ${EXAMPLE_TARGET}x its floor, 100 regions x 3 nodes at most ${LARGE_TARGET}x its floor:\n  ${verdicts.join("\n  ")}`);
