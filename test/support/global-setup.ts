/**
 * Runs once around the whole test run: at the end, removes the run's scratch secrets directory
 * and fails the run if any test left a file in the temp dir or a scratch folder in the cache
 * (test/support/temp-guard.ts).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { leftovers, takeSnapshot } from "./temp-guard.js";

export default function setup(): () => void {
  const runTemp = process.env.CDKTF_TAILNET_RUN_TEMP!;
  const systemTemp = process.env.CDKTF_TAILNET_SYSTEM_TEMP!;
  const before = takeSnapshot(systemTemp);
  return () => {
    rmSync(join(runTemp, "secrets"), { recursive: true, force: true });
    const { failures, suspects } = leftovers(runTemp, systemTemp, before);
    if (suspects.length > 0)
      console.warn(`new in the temp dir or the cache since the run started (this run's, or another run's at the same time):\n${suspects.join("\n")}`);
    if (failures.length > 0) {
      // vitest only logs a teardown's error; the exit code is what fails the run.
      process.exitCode = 1;
      throw new Error(`the test run left files behind; each test must remove what it creates (afterEach/afterAll, or finally):\n${failures.join("\n")}`);
    }
  };
}
