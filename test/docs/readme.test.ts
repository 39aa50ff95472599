/**
 * The README says what works: its sample output is the command's real output, every file it
 * points to exists, the test prerequisites it lists are the ones .ci/run installs, and CI runs
 * exactly its test command.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { testPackages } from "../support/requirements.js";

const root = new URL("../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");

/** The fenced block right after `<!-- output of: <command> -->`. */
function outputBlock(command: string): string {
  const marker = `<!-- output of: ${command} -->\n\`\`\`\n`;
  const start = readme.indexOf(marker);
  if (start < 0) throw new Error(`README has no block marked ${JSON.stringify(marker)}`);
  const from = start + marker.length;
  return readme.slice(from, readme.indexOf("```", from)).trimEnd();
}

describe("README", () => {
  it("shows validate's real output for examples/bad.yaml", async () => {
    const err: string[] = [];
    const code = await runCli(["validate", "examples/bad.yaml"], { out: () => {}, err: (t) => err.push(t) });
    expect(code).toBe(1);
    expect(err.join("\n")).toBe(outputBlock("cdktf-tailnet validate examples/bad.yaml"));
  });

  it("points only to files that exist", () => {
    const paths = [...readme.matchAll(/\b((?:examples|scripts|docs|schema|test)\/[\w./-]+\.(?:ya?ml|ts|sh|md|json|tsv))\b/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(5);
    for (const path of new Set(paths)) expect(existsSync(new URL(path, root)), path).toBe(true);
  });

  it("lists every Debian package the tests need, the list .ci/run installs from", () => {
    const ci = readFileSync(new URL(".ci/run", root), "utf8");
    expect(ci).toContain("scripts/test-packages.tsv");
    const section = readme.slice(readme.indexOf("### Running the tests"), readme.indexOf("## Quickstart"));
    for (const pkg of new Set(testPackages.map((p) => p.pkg))) expect(section, pkg).toMatch(new RegExp(`\\b${pkg.replace(/[.+]/g, "\\$&")}\\b`));
  });

  it("has two commands, and CI runs exactly its test command after installing what the tests need", () => {
    const commands = readme.slice(readme.indexOf("## Two commands"), readme.indexOf("### Running the tests"));
    expect(commands).toContain("npm ci && npm start");
    expect(commands).toMatch(/^npm test\b/m);
    const ci = readFileSync(new URL(".ci/run", root), "utf8").trim().split("\n");
    expect(ci.at(-1)).toBe("npm test");
  });
});
