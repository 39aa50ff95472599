/**
 * Temporary directories for tests, removed when the test file finishes: importing this module
 * registers the cleanup for the importing file.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

const created: string[] = [];

afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, removed after the test file. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/**
 * The path of a scratch directory for the enclosing `describe`, created in its first beforeAll
 * and removed after it: a skipped suite (whose body still runs, to collect its tests, while its
 * hooks do not) creates nothing. Call it first in the describe body.
 */
export function suiteScratchDir(prefix: string): string {
  const dir = join(tmpdir(), `${prefix}${randomBytes(6).toString("hex")}`);
  beforeAll(() => {
    mkdirSync(dir, { mode: 0o700 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
