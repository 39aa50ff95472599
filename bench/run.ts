/**
 * Benchmarks: `npm run bench`. Measures validate + resolve + prepare + render of every output file, in-process,
 * for 1, 10 and 100 DERP regions of 3 nodes each. Target: 100 regions under 50 ms.
 *
 * Each size runs warm-up iterations first, then timed ones; the median and the 95th percentile
 * are printed, with the target verdict for the largest size.
 */
import { performance } from "node:perf_hooks";
import type { TailnetSpec } from "../model/index.js";
import { prepareTailnet } from "../secrets/index.js";
import { renderTailnet } from "../render/index.js";
import { largeSpec } from "./specs.js";

const TARGET_MS = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function measure(spec: TailnetSpec, iterations: number): { median: number; p95: number; bytes: number } {
  let bytes = 0;
  for (let i = 0; i < Math.ceil(iterations / 5); i++) renderTailnet(prepareTailnet(spec));
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    const files = renderTailnet(prepareTailnet(structuredClone(spec)));
    times.push(performance.now() - start);
    bytes = files.reduce((n, f) => n + f.content.length, 0);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), p95: percentile(times, 95), bytes };
}

const rows = [1, 10, 100].map((regions) => {
  const { median, p95, bytes } = measure(largeSpec(regions, 3), regions === 100 ? 60 : 200);
  return { regions, nodes: regions * 3, median, p95, bytes };
});

console.log("validate + resolve + render of every output file (no certificates to issue), in-process");
console.log("regions  nodes  median ms  p95 ms  output bytes");
for (const r of rows) {
  console.log(
    `${String(r.regions).padStart(7)}  ${String(r.nodes).padStart(5)}  ${r.median.toFixed(2).padStart(9)}  ${r.p95.toFixed(2).padStart(6)}  ${String(r.bytes).padStart(12)}`,
  );
}
const largest = rows.at(-1)!;
console.log(`target: 100 regions under ${TARGET_MS} ms (median): ${largest.median < TARGET_MS ? "met" : "MISSED"} (${largest.median.toFixed(2)} ms)`);
