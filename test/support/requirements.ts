/**
 * What the tests need from the machine, and why a suite skips. The Debian packages come from one
 * list, scripts/test-packages.tsv, which `.ci/run` installs from and the README names; a suite that
 * cannot run says which tool is missing and which package brings it, on the test run's output
 * (not only in a title nobody sees).
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";

interface Requirement {
  readonly tool: string;
  readonly pkg: string;
  readonly purpose: string;
}

/** The rows of scripts/test-packages.tsv. */
export const testPackages: readonly Requirement[] = readFileSync(new URL("../../scripts/test-packages.tsv", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.startsWith("#"))
  .map((line) => {
    const [tool, pkg, purpose] = line.split("\t");
    return { tool: tool!, pkg: pkg!, purpose: purpose ?? "" };
  });

function present(tool: string): boolean {
  try {
    if (tool.startsWith("py:")) execFileSync("python3", ["-c", `import ${tool.slice(3)}`], { stdio: "ignore" });
    else if (tool.startsWith("/")) accessSync(tool, constants.X_OK);
    else execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a test cannot run: the first of `tools` (rows of scripts/test-packages.tsv) missing here,
 * with its Debian package, or undefined when all are there.
 */
export function missingTool(...tools: string[]): string | undefined {
  for (const tool of tools) {
    const row = testPackages.find((r) => r.tool === tool);
    if (!row) throw new Error(`${tool} is not in scripts/test-packages.tsv; add it there (with its Debian package) so .ci/run installs it`);
    if (!present(tool)) {
      const name = tool.startsWith("py:") ? `the Python module ${tool.slice(3)}` : tool;
      return `${name} is not installed (Debian package ${row.pkg}; \`bash .ci/run\` installs every test prerequisite)`;
    }
  }
  return undefined;
}

/** Why a test that needs root cannot run, or undefined. */
export function needsRoot(what: string): string | undefined {
  return process.getuid?.() === 0 ? undefined : `${what} needs root (run the tests as root, as .ci/run does)`;
}

/**
 * The first of `reasons` that is set, printed once as `<suite> skipped: <reason>` so a skipped
 * suite always says why on the run's output; undefined when the suite can run.
 */
export function skipReason(suite: string, ...reasons: (string | undefined)[]): string | undefined {
  const reason = reasons.find((r) => r !== undefined);
  if (reason !== undefined) console.warn(`${suite} skipped: ${reason}`);
  return reason;
}
