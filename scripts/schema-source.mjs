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

/** A readable type for a schema node: `string`, `DerpNodeSpec[]`, `"drop" \| "keep"`. */
function typeText(node) {
  if (node.$ref) return `[${node.$ref.split("/").pop()}](#${node.$ref.split("/").pop().toLowerCase()})`;
  if (node.anyOf) return node.anyOf.map(typeText).join(" \\| ");
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((e) => `\`${JSON.stringify(e)}\``).join(" \\| ");
  if (node.type === "array") return `${typeText(node.items ?? {})}[]`;
  if (node.type === "object" && node.additionalProperties && typeof node.additionalProperties === "object") return `map of ${typeText(node.additionalProperties)}`;
  if (node.type === "object" && node.properties) return `{ ${Object.keys(node.properties).join(", ")} }`;
  return [node.type ?? "any"].flat().join(" \\| ");
}

function cell(text) {
  return String(text ?? "").replace(/\n+/g, " ").replace(/\|/g, "\\|");
}

/** The spec reference (docs/spec-reference.md), generated from the same schema. */
export function generateSpecReference(schemaText = generateTailnetSchema()) {
  const schema = JSON.parse(schemaText);
  const out = [
    "# Spec reference",
    "",
    "Generated from `model/spec.ts` by `npm run schema`; do not edit by hand. Every field of `tailnet.yaml`",
    "(or of a `TailnetSpec` object), with its type, default and meaning. Unknown keys are errors.",
    "",
  ];
  for (const [name, def] of Object.entries(schema.definitions)) {
    out.push(`## ${name}`, "");
    if (def.description) out.push(cell(def.description), "");
    if (def.anyOf) {
      out.push(`One of: ${typeText(def)}`, "");
      continue;
    }
    const required = new Set(def.required ?? []);
    out.push("| field | type | required | default | description |", "| --- | --- | --- | --- | --- |");
    for (const [field, prop] of Object.entries(def.properties ?? {})) {
      const [description, defaultText] = (prop.description ?? "").split("\n\nDefault: ");
      const dflt = prop.default !== undefined ? `\`${JSON.stringify(prop.default)}\`` : (defaultText ?? "");
      out.push(`| \`${field}\` | ${typeText(prop)} | ${required.has(field) ? "yes" : ""} | ${cell(dflt)} | ${cell(description)} |`);
    }
    out.push("");
  }
  return `${out.join("\n").trimEnd()}\n`;
}
