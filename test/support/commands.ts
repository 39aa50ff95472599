/** Whether a command is on PATH (for tests that skip, with a reason, when a tool is missing). */
import { execFileSync } from "node:child_process";

export function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", 'command -v "$1"', "sh", command], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
