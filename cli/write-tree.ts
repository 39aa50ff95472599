/**
 * Writing an output tree so that a failure or a kill at any moment leaves the previous tree or
 * the new one, never a mix: the new tree is written and flushed beside the target
 * (`<out>.staging-<id>`), the target is renamed away (`<out>.old-<id>`), the new tree renamed
 * into its place, and the old one deleted; the next render recovers from a kill between any two
 * of these steps (cli/tree-recovery.ts) and says what it did. Files and folders are flushed with
 * fsx/atomic-file.ts's syncPath; a single file is written with its writeFileAtomic.
 *
 * A directory is the kit's to replace only when its manifest lists exactly what is in it; any
 * other non-empty directory is refused, naming what the manifest does not account for. A
 * symbolic link as `<out>` is refused too: it is never followed or replaced.
 */
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { syncPath } from "../fsx/atomic-file.js";
import { joinInside } from "../render/escape/path.js";
import type { RenderedFile } from "../render/index.js";
import { compareWithManifest, MANIFEST_NAME, manifestFor, readManifest, type TreeManifest, type TreeMetadata } from "./tree-manifest.js";
import { lockOutput, OutputTreeError, renderPaths, type HeldLock, type RenderPaths } from "./tree-recovery.js";

export { MANIFEST_NAME, manifestFor, type TreeMetadata } from "./tree-manifest.js";
export { OutputTreeError } from "./tree-recovery.js";

/** The moments of a write, in order (for tests that kill the writer at each). */
export type WriteStep = "file-written" | "staged" | "old-moved" | "swapped" | "old-removed";

/** Options of an output tree. */
export interface OutputTreeOptions {
  /** Called at each step of a write (tests kill the process here). */
  readonly onStep?: (step: WriteStep) => void;
}

/** Refuses a rendered path that is not plainly relative, or that two files share. */
function checkPaths(files: readonly RenderedFile[]): void {
  const seen = new Set<string>();
  for (const { path } of files) {
    if (path.startsWith("/") || path.split("/").some((part) => part === ".." || part === "" || part === ".")) {
      throw new Error(`refusing to write ${JSON.stringify(path)}: rendered paths must be relative and stay inside the output directory`);
    }
    if (seen.has(path)) throw new Error(`refusing to write ${JSON.stringify(path)} twice: two rendered files would share one path`);
    seen.add(path);
  }
}

const MAX_NAMED = 10;
const named = (paths: readonly string[]) =>
  paths.length <= MAX_NAMED ? paths.join(", ") : `${paths.slice(0, MAX_NAMED).join(", ")} and ${paths.length - MAX_NAMED} more`;

/** The manifest of `<out>` when the kit may replace it (absent or empty: none); refuses otherwise. */
async function replaceableTree(out: string): Promise<TreeManifest | undefined> {
  const stat = await lstat(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (!stat) return undefined;
  if (stat.isSymbolicLink()) {
    const target = resolve(dirname(out), await readlink(out));
    throw new OutputTreeError(
      `${out} is a symbolic link (to ${target}); render never follows or replaces a link\n  fix: pass --out ${target} to render into the directory it points to, or remove the link`,
    );
  }
  if (!stat.isDirectory()) throw new OutputTreeError(`${out} exists and is not a directory\n  fix: choose another --out, or move the file away`);
  const manifest = await readManifest(out);
  if (!manifest) {
    const entries = (await readdir(out)).sort();
    if (entries.length === 0) return undefined;
    throw new OutputTreeError(
      `${out} is not empty and was not written by cdktf-tailnet (no ${MANIFEST_NAME}): ${named(entries)}\n  fix: choose a new or empty --out directory`,
    );
  }
  const d = await compareWithManifest(out, manifest);
  if (d.unexpected.length + d.missing.length + d.changed.length > 0) {
    throw new OutputTreeError(
      [
        `${out} does not hold exactly the tree cdktf-tailnet rendered there, and a render replaces the whole directory:`,
        ...(d.unexpected.length > 0 ? [`  not rendered by cdktf-tailnet: ${named(d.unexpected)}`] : []),
        ...(d.changed.length > 0 ? [`  changed since rendered: ${named(d.changed)}`] : []),
        ...(d.missing.length > 0 ? [`  missing: ${named(d.missing)}`] : []),
        `  fix: move what you want to keep out of ${out} (or delete it), or choose another --out`,
      ].join("\n"),
    );
  }
  return manifest;
}

/** Writes `files` into the new directory `dir` and flushes them and every directory to disk. */
async function writeStaged(dir: string, files: readonly RenderedFile[], onStep: OutputTreeOptions["onStep"]): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755); // the umask must not narrow it
  const dirs = new Set([dir]);
  for (const file of files) {
    const path = joinInside(dir, file.path);
    for (let d = dirname(path); !dirs.has(d); d = dirname(d)) dirs.add(d);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, file.content, { flag: "wx", mode: file.mode });
    await chmod(path, file.mode); // the umask must not widen or narrow what the model decided
    onStep?.("file-written");
  }
  // Flushed after all are written: the first flush carries most of the others' data with it.
  for (const file of files) syncPath(join(dir, file.path));
  // Deepest first, so each directory's entries are on disk before its parent's.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) syncPath(d);
}

