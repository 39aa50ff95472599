/**
 * The manifest the kit writes at the root of every tree it renders, and the check that a
 * directory holds exactly what its manifest lists: only such a directory is the kit's to replace.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RenderedFile } from "../render/index.js";

/** Name of the manifest the kit writes at the root of every tree it renders. */
export const MANIFEST_NAME = ".cdktf-tailnet-manifest.json";

/** What a manifest records about the tree besides its files. */
export interface TreeMetadata {
  /** The headscale release the tree was rendered for (the next render checks the upgrade path from it). */
  readonly headscaleVersion?: string;
}

/** One file a manifest lists. */
interface ManifestEntry {
  readonly path: string;
  readonly mode: string;
  readonly sha256: string;
}

/** A manifest as read back from a tree. */
export interface TreeManifest extends TreeMetadata {
  readonly files: readonly ManifestEntry[];
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The manifest: every file with its mode and SHA-256, sorted; no timestamps, so it is deterministic. */
export function manifestFor(files: readonly RenderedFile[], metadata: TreeMetadata = {}): string {
  const entries = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((f) => ({ path: f.path, mode: `0${f.mode.toString(8)}`, sha256: sha256(f.content) }));
  return `${JSON.stringify({ generator: "cdktf-tailnet", ...metadata, files: entries }, null, 2)}\n`;
}

/** The manifest at the root of `dir`, or undefined when there is none or it is not the kit's. */
export async function readManifest(dir: string): Promise<TreeManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_NAME), "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { generator?: unknown; headscaleVersion?: unknown; files?: unknown };
    if (parsed.generator !== "cdktf-tailnet" || !Array.isArray(parsed.files)) return undefined;
    const files = parsed.files.filter((f): f is ManifestEntry => typeof f?.path === "string" && typeof f?.sha256 === "string");
    if (files.length !== parsed.files.length) return undefined;
    return { files, ...(typeof parsed.headscaleVersion === "string" && { headscaleVersion: parsed.headscaleVersion }) };
  } catch {
    return undefined;
  }
}

/** How a directory differs from its manifest; all empty when it holds exactly what the manifest lists. */
export interface TreeDifferences {
  /** Entries the manifest does not list (directories end in `/`; links and other non-files count too). */
  readonly unexpected: readonly string[];
  /** Files the manifest lists that are not there (or are not regular files). */
  readonly missing: readonly string[];
  /** Files whose content is not what the manifest recorded. */
  readonly changed: readonly string[];
}

/** Every entry under `dir` (not following links), files as `a/b`, directories as `a/`, sorted. */
async function listTree(dir: string, prefix = ""): Promise<{ files: Set<string>; other: string[]; dirs: string[] }> {
  const result = { files: new Set<string>(), other: [] as string[], dirs: [] as string[] };
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      result.dirs.push(`${path}/`);
      const inner = await listTree(dir, path);
      inner.files.forEach((f) => {
        result.files.add(f);
      });
      result.other.push(...inner.other);
      result.dirs.push(...inner.dirs);
    } else if (entry.isFile()) result.files.add(path);
    else result.other.push(path);
  }
  return result;
}

/** How `dir` differs from `manifest` (the manifest file itself is expected). */
export async function compareWithManifest(dir: string, manifest: TreeManifest): Promise<TreeDifferences> {
  const found = await listTree(dir);
  const listed = new Set([MANIFEST_NAME, ...manifest.files.map((f) => f.path)]);
  // A directory is expected when a listed file is inside it.
  const listedDirs = new Set(
    [...listed].flatMap((p) =>
      p
        .split("/")
        .slice(0, -1)
        .map((_, i, parts) => `${parts.slice(0, i + 1).join("/")}/`),
    ),
  );
  const unexpected = [...[...found.files].filter((f) => !listed.has(f)), ...found.other, ...found.dirs.filter((d) => !listedDirs.has(d))];
  const missing: string[] = [];
  const changed: string[] = [];
  for (const f of manifest.files) {
    if (!found.files.has(f.path)) missing.push(f.path);
    else if (sha256(await readFile(join(dir, f.path))) !== f.sha256) changed.push(f.path);
  }
  // A directory under an unexpected directory is named once, by its top.
  const tops = unexpected.sort().filter((p, _, all) => !all.some((q) => q !== p && q.endsWith("/") && p.startsWith(q)));
  return { unexpected: tops, missing: missing.sort(), changed: changed.sort() };
}

/** True when `dir` holds exactly the files its kit manifest lists, with the recorded content. */
export async function isCompleteTree(dir: string): Promise<boolean> {
  const manifest = await readManifest(dir);
  if (!manifest) return false;
  const d = await compareWithManifest(dir, manifest);
  return d.unexpected.length === 0 && d.missing.length === 0 && d.changed.length === 0;
}

/** True when `path` is a directory (not a link to one). */
export async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}
