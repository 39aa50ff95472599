import { fileNamePart } from "./escape/path.js";

/** A rendered artifact: where it goes in the output tree, its bytes, and its file mode. */
export interface RenderedFile {
  /** Relative path with `/` separators, e.g. `headscale/config.yaml`. */
  readonly path: string;
  readonly content: string;
  /** Unix mode; secrets are 0o600. */
  readonly mode: number;
}

/**
 * The folder of a host's files in the output tree, `hosts/<host>`: the name encoded as one path
 * component (escape/path.ts), so no host name can lead elsewhere or into another host's folder.
 */
export function hostDir(hostName: string): string {
  return `hosts/${fileNamePart(hostName)}`;
}

/** A public (non-secret) text file. */
export function publicFile(path: string, content: string): RenderedFile {
  return { path, content, mode: 0o644 };
}
