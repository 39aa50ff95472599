/**
 * The end of every lab run, passed, failed or interrupted: every process stopped by pid and every
 * namespace deleted (runtime.ts), the run directory removed unless kept, and the machine's lock
 * given back only when nothing is left. What could not be removed stays recorded (state.ts) for
 * `cdktf-tailnet lab down`, which removes it, and what a lab killed with SIGKILL left too.
 */
import { rmSync } from "node:fs";
import type { LabRuntime } from "./runtime.js";
import type { LabRunRecord } from "./state.js";

/** Tears a run down; the problems of the cleanup (empty: nothing of the run is left but a kept run directory). */
export async function tearDown(rt: LabRuntime, record: LabRunRecord, runDir: string, keep: boolean, progress: (line: string) => void): Promise<string[]> {
  progress(`stopping ${rt.started.length} processes and deleting ${rt.namespaces.length} namespaces`);
  const cleanupProblems = await rt.cleanup();
  // Nothing of the run stays, pass or fail, unless asked (--keep): the progress lines and the
  // findings carry the log lines that explain a failure.
  if (!keep) rmSync(runDir, { recursive: true, force: true });
  // What could not be removed stays recorded for `lab down`.
  if (cleanupProblems.length === 0) record.release();
  return cleanupProblems;
}
