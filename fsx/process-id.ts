/**
 * Which process holds a lock or was started by a run, told apart from a later process that was
 * given the same pid: the kit's one way to ask "is that process still running?" (the render's
 * output lock in cli/tree-recovery.ts, the lab's lock and the processes it records in lab/state.ts).
 *
 * A process is its pid and its start time (field 22 of `/proc/<pid>/stat`, clock ticks after
 * boot). Where the start time cannot be read (no procfs, as on macOS; another user's process under
 * `hidepid`), it is {@link UNKNOWN_START} and the pid alone decides, as `kill -0` would: a lock is
 * kept rather than taken from a process that may still hold it.
 */
import { readFileSync } from "node:fs";

/** A process, told apart from a later one with the same pid by its start time. */
export interface ProcessId {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot), or {@link UNKNOWN_START}. */
  readonly startTime: string;
}

/** The start time of a process whose start time cannot be read: its pid alone identifies it. */
export const UNKNOWN_START = "";

/** The pid names a live process (a zombie is not one), by the signal-0 probe. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by another user
  }
}

/** A process's identity now, or undefined when there is no such process (or only its zombie). */
export function processId(pid: number): ProcessId | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return pidAlive(pid) ? { pid, startTime: UNKNOWN_START } : undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X") return undefined;
  return { pid, startTime: fields[19] ?? UNKNOWN_START };
}

/** The very process `id` names still runs (by pid alone where either start time is unknown). */
export function isRunning(id: ProcessId): boolean {
  const now = processId(id.pid);
  if (now === undefined) return false;
  return now.startTime === id.startTime || now.startTime === UNKNOWN_START || id.startTime === UNKNOWN_START;
}
