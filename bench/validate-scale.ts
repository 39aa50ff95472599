/**
 * Validation at scale: `validate()` (structural check, every grammar, the semantic rules, and the
 * resolve a valid spec gets) of a spec with 50,000 users, 10,000 devices, a policy naming them
 * and 900 DERP nodes, side by side with the 10-region spec in the same run. Target: under a
 * second of CPU for the large one (wall time is printed too; on a shared machine it also counts
 * other processes' turns); the checks must stay linear (n log n at worst), so twice the users
 * take at most about twice the time.
 *
 * Region ids run from 900 to 999, so 300 regions x 3 nodes repeat ids: that row is refused for
 * it (every check still runs, the resolve does not); 100 regions x 9 nodes is the valid spec with
 * the same 900 nodes.
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { validate, type TailnetSpec } from "../model/index.js";
import { largeSpec, scaleSpec } from "./specs.js";

const TARGET_MS = 1000;

// The garbage of the previous run (and of the copy made for this one) is collected before each
// timed run, so that a run pays only for its own.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median wall time and median CPU time (user + system, all threads: GC included) of `runs` validations. */
function measure(spec: TailnetSpec, runs: number): { wall: number; cpu: number; issues: number } {
  let issues = 0;
  validate(structuredClone(spec)); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const copy = structuredClone(spec);
    collectGarbage();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const result = validate(copy);
    wall.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    issues = result.issues.length;
  }
  return { wall: median(wall), cpu: median(cpu), issues };
}

const rows: [string, TailnetSpec, number][] = [
  ["baseline: 10 regions x 3 nodes", largeSpec(10, 3), 21],
  ["25,000 users, 5,000 devices, 100 x 9 nodes", scaleSpec(25_000, 5_000, 100, 9), 7],
  ["50,000 users, 10,000 devices, 100 x 9 nodes", scaleSpec(50_000, 10_000, 100, 9), 7],
  ["50,000 users, 10,000 devices, 300 x 3 nodes", scaleSpec(50_000, 10_000, 300, 3), 7],
];

console.log("validate() (structure, grammars, semantic rules, resolve when valid), in-process");
console.log(`${"spec".padEnd(46)}  wall ms  CPU ms  issues`);
const results = rows.map(([name, spec, runs]) => {
  const r = measure(spec, runs);
  console.log(`${name.padEnd(46)}  ${r.wall.toFixed(1).padStart(7)}  ${r.cpu.toFixed(1).padStart(6)}  ${String(r.issues).padStart(6)}`);
  return r;
});
const [, half, full] = results as [unknown, { cpu: number }, { wall: number; cpu: number }];
console.log(`growth from 25,000 to 50,000 users (CPU): x${(full.cpu / half.cpu).toFixed(2)} (linear: x2 at most)`);
// CPU time is the verdict: on a shared machine the wall time also counts other processes' turns.
console.log(
  `target: 50,000 users under ${TARGET_MS} ms of CPU (median): ${full.cpu < TARGET_MS ? "met" : "MISSED"} (${full.cpu.toFixed(1)} ms CPU, ${full.wall.toFixed(1)} ms wall)`,
);
