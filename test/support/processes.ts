/** Stopping a child process the test started: SIGTERM by pid, SIGKILL if it lingers. */
import type { ChildProcess } from "node:child_process";

export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
