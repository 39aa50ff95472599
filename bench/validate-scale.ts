/**
 * Validation at scale: `validate()` (structural check, every grammar, the semantic rules, and the
 * resolve a valid spec gets) of a spec with 50,000 users, 10,000 devices, a policy naming them
 * and 900 DERP nodes, side by side with the 10-region spec in the same run. Target: under a
 * second for the large one; the checks must stay linear (n log n at worst), so twice the users
 * must take about twice the time.
 *
 * Region ids run from 900 to 999, so 300 regions x 3 nodes repeat ids: that row is refused for
 * it (every check still runs, the resolve does not); 100 regions x 9 nodes is the valid spec with
 * the same 900 nodes.
 */
import { performance } from "node:perf_hooks";
import { validate, type TailnetSpec } from "../model/index.js";
import { largeSpec, scaleSpec } from "./specs.js";

const TARGET_MS = 1000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(spec: TailnetSpec, runs: number): { median: number; issues: number } {
  let issues = 0;
  validate(structuredClone(spec)); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const copy = structuredClone(spec);
    const start = performance.now();
    const result = validate(copy);
    times.push(performance.now() - start);
    issues = result.issues.length;
  }
  return { median: median(times), issues };
}

const rows: [string, TailnetSpec, number][] = [
  ["baseline: 10 regions x 3 nodes", largeSpec(10, 3), 21],
  ["25,000 users, 5,000 devices, 100 x 9 nodes", scaleSpec(25_000, 5_000, 100, 9), 7],
  ["50,000 users, 10,000 devices, 100 x 9 nodes", scaleSpec(50_000, 10_000, 100, 9), 7],
  ["50,000 users, 10,000 devices, 300 x 3 nodes", scaleSpec(50_000, 10_000, 300, 3), 7],
];

console.log("validate() (structure, grammars, semantic rules, resolve when valid), in-process");
console.log(`${"spec".padEnd(46)}  median ms  issues`);
const results = rows.map(([name, spec, runs]) => {
  const r = measure(spec, runs);
  console.log(`${name.padEnd(46)}  ${r.median.toFixed(1).padStart(9)}  ${String(r.issues).padStart(6)}`);
  return r;
});
const [, half, full] = results as [unknown, { median: number }, { median: number }];
console.log(`growth from 25,000 to 50,000 users: x${(full.median / half.median).toFixed(2)} (linear: x2)`);
console.log(`target: 50,000 users under ${TARGET_MS} ms (median): ${full.median < TARGET_MS ? "met" : "MISSED"} (${full.median.toFixed(1)} ms)`);
