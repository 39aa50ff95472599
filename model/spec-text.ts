/**
 * Spec text (tailnet.yaml, or JSON) to a spec object, strictly: YAML 1.2 core schema, duplicated
 * keys refused, text over a size limit refused before parsing, alias expansion bounded, and the
 * result marked as read from text, so validation refuses Terraform tokens in it (model/tokens.ts).
 * Pure: the caller reads the file. The CLI reads through cli/load-spec.ts; a cdktf app reads its
 * tailnet.yaml with `parseTailnetYaml(readFileSync(path, "utf8"), path)`.
 */
import { parseDocument } from "yaml";
import { markSpecFromText } from "./tokens.js";

/** A spec file that could not be read or parsed; the message names the file and the place. */
export class SpecFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpecFileError";
  }
}

/** The largest spec text read or parsed by default: far above any real tailnet (50,000 users take ~2 MB). */
export const DEFAULT_MAX_SPEC_BYTES = 4 * 1024 * 1024;
/** The environment variable with which the CLI raises (or lowers) the limit, in bytes. */
export const MAX_SPEC_BYTES_ENV = "CDKTF_TAILNET_MAX_SPEC_BYTES";
/** How many alias uses a spec's YAML may expand (the `yaml` package's guard against alias bombs). */
export const MAX_YAML_ALIAS_COUNT = 100;

/** `1209 bytes`, or `4194314 bytes (4.0 MiB)` from a MiB on. */
function bytesText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes} bytes (${(bytes / 1024 / 1024).toFixed(1)} MiB)` : `${bytes} bytes`;
}

/** The error for spec text over the limit: `size` is its size in bytes, or a text such as "more than N bytes". */
export function specTooLarge(source: string, size: number | string, limit: number): SpecFileError {
  return new SpecFileError(
    `${source} is ${typeof size === "number" ? bytesText(size) : size}, more than the ${bytesText(limit)} a spec may have; nothing was parsed\n` +
      `  fix: check that this is the tailnet spec (a large tailnet's is a few hundred kB); to accept a larger one, set ${MAX_SPEC_BYTES_ENV}=<bytes>`,
  );
}

/**
 * Parses spec YAML (not yet validated). YAML 1.2 core schema: `no`, `on`, `0770` stay strings or
 * decimal numbers as written, and a duplicated key is an error instead of a silent overwrite.
 * Text over `maxBytes` is refused before parsing, and aliases expand at most MAX_YAML_ALIAS_COUNT
 * times. The result is marked as read from text. `source` names the text in errors.
 */
export function parseTailnetYaml(text: string, source: string, maxBytes: number = DEFAULT_MAX_SPEC_BYTES): unknown {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw specTooLarge(source, bytes, maxBytes);
  let spec: unknown;
  try {
    const doc = parseDocument(text, { schema: "core", uniqueKeys: true, prettyErrors: true });
    if (doc.errors.length > 0) {
      throw new SpecFileError(`${source} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join("\n")}`);
    }
    spec = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof SpecFileError) throw e;
    if (e instanceof RangeError)
      throw new SpecFileError(`${source} nests too deeply to be read\n  fix: a tailnet spec nests a few levels; check that this is the spec`);
    if (/alias/i.test((e as Error).message)) {
      throw new SpecFileError(
        `${source} expands YAML aliases more than ${MAX_YAML_ALIAS_COUNT} times (an alias bomb); nothing was parsed\n  fix: write the repeated parts out, or use fewer aliases`,
      );
    }
    throw new SpecFileError(`${source} is not valid YAML: ${(e as Error).message}`);
  }
  return markSpecFromText(spec);
}
