/**
 * Reading a spec file: `tailnet.yaml` (or .yml/.json), or a TypeScript/JavaScript module whose
 * default export (or `spec` export) is the spec, or a function returning it.
 */
import { readFile } from "node:fs/promises";
import { extname, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { parseDocument } from "yaml";
import { describeFileError, isFileError, type FileAction } from "./file-errors.js";

/** A spec file that could not be read or parsed; the message names the file and the place. */
export class SpecFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpecFileError";
  }
}

/**
 * Parses spec YAML (not yet validated). YAML 1.2 core schema: `no`, `on`, `0770` stay strings or
 * decimal numbers as written, and a duplicated key is an error instead of a silent overwrite.
 * `source` names the text in errors.
 */
export function parseSpecYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { schema: "core", uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new SpecFileError(`${source} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join("\n")}`);
  }
  return doc.toJS();
}

const READ_SPEC: FileAction = { doing: "read the spec", access: "read", missingFix: "check the path (a spec is a tailnet.yaml, or a .ts/.js module exporting the spec)" };

/** The spec file's text; a file error says in words what is wrong and the fix. */
async function readSpecText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new SpecFileError(isFileError(e) ? describeFileError(e, file, READ_SPEC) : `cannot read the spec ${file}: ${(e as Error).message}`);
  }
}

async function loadYaml(file: string): Promise<unknown> {
  return parseSpecYaml(await readSpecText(file), file);
}

async function loadModule(file: string): Promise<unknown> {
  await readSpecText(file); // a missing or unreadable module is reported like a YAML spec
  // tsx's cache of compiled modules would stay in the temp dir after the command.
  process.env.TSX_DISABLE_CACHE ??= "1";
  const url = pathToFileURL(file).href;
  const ext = extname(file);
  const mod: Record<string, unknown> =
    ext === ".ts" || ext === ".mts" || ext === ".cts"
      ? await (await import("tsx/esm/api")).tsImport(url, import.meta.url)
      : await import(url);
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
