/**
 * A process that writes output trees, for tests that kill it (test/cli/render-faults.test.ts):
 *
 *   tree-writer <out> loop                     writes B, A, B, … into <out> until killed; prints
 *                                              each tree's name when it is in place
 *   tree-writer <out> kill-at <step> <n> <X>   writes tree X and SIGKILLs itself at the n-th <step>
 */
import { writeTreeAtomically, type WriteStep } from "../../cli/write-tree.js";
import { FAULT_TREES } from "./fault-trees.js";

const [out, mode, ...rest] = process.argv.slice(2);
if (!out) throw new Error("usage: tree-writer <out> loop | kill-at <step> <n> <tree>");
if (mode === "loop") {
  for (let i = 0; ; i++) {
    const name = i % 2 === 0 ? "B" : "A";
    await writeTreeAtomically(out, FAULT_TREES[name].files, FAULT_TREES[name].metadata);
    process.stdout.write(`${name}\n`);
  }
} else if (mode === "kill-at") {
  const [step, n, name] = rest as [WriteStep, string, "A" | "B"];
  let seen = 0;
  await writeTreeAtomically(out, FAULT_TREES[name].files, FAULT_TREES[name].metadata, {
    onStep: (s) => {
      if (s === step && ++seen === Number(n)) process.kill(process.pid, "SIGKILL");
    },
  });
  process.stdout.write("not killed\n");
}
