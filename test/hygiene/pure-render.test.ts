/**
 * render/ and model/ are pure: they turn a spec into a model and a model into file contents, and
 * never touch the file system or start a process (file I/O lives in fsx/, secrets/, cli/, lab/).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const IMPURE = /^(node:)?(fs|fs\/promises|child_process)$/;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("pure folders", () => {
  it.each(["render", "model"])("%s/ imports no file-system or process module", (folder) => {
    const offenders = sourcesUnder(join(ROOT, folder)).flatMap((file) =>
      ts
        .preProcessFile(readFileSync(file, "utf8"), true, true)
        .importedFiles.filter((i) => IMPURE.test(i.fileName))
        .map((i) => `${relative(ROOT, file)} imports ${i.fileName}`),
    );
    expect(offenders).toEqual([]);
  });
});
