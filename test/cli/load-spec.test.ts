/**
 * Reading spec files: a size limit checked before parsing (and while reading, for files that
 * grow), bounded YAML alias expansion, nesting that cannot exhaust the stack, and the mark that
 * makes validation refuse Terraform tokens in a spec read from text.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_SPEC_BYTES, loadSpecFile, maxSpecBytes, parseSpecYaml, SpecFileError } from "../../cli/load-spec.js";
import { isSpecFromText } from "../../model/tokens.js";

const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-load-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<SpecFileError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpecFileError);
  return error as SpecFileError;
}

describe("spec file size", () => {
  it("refuses a file over the limit before parsing it, naming the file, its size, the limit and the fix", async () => {
    const file = join(dir, "huge.yaml");
    writeFileSync(file, `name: x\n#${"x".repeat(DEFAULT_MAX_SPEC_BYTES)}\n`);
    const error = await failure(loadSpecFile(file));
    expect(error.message).toBe(
      `${file} is 4194314 bytes (4.0 MiB), more than the 4194304 bytes (4.0 MiB) a spec may have; nothing was parsed\n` +
        "  fix: check that this is the tailnet spec (a large tailnet's is a few hundred kB); to accept a larger one, set CDKTF_TAILNET_MAX_SPEC_BYTES=<bytes>",
    );
  });

  it("takes the limit from CDKTF_TAILNET_MAX_SPEC_BYTES, and refuses text over it in the library's parser too", () => {
    expect(maxSpecBytes({ CDKTF_TAILNET_MAX_SPEC_BYTES: "1000" })).toBe(1000);
    expect(maxSpecBytes({ CDKTF_TAILNET_MAX_SPEC_BYTES: "lots" })).toBe(DEFAULT_MAX_SPEC_BYTES);
    expect(maxSpecBytes({})).toBe(DEFAULT_MAX_SPEC_BYTES);
    expect(() => parseSpecYaml(`name: "${"é".repeat(600)}"\n`, "inline.yaml", 1000)).toThrow(
      "inline.yaml is 1209 bytes, more than the 1000 bytes a spec may have; nothing was parsed",
    );
  });

  it("stops reading a file that is larger than it claims (a device, a file still growing)", async () => {
    const link = join(dir, "zero.yaml");
    symlinkSync("/dev/zero", link);
    const error = await failure(loadSpecFile(link));
    expect(error.message).toMatch(new RegExp(`^${link} is more than 4194304 bytes, more than the 4194304 bytes \\(4\\.0 MiB\\) a spec may have`));
  });
});

describe("YAML resource limits", () => {
  it("refuses an alias bomb", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ].join("\n");
    expect(() => parseSpecYaml(bomb, "bomb.yaml")).toThrow(
      "bomb.yaml expands YAML aliases more than 100 times (an alias bomb); nothing was parsed\n  fix: write the repeated parts out, or use fewer aliases",
    );
  });

  it("reads deep nesting as an error, not a crash", () => {
    let error: unknown;
    try {
      parseSpecYaml(`${"[".repeat(200_000)}${"]".repeat(200_000)}`, "deep.yaml");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecFileError);
    expect((error as Error).message).toMatch(/^deep\.yaml (nests too deeply to be read|is not valid YAML)/);
  });

  it("marks what it parsed as read from text", () => {
    expect(isSpecFromText(parseSpecYaml("name: x\n", "t.yaml"))).toBe(true);
    expect(isSpecFromText({ name: "x" })).toBe(false);
  });
});
