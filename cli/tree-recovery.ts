/**
 * The lock and the leftovers of a render into `<out>`, all beside it in the same directory:
 *
 *   <out>.lock            held while a render reads or replaces <out>: {"pid":…,"startTime":…,"id":…}
 *   <out>.staging-<id>    the new tree being written
 *   <out>.old-<id>        the previous tree, between the two renames and until it is deleted
 *
 * A render killed at any moment leaves some of these; the next render (which finds the lock's
 * process gone) puts `<out>` back into one whole state before it does anything else, and says
 * what it did:
 *
 * | left behind                         | recovery                                                   |
 * | ----------------------------------- | ---------------------------------------------------------- |
 * | staging, `<out>` present or never made | delete staging: the render never replaced `<out>`       |
 * | old + complete staging, no `<out>`   | finish the swap: staging becomes `<out>`, old is deleted   |
 * | old (+ incomplete staging), no `<out>` | restore old as `<out>`, delete staging                    |
 * | old, `<out>` present                 | delete old: the swap had finished                          |
 *
 * Each step is one rename or one removal, so recovery killed halfway is recovered the same way.
 * (Two renders started at the same moment just after a killed one may both recover; the second
 * then fails on a missing or present path and changes nothing.)
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { syncPath } from "../fsx/atomic-file.js";
import { isRunning, type ProcessId, processId, UNKNOWN_START } from "../fsx/process-id.js";
import { isCompleteTree, isDirectory } from "./tree-manifest.js";

/** The names beside `<out>` that belong to one render. */
export interface RenderPaths {
  readonly out: string;
  readonly lock: string;
  staging(id: string): string;
  old(id: string): string;
}

/** The paths of a render into `out` (an absolute path). */
export function renderPaths(out: string): RenderPaths {
  return { out, lock: `${out}.lock`, staging: (id) => `${out}.staging-${id}`, old: (id) => `${out}.old-${id}` };
}

/** A render's problem with its output directory; the message says what was found and the fix. */
export class OutputTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputTreeError";
  }
}

const ID = /^[0-9a-f]{16}$/;

/**
 * The lock record, or why the file is not one of ours. A lock without a start time (written by an
 * earlier version of the kit) names its process by pid alone.
 */
async function readLock(path: string): Promise<(ProcessId & { id: string }) | "empty" | "foreign" | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  if (text === "") return "empty"; // killed between creating the lock and writing it
  try {
    const record = JSON.parse(text) as { pid?: unknown; startTime?: unknown; id?: unknown };
    const startTime = record.startTime ?? UNKNOWN_START;
    if (Number.isInteger(record.pid) && typeof startTime === "string" && typeof record.id === "string" && ID.test(record.id))
      return { pid: record.pid as number, startTime, id: record.id };
  } catch {
    // not JSON: not ours
  }
  return "foreign";
}

/** The ids of staging and old trees beside `<out>`, sorted. */
async function leftovers(paths: RenderPaths): Promise<{ staging: string[]; old: string[] }> {
  const name = basename(paths.out);
  const found = { staging: [] as string[], old: [] as string[] };
  for (const entry of await readdir(dirname(paths.out))) {
    for (const kind of ["staging", "old"] as const) {
      const prefix = `${name}.${kind}-`;
      if (entry.startsWith(prefix) && ID.test(entry.slice(prefix.length)) && (await isDirectory(join(dirname(paths.out), entry))))
        found[kind].push(entry.slice(prefix.length));
    }
  }
  found.staging.sort();
  found.old.sort();
  return found;
}

/**
 * Puts `<out>` into one whole state after killed renders (the caller holds no lock; the lock,
 * if any, belongs to a process that is gone). Returns one sentence per thing done, in order.
 */
async function recoverLeftovers(paths: RenderPaths): Promise<string[]> {
  const done: string[] = [];
  const { staging, old } = await leftovers(paths);
  const stagingLeft = new Set(staging);
  const oldLeft = new Set(old);
  if (!(await isDirectory(paths.out)) && old.length > 0) {
    if (old.length > 1) {
      throw new OutputTreeError(
        `${paths.out} is missing and ${old.length} earlier trees are beside it (${old.map((id) => basename(paths.old(id))).join(", ")}); cannot tell which to restore\n` +
          `  fix: rename the one to keep to ${basename(paths.out)} and delete the others, then render again`,
      );
    }
    const id = old[0]!;
    if (stagingLeft.has(id) && (await isCompleteTree(paths.staging(id)))) {
      await rename(paths.staging(id), paths.out);
      done.push(`finished a render killed between its two renames: moved ${paths.staging(id)}, the complete new tree, to ${paths.out}`);
      stagingLeft.delete(id);
    } else {
      await rename(paths.old(id), paths.out);
      done.push(`restored ${paths.out} from ${paths.old(id)}: a render was killed before its new tree was complete`);
      oldLeft.delete(id);
    }
    syncPath(dirname(paths.out));
  }
  for (const id of oldLeft) {
    await rm(paths.old(id), { recursive: true, force: true });
    done.push(`removed ${paths.old(id)}: the previous tree, already replaced by a killed render`);
  }
  for (const id of stagingLeft) {
    await rm(paths.staging(id), { recursive: true, force: true });
    done.push(`removed ${paths.staging(id)}: the unfinished tree of a killed render (it had not replaced ${paths.out})`);
  }
  return done;
}

/** A held lock on `<out>`: the render's id and what recovery did before it was taken. */
export interface HeldLock {
  readonly id: string;
  readonly recovered: readonly string[];
  release(): Promise<void>;
}

/**
 * Takes the lock on `<out>` (its directory must exist), recovering first from any render that
 * was killed; refuses when another render is running.
 */
export async function lockOutput(paths: RenderPaths): Promise<HeldLock> {
  const recovered: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = randomBytes(8).toString("hex");
    try {
      const me = processId(process.pid) ?? { pid: process.pid, startTime: UNKNOWN_START };
      await writeFile(paths.lock, `${JSON.stringify({ pid: me.pid, startTime: me.startTime, id })}\n`, { flag: "wx", mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = await readLock(paths.lock);
      if (holder === undefined) continue; // released meanwhile
      if (holder === "foreign") {
        throw new OutputTreeError(`${paths.lock} exists and was not written by cdktf-tailnet\n  fix: move it away, or choose another --out`);
      }
      if (typeof holder === "object" && isRunning(holder)) {
        throw new OutputTreeError(
          `another render (process ${holder.pid}) is writing ${paths.out}\n  fix: wait for it to finish; if no such process is running, delete ${paths.lock}`,
        );
      }
      // The holder was killed: its leftovers are recovered, then its lock removed.
      recovered.push(...(await recoverLeftovers(paths)));
      await unlink(paths.lock).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      recovered.push(
        `removed ${paths.lock}: left by ${typeof holder === "object" ? `render process ${holder.pid}, which is no longer running` : "a render killed as it started"}`,
      );
      continue;
    }
    const release = async () => {
      await unlink(paths.lock).catch(() => undefined);
    };
    try {
      syncPath(dirname(paths.out));
      // Leftovers without a lock (the lock deleted by hand) are recovered the same way.
      recovered.push(...(await recoverLeftovers(paths)));
    } catch (e) {
      await release();
      throw e;
    }
    return { id, recovered, release };
  }
  throw new OutputTreeError(`${paths.lock} keeps appearing: another render is starting\n  fix: run one render into ${paths.out} at a time`);
}
