/**
 * JSON and YAML documents as their parsers see them: the set of key paths with the type found
 * there (`dns.nameservers.split["home.arpa"][0]: str`). Keys come from the document (normalized
 * back to the baseline's value where a spec value is a key); string contents are left out.
 */
import { identity, type Normalize, type Structure } from "./types.js";

/** One leaf or container of a parsed document: its path (keys and indexes) and its type. */
export type TreeEntry = readonly [path: readonly (string | number)[], type: string];

function formatPath(path: readonly (string | number)[], normalize: Normalize): string {
  return path.map((step) => (typeof step === "number" ? `[${step}]` : `[${JSON.stringify(normalize(step))}]`)).join("") || "(root)";
}

/** The structure of a parsed document's entries. */
export function treeStructureOf(entries: readonly TreeEntry[], normalize: Normalize = identity): Structure {
  return { entries: entries.map(([path, type]) => `${formatPath(path, normalize)}: ${type}`).sort(), ordered: false };
}

/** The entries of a JavaScript value (parsed JSON), with Python's type names so JSON and YAML read alike. */
export function jsonEntries(value: unknown, path: (string | number)[] = [], out: TreeEntry[] = []): TreeEntry[] {
  if (Array.isArray(value)) {
    out.push([path, "list"]);
    value.forEach((v, i) => {
      jsonEntries(v, [...path, i], out);
    });
  } else if (value !== null && typeof value === "object") {
    out.push([path, "dict"]);
    for (const [k, v] of Object.entries(value)) jsonEntries(v, [...path, k], out);
  } else {
    const type =
      value === null ? "NoneType" : typeof value === "string" ? "str" : typeof value === "boolean" ? "bool" : Number.isInteger(value) ? "int" : "float";
    out.push([path, type]);
  }
  return out;
}

/** The structure of a JSON text (parsed in-process: JSON has one parser's worth of ambiguity). */
export function jsonStructure(text: string, normalize: Normalize = identity): Structure {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: (e as Error).message };
  }
  return treeStructureOf(jsonEntries(value), normalize);
}