/**
 * The output directory of a render, locked while it is open: opening recovers from a killed
 * render, and refuses a directory the kit may not replace, before the caller reads its metadata
 * or renders anything. Close it in a `finally`.
 */
export class OutputTree {
  private lock: HeldLock | undefined;
  private manifest: TreeManifest | undefined;
  private readonly recoveredSteps: string[] = [];

  private constructor(
    private readonly paths: RenderPaths,
    private readonly options: OutputTreeOptions,
  ) {}

  /** Opens `outDir` (it need not exist; nothing is created until `replace`). */
  static async open(outDir: string, options: OutputTreeOptions = {}): Promise<OutputTree> {
    const tree = new OutputTree(renderPaths(resolve(outDir)), options);
    if (await lstat(dirname(tree.paths.out)).catch(() => undefined)) await tree.ensureLocked();
    return tree;
  }

  /** The absolute path of the tree. */
  get path(): string {
    return this.paths.out;
  }

  /** What recovering from killed renders did, one sentence each (empty when nothing was left). */
  get recovered(): readonly string[] {
    return this.recoveredSteps;
  }

  /** What the tree's manifest records (undefined for a new or empty directory). */
  get metadata(): TreeMetadata | undefined {
    return this.manifest && { headscaleVersion: this.manifest.headscaleVersion };
  }

  private async ensureLocked(): Promise<void> {
    if (this.lock) return;
    const lock = await lockOutput(this.paths);
    this.lock = lock;
    this.recoveredSteps.push(...lock.recovered);
    try {
      this.manifest = await replaceableTree(this.paths.out);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Replaces the whole tree with `files` (and a manifest recording `metadata`). */
  async replace(files: readonly RenderedFile[], metadata: TreeMetadata = {}): Promise<void> {
    checkPaths(files);
    const { out } = this.paths;
    await mkdir(dirname(out), { recursive: true });
    await this.ensureLocked();
    const id = this.lock!.id;
    const staging = this.paths.staging(id);
    const old = this.paths.old(id);
    const step = this.options.onStep;
    let moved = false;
    try {
      await writeStaged(staging, [...files, { path: MANIFEST_NAME, content: manifestFor(files, metadata), mode: 0o644 }], step);
      step?.("staged");
      if (await lstat(out).catch(() => undefined)) {
        await rename(out, old);
        moved = true;
        syncPath(dirname(out));
        step?.("old-moved");
      }
      await rename(staging, out);
      syncPath(dirname(out));
      step?.("swapped");
    } catch (e) {
      if (moved) await rename(old, out).catch(() => undefined);
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
    if (moved) await rm(old, { recursive: true, force: true });
    step?.("old-removed");
    this.manifest = await readManifest(out);
  }

  /** Releases the lock. */
  async close(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }
}

/**
 * Writes `files` as the whole content of `outDir` (see OutputTree); returns what recovering from
 * killed renders did first.
 */
export async function writeTreeAtomically(
  outDir: string,
  files: readonly RenderedFile[],
  metadata: TreeMetadata = {},
  options: OutputTreeOptions = {},
): Promise<readonly string[]> {
  const tree = await OutputTree.open(outDir, options);
  try {
    await tree.replace(files, metadata);
    return tree.recovered;
  } finally {
    await tree.close();
  }
}
