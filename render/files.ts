/** A rendered artifact: where it goes in the output tree, its bytes, and its file mode. */
export interface RenderedFile {
  /** Relative path with `/` separators, e.g. `headscale/config.yaml`. */
  readonly path: string;
  readonly content: string;
  /** Unix mode; secrets are 0o600. */
  readonly mode: number;
}

/** A public (non-secret) text file. */
export function publicFile(path: string, content: string): RenderedFile {
  return { path, content, mode: 0o644 };
}
