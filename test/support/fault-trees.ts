/**
 * Two output trees for tests that kill a render at every moment (test/cli/render-faults.test.ts):
 * distinct in paths, contents, modes and metadata, so any mix of them is told apart from either.
 */
import type { RenderedFile } from "../../render/index.js";
import type { TreeMetadata } from "../../cli/write-tree.js";

/** A tree and the metadata its manifest records. */
export interface FaultTree {
  readonly files: readonly RenderedFile[];
  readonly metadata: TreeMetadata;
}

function tree(name: string, count: number, version: string): FaultTree {
  const files: RenderedFile[] = [];
  for (let i = 0; i < count; i++) {
    const dir = ["headscale", "derper", `hosts/h${i % 4}`][i % 3];
    files.push({ path: `${dir}/${name}-${i}.txt`, content: `${name} file ${i}\n`.repeat(40 + i), mode: i % 5 === 0 ? 0o600 : 0o644 });
  }
  // One path in both trees, with different content.
  files.push({ path: "headscale/config.yaml", content: `tree: ${name}\n`, mode: 0o644 });
  return { files, metadata: { headscaleVersion: version } };
}

/** The trees, by name. */
export const FAULT_TREES = { A: tree("a", 40, "0.28.0"), B: tree("b", 32, "0.29.3") } as const;
