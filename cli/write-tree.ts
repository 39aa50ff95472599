/**
 * Writing an output tree atomically: every file goes into a temporary directory beside the
 * target, and only when all are written does the temporary directory take the target's place.
 * A failure leaves the previous tree as it was. A directory the kit did not write is never
 * replaced: the kit marks its trees with a manifest.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { RenderedFile } from "../render/index.js";

/** Name of the manifest the kit writes at the root of every tree it renders. */
export const MANIFEST_NAME = ".cdktf-tailnet-manifest.json";

/** What a manifest records about the tree besides its files. */
export interface TreeMetadata {
  /** The headscale release the tree was rendered for (the next render checks the upgrade path from it). */
  readonly headscaleVersion?: string;
}

/** The manifest: every file with its mode and SHA-256, sorted; no timestamps, so it is deterministic. */
export function manifestFor(files: readonly RenderedFile[], metadata: TreeMetadata = {}): string {
  const entries = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((f) => ({ path: f.path, mode: `0${f.mode.toString(8)}`, sha256: createHash("sha256").update(f.content).digest("hex") }));
  return `${JSON.stringify({ generator: "cdktf-tailnet", ...metadata, files: entries }, null, 2)}\n`;
}

/** The metadata of the tree an earlier render left in `outDir`, if any. */
export function readTreeMetadata(outDir: string): TreeMetadata | undefined {
  const path = join(resolve(outDir), MANIFEST_NAME);
  if (!existsSync(path)) return undefined;
  const manifest = JSON.parse(readFileSync(path, "utf8")) as TreeMetadata & { generator?: string };
  return manifest.generator === "cdktf-tailnet" ? { headscaleVersion: manifest.headscaleVersion } : undefined;
}

function checkRelative(path: string): void {
  if (path.startsWith("/") || path.split("/").some((part) => part === ".." || part === "" || part === ".")) {
    throw new Error(`refusing to write ${JSON.stringify(path)}: rendered paths must be relative and stay inside the output directory`);
  }
}

async function assertReplaceable(target: string): Promise<void> {
  if (!existsSync(target)) return;
  if (!(await stat(target)).isDirectory()) throw new Error(`${target} exists and is not a directory; choose another --out`);
  const entries = await readdir(target);
  if (entries.length > 0 && !entries.includes(MANIFEST_NAME)) {
    throw new Error(`${target} is not empty and was not written by cdktf-tailnet (no ${MANIFEST_NAME}); choose a new or empty --out directory`);
  }
}

/** Writes `files` as the whole content of `outDir`, atomically. */
export async function writeTreeAtomically(outDir: string, files: readonly RenderedFile[], metadata: TreeMetadata = {}): Promise<void> {
  const target = resolve(outDir);
  files.forEach((f) => checkRelative(f.path));
  await assertReplaceable(target);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    await chmod(staging, 0o755);
    for (const file of [...files, { path: MANIFEST_NAME, content: manifestFor(files, metadata), mode: 0o644 }]) {
      const path = join(staging, file.path);
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFile(path, file.content, { mode: file.mode });
      await chmod(path, file.mode); // the umask must not widen or narrow what the model decided
    }
    const old = existsSync(target) ? `${staging}.old` : undefined;
    if (old) await rename(target, old);
    await rename(staging, target);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}
