/**
 * Files go into the run's private temp dir ($TMPDIR, which the leftover guard empties and checks),
 * never into a fixed path under the system's /tmp: such a folder outlives the run, is shared by
 * every run on the machine, and the guard cannot tell it from another run's (the YAML emitter's
 * test once kept kit-issued private keys in /tmp/cdktf-tailnet-yaml-test that way). This fails on
 * a literal /tmp path given where something is written: a secrets or output dir, a mkdir, a write.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, readSources } from "../support/sources.js";

const PLACES = ["model", "render", "fsx", "cli", "secrets", "lab", "constructs", "bench", "examples", "main.ts", "test"];

/** A literal /tmp path where the code writes: a directory option, or the path argument of a writing call. */
const FIXED_TEMP_WRITE =
  /\b(secretsDir|outDir|outdir|stateDir|runDir|cacheDir|workDir)\s*:\s*["'`]\/tmp\/|\b(mkdirSync|mkdtempSync|writeFileSync|writeFileAtomic|mkdir|writeFile|cpSync|copyFileSync)\(\s*["'`]\/tmp\//;

describe("no fixed paths in the system's /tmp", () => {
  const self = relative(REPO_ROOT, fileURLToPath(import.meta.url));
  const sources = readSources(PLACES).filter((s) => s.file !== self);

  it("reads the sources and the tests", () => {
    expect(sources.length).toBeGreaterThan(250);
  });

  it("writes nothing to a literal /tmp path: files go under $TMPDIR (os.tmpdir()), which each run makes its own", () => {
    const found = sources.flatMap((s) =>
      s.text
        .split("\n")
        .map((line, i) => ({ line, at: `${s.file}:${i + 1}` }))
        .filter(({ line }) => FIXED_TEMP_WRITE.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });

  it("would have caught the YAML test's fixed secrets dir", () => {
    expect(FIXED_TEMP_WRITE.test(`prepareTailnet(spec, { secretsDir: "/tmp/cdktf-tailnet-yaml-test", now })`)).toBe(true);
    expect(FIXED_TEMP_WRITE.test(`mkdirSync("/tmp/x", { recursive: true })`)).toBe(true);
    expect(FIXED_TEMP_WRITE.test(`s.derp.regions[0].nodes[0].certificate = { mode: "manual", certFile: "/tmp/x.crt" };`)).toBe(false);
  });
});
