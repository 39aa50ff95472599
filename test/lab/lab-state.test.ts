/**
 * One lab at a time, and what a lab leaves behind, without starting a lab (no root needed): the
 * lock and the run's record in a state directory of the test's own.
 * - a second lab is refused while the first one's process lives, with a message naming it;
 *   waiting for it works; the record and the lock go when the run releases them;
 * - a lock whose lab is gone and left nothing is taken over;
 * - a lock whose lab is gone and left its run directory refuses the next lab and names what is
 *   left; `labDown` removes it and the record.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { processId } from "../../fsx/process-id.js";
import { LabBusy, labDown, LabRunRecord } from "../../lab/state.js";

const root = mkdtempSync(join(tmpdir(), "lab-state-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const stateDir = () => join(root, `state-${n++}`);

/** A pid that no longer runs (a process that came and went). */
function deadPid(): number {
  const r = spawnSync("true");
  return r.pid!;
}

describe("the lab's lock and record", () => {
  it("refuses a second lab while the first one's process lives, and names it", async () => {
    const dir = stateDir();
    const first = await LabRunRecord.acquire({ dir, runId: "a1a1", tailnet: "home-lab" });
    first.namespace("tla1a1-switch");
    first.process({ name: "self", machine: "x", pid: process.pid });
    const state = JSON.parse(readFileSync(join(dir, "run-a1a1.json"), "utf8")) as {
      namespaces: string[];
      processes: { pid: number; startTime: string }[];
      owner: { pid: number };
    };
    expect(state.namespaces).toEqual(["tla1a1-switch"]);
    expect(state.processes[0]).toMatchObject({ pid: process.pid, startTime: processId(process.pid)!.startTime });
    expect(state.owner.pid).toBe(process.pid);

    const second = await LabRunRecord.acquire({ dir, runId: "b2b2", tailnet: "other" }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(LabBusy);
    expect((second as LabBusy).reason).toBe("running");
    expect((second as LabBusy).message).toMatch(
      new RegExp(`^another lab is running on this machine: run a1a1 of tailnet home-lab, started \\d+ s ago by pid ${process.pid} `),
    );
    expect((second as LabBusy).message).toMatch(/`cdktf-tailnet lab down`/);

    // Waiting: the first releases meanwhile.
    setTimeout(() => first.release(), 300);
    const waited: string[] = [];
    const third = await LabRunRecord.acquire({ dir, runId: "c3c3", tailnet: "third", waitMs: 10_000, onWait: (l) => waited.push(l) });
    expect(waited).toEqual([`waiting for lab a1a1 (pid ${process.pid}) to end`]);
    expect(existsSync(join(dir, "run-a1a1.json"))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, "lock"), "utf8")).runId).toBe("c3c3");
    third.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes over the lock of a lab that is gone and left nothing", async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "lock"),
      JSON.stringify({ runId: "d4d4", owner: { pid: deadPid(), startTime: "1", command: "gone" }, tailnet: "t", startedAt: new Date().toISOString() }),
    );
    const record = await LabRunRecord.acquire({ dir, runId: "e5e5", tailnet: "t" });
    expect(JSON.parse(readFileSync(join(dir, "lock"), "utf8")).runId).toBe("e5e5");
    record.release();
  });

  it("refuses the next lab when a killed one left its run directory; labDown removes it and the record", async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    const runDir = mkdtempSync(join(tmpdir(), "tailnet-lab-f6f6-"));
    writeFileSync(join(runDir, "left.log"), "x");
    const owner = { pid: deadPid(), startTime: "1", command: "cdktf-tailnet lab x.yaml" };
    const startedAt = new Date().toISOString();
    writeFileSync(join(dir, "lock"), JSON.stringify({ runId: "f6f6", owner, tailnet: "home-lab", startedAt }));
    writeFileSync(
      join(dir, "run-f6f6.json"),
      JSON.stringify({
        runId: "f6f6",
        prefix: "tlf6f6-",
        tailnet: "home-lab",
        owner,
        startedAt,
        runDir,
        namespaces: [],
        processes: [{ pid: deadPid(), startTime: "1", name: "headscale", machine: "cloud" }],
      }),
    );

    const refused = await LabRunRecord.acquire({ dir, runId: "a7a7", tailnet: "t" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LabBusy);
    expect((refused as LabBusy).reason).toBe("leftovers");
    expect((refused as LabBusy).message).toMatch(
      new RegExp(
        `^a lab that did not end cleanly \\(run f6f6 of tailnet home-lab, started \\d+ s ago by pid ${owner.pid}, which is gone: killed\\?\\) left its run directory ${runDir} behind\\.\\nRemove them first: \`cdktf-tailnet lab down\``,
      ),
    );

    const lines: string[] = [];
    const down = await labDown({ stateDir: dir, onProgress: (l) => lines.push(l) });
    expect(down.problems).toEqual([]);
    expect(down.runs).toEqual([{ runId: "f6f6", tailnet: "home-lab", stoppedOwner: undefined, killed: [], namespaces: [], runDirs: [runDir] }]);
    expect(lines).toEqual([`lab f6f6: removed ${runDir}`]);
    expect(existsSync(runDir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect((await labDown({ stateDir: dir })).runs).toEqual([]);
  });
});

describe("cdktf-tailnet lab down: arguments", () => {
  it("takes no arguments", async () => {
    const err: string[] = [];
    const code = await runCli(["lab", "down", "now"], { out: () => undefined, err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/cdktf-tailnet lab down: expected no arguments, got now/);
  });
  it("--wait takes seconds", async () => {
    const err: string[] = [];
    const code = await runCli(["lab", "examples/home-lab/tailnet.yaml", "--wait", "soon"], { out: () => undefined, err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/--wait must be a number of seconds, got "soon"/);
  });
});
