/**
 * Files go into the run's private temp dir ($TMPDIR, which the leftover guard empties and checks),
 * never into a fixed path under the system's /tmp: such a folder outlives the run, is shared by
 * every run on the machine, and the guard cannot tell it from another run's (the YAML emitter's
 * test once kept kit-issued private keys in /tmp/cdktf-tailnet-yaml-test that way). This fails on
 * a literal /tmp path given where something is written: a secrets or output dir, a mkdir, a write.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PLACES = ["model", "render", "fsx", "cli", "secrets", "lab", "constructs", "bench", "examples", "main.ts", "test"];

function sourcesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return path.endsWith(".ts") || path.endsWith(".mjs") ? [path] : [];
  if (path.endsWith(join("test", "golden", "out")) || path.endsWith(join("test", "golden", "secrets"))) return [];
  return readdirSync(path).flatMap((name) => sourcesUnder(join(path, name)));
}

/** A literal /tmp path where the code writes: a directory option, or the path argument of a writing call. */
const FIXED_TEMP_WRITE =
  /\b(secretsDir|outDir|outdir|stateDir|runDir|cacheDir|workDir)\s*:\s*["'`]\/tmp\/|\b(mkdirSync|mkdtempSync|writeFileSync|writeFileAtomic|mkdir|writeFile|cpSync|copyFileSync)\(\s*["'`]\/tmp\//;

describe("no fixed paths in the system's /tmp", () => {
  const self = relative(ROOT, fileURLToPath(import.meta.url));
  const sources = PLACES.flatMap((p) => sourcesUnder(join(ROOT, p)))
    .map((file) => ({ file: relative(ROOT, file), text: readFileSync(file, "utf8") }))
    .filter((s) => s.file !== self);

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
