/**
 * render/ and model/ are pure: they turn a spec into a model and a model into file contents, and
 * never touch the file system or start a process (file I/O lives in fsx/, secrets/, cli/, lab/).
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, sourcesUnder } from "../support/sources.js";

const ROOT = REPO_ROOT;
const IMPURE = /^(node:)?(fs|fs\/promises|child_process)$/;

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
