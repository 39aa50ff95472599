/**
 * fsx/atomic-file.ts, the kit's one atomic file writer: the file is whole or as it was, its mode
 * exactly what was asked whatever the umask, nothing left beside it, and a link at its path is
 * replaced, never written through.
 */
import { constants, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { syncPath, writeFileAtomic } from "../../fsx/atomic-file.js";
import { scratchDir } from "../support/scratch.js";

/** The file-system calls the writer makes, in order (node:fs itself, recorded on the way through). */
const steps = vi.hoisted(() => [] as string[]);
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    openSync: (path: string, flags: string | number, mode?: number) => (
      steps.push(`open ${path} ${flags} ${mode?.toString(8)}`), fs.openSync(path, flags, mode)
    ),
    fchmodSync: (fd: number, mode: number) => (steps.push(`fchmod ${mode.toString(8)}`), fs.fchmodSync(fd, mode)),
    fsyncSync: (fd: number) => (steps.push("fsync"), fs.fsyncSync(fd)),
    renameSync: (from: string, to: string) => (steps.push(`rename ${from} ${to}`), fs.renameSync(from, to)),
  };
});

const scratch = () => scratchDir("cdktf-tailnet-atomic-");

describe("writeFileAtomic", () => {
  it("creates and replaces a file with exactly the given mode, whatever the umask, leaving nothing beside it", () => {
    const dir = scratch();
    const path = join(dir, "secret.key");
    for (const [umask, mode, content] of [
      [0o022, 0o600, "one\n"],
      [0o077, 0o644, "two\n"],
      [0o000, 0o600, Buffer.from("three\n")],
    ] as const) {
      const before = process.umask(umask);
      try {
        writeFileAtomic(path, content, mode);
      } finally {
        process.umask(before);
      }
      expect(readFileSync(path, "utf8")).toBe(content.toString());
      expect(statSync(path).mode & 0o777).toBe(mode);
      expect(readdirSync(dir)).toEqual(["secret.key"]);
    }
  });

  it("on a failure leaves the target as it was and removes its temporary file", () => {
    const dir = scratch();
    const path = join(dir, "taken");
    mkdirSync(path);
    writeFileSync(join(path, "inside"), "kept");
    expect(() => writeFileAtomic(path, "new", 0o600)).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(["taken"]);
    expect(readFileSync(join(path, "inside"), "utf8")).toBe("kept");
    expect(() => writeFileAtomic(join(dir, "no-such-folder", "f"), "x", 0o600)).toThrow(/ENOENT/);
  });

  it("replaces a symbolic link at the path instead of writing through it", () => {
    const dir = scratch();
    writeFileSync(join(dir, "elsewhere"), "untouched");
    symlinkSync(join(dir, "elsewhere"), join(dir, "f"));
    writeFileAtomic(join(dir, "f"), "mine", 0o600);
    expect(readFileSync(join(dir, "elsewhere"), "utf8")).toBe("untouched");
    expect(statSync(join(dir, "f")).isFile()).toBe(true);
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("mine");
  });

  it("creates the temporary file beside the target, exclusively, never through a link, with its final mode; flushes it, renames it, flushes the folder", () => {
    const dir = scratch();
    const path = join(dir, "k.key");
    steps.length = 0;
    writeFileAtomic(path, "x", 0o600);
    const tmp = steps[0]!.slice("open ".length).split(" ")[0]!;
    expect(tmp).toMatch(new RegExp(`^${dir}/\\.k\\.key\\.[0-9a-f]{24}\\.tmp$`));
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
    expect(steps).toEqual([
      `open ${tmp} ${O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW} 600`,
      "fchmod 600",
      "fsync",
      `rename ${tmp} ${path}`,
      `open ${dir} r undefined`,
      "fsync",
    ]);
  });
});

describe("syncPath", () => {
  it("flushes a file and a folder, and fails for a missing path", () => {
    const dir = scratch();
    writeFileSync(join(dir, "f"), "x");
    syncPath(join(dir, "f"));
    syncPath(dir);
    expect(() => syncPath(join(dir, "missing"))).toThrow(/ENOENT/);
  });
});
