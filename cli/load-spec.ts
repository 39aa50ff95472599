/**
 * Reading a spec file: `tailnet.yaml` (or .yml/.json), or a TypeScript/JavaScript module whose
 * default export (or `spec` export) is the spec, or a function returning it.
 */
import { open, type FileHandle } from "node:fs/promises";
import { extname, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_MAX_SPEC_BYTES, MAX_SPEC_BYTES_ENV, parseTailnetYaml, SpecFileError, specTooLarge } from "../model/spec-text.js";
import { describeFileError, isFileError, type FileAction } from "./file-errors.js";

export { DEFAULT_MAX_SPEC_BYTES, MAX_SPEC_BYTES_ENV, MAX_YAML_ALIAS_COUNT, SpecFileError } from "../model/spec-text.js";

/** The limit in force: CDKTF_TAILNET_MAX_SPEC_BYTES when it is a positive whole number, else the default. */
export function maxSpecBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_SPEC_BYTES_ENV];
  return raw !== undefined && /^[1-9][0-9]{0,15}$/.test(raw.trim()) ? Number(raw.trim()) : DEFAULT_MAX_SPEC_BYTES;
}

/** parseTailnetYaml (model/spec-text.ts) with the limit in force (see maxSpecBytes). */
export function parseSpecYaml(text: string, source: string, maxBytes: number = maxSpecBytes()): unknown {
  return parseTailnetYaml(text, source, maxBytes);
}

const READ_SPEC: FileAction = {
  doing: "read the spec",
  access: "read",
  missingFix: "check the path (a spec is a tailnet.yaml, or a .ts/.js module exporting the spec)",
};

function cannotRead(file: string, e: unknown): SpecFileError {
  return new SpecFileError(isFileError(e) ? describeFileError(e, file, READ_SPEC) : `cannot read the spec ${file}: ${(e as Error).message}`);
}

/**
 * The spec file's text, at most `limit` bytes: a larger file (or one that only grows while it is
 * read, such as a device) is refused unread. A file error says in words what is wrong and the fix.
 */
async function readSpecText(file: string, limit: number = maxSpecBytes()): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (e) {
    throw cannotRead(file, e);
  }
  try {
    const { size } = await handle.stat();
    if (size > limit) throw specTooLarge(file, size, limit);
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) throw specTooLarge(file, `more than ${limit} bytes`, limit);
    return buffer.subarray(0, length).toString("utf8");
  } catch (e) {
    throw e instanceof SpecFileError ? e : cannotRead(file, e);
  } finally {
    await handle.close();
  }
}

async function loadYaml(file: string): Promise<unknown> {
  const limit = maxSpecBytes();
  return parseSpecYaml(await readSpecText(file, limit), file, limit);
}

async function loadModule(file: string): Promise<unknown> {
  await readSpecText(file); // a missing or unreadable module is reported like a YAML spec
  // tsx's cache of compiled modules would stay in the temp dir after the command.
  process.env.TSX_DISABLE_CACHE ??= "1";
  const url = pathToFileURL(file).href;
  const ext = extname(file);
  const mod: Record<string, unknown> =
    ext === ".ts" || ext === ".mts" || ext === ".cts" ? await (await import("tsx/esm/api")).tsImport(url, import.meta.url) : await import(url);
  // A .ts file outside an ESM package loads as CommonJS: its exports arrive wrapped in `default`.
  const wrapped = mod.default as Record<string, unknown> | undefined;
  const exports = wrapped && typeof wrapped === "object" && ("__esModule" in wrapped || "spec" in wrapped) ? wrapped : mod;
  const exported = exports.default ?? exports.spec;
  if (exported === undefined) {
    throw new SpecFileError(`${file} exports no spec: export it as the default export or as \`spec\``);
  }
  return typeof exported === "function" ? await (exported as () => unknown)() : exported;
}

/** Loads the spec at `path` (not yet validated). */
export async function loadSpecFile(path: string): Promise<unknown> {
  const file = resolvePath(path);
  switch (extname(file)) {
    case ".yaml":
    case ".yml":
    case ".json":
      return loadYaml(file);
    case ".ts":
    case ".mts":
    case ".cts":
    case ".js":
    case ".mjs":
    case ".cjs":
      return loadModule(file);
    default:
      throw new SpecFileError(`${path}: unknown spec file type; use tailnet.yaml, or a .ts/.js module exporting the spec`);
  }
}
