// The JSON Schema of tailnet.yaml, generated from model/spec.ts with ts-json-schema-generator.
import { createGenerator } from "ts-json-schema-generator";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** @returns {string} the schema as stable, pretty JSON with a trailing newline */
export function generateTailnetSchema() {
  const schema = createGenerator({
    path: `${root}model/spec.ts`,
    tsconfig: `${root}tsconfig.json`,
    type: "TailnetSpec",
    expose: "export",
    topRef: true,
    jsDoc: "extended",
    sortProps: true,
    strictTuples: true,
    additionalProperties: false,
    skipTypeCheck: true,
  }).createSchema("TailnetSpec");
  tidyDefaults(schema);
  schema.$id = "https://cdktf-tailnet.dev/schema/tailnet.schema.json";
  schema.title = "cdktf-tailnet spec (tailnet.yaml)";
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * TSDoc `@default` holds either a value or a sentence ("- none", "true when ..."). Only values
 * belong in JSON Schema's `default`; sentences move into the description, where editors show them.
 */
function tidyDefaults(node) {
  if (Array.isArray(node)) return node.forEach(tidyDefaults);
  if (node === null || typeof node !== "object") return;
  if ("default" in node && !defaultFitsType(node)) {
    const text = String(node.default).replace(/^- /, "").replace(/\s+/g, " ");
    node.description = `${node.description ?? ""}\n\nDefault: ${text}`.trim();
    delete node.default;
  }
  for (const value of Object.values(node)) tidyDefaults(value);
}

function defaultFitsType(node) {
  const value = node.default;
  if (typeof value === "string" && (value.startsWith("- ") || value.includes('"'))) return false;
  const types = [node.type ?? []].flat();
  if (types.length === 0) return typeof value !== "string"; // $ref or union: only structured values
  const kind = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  return types.some((t) => t === kind || (t === "integer" && kind === "number"));
}
