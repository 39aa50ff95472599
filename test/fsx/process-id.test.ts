/** fsx/process-id.ts: a process is its pid and start time, so a reused pid is never taken for it. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { isRunning, processId, UNKNOWN_START } from "../../fsx/process-id.js";

/** The pid of a process that has exited (and was reaped). */
function goneProcess(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  expect(r.status).toBe(0);
  return r.pid!;
}

describe("processId", () => {
  it("names a live process by pid and start time, the same on every read", () => {
    const me = processId(process.pid);
    expect(me).toBeDefined();
    expect(me!.startTime).toMatch(/^[0-9]+$/); // Linux: /proc/<pid>/stat field 22
    expect(processId(process.pid)).toEqual(me);
    expect(isRunning(me!)).toBe(true);
  });

  it("finds no process for a pid that exited, nor for a pid that cannot be one", () => {
    const gone = goneProcess();
    expect(processId(gone)).toBeUndefined();
    expect(isRunning({ pid: gone, startTime: "1" })).toBe(false);
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 53]) expect(processId(pid)).toBeUndefined();
  });

  it("a live pid with another start time is a later process: not running", () => {
    const me = processId(process.pid)!;
    expect(isRunning({ pid: me.pid, startTime: String(Number(me.startTime) + 1) })).toBe(false);
  });

  it("an unknown start time (a record without one, no procfs) leaves the pid alone to decide", () => {
    expect(isRunning({ pid: process.pid, startTime: UNKNOWN_START })).toBe(true);
    expect(isRunning({ pid: goneProcess(), startTime: UNKNOWN_START })).toBe(false);
  });
});
