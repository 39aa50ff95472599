// The JSON Schema of tailnet.yaml, generated from model/spec.ts with ts-json-schema-generator.
// Imports TypeScript (the grammars), so it runs under tsx (`npm run schema`) or vitest.
import { createGenerator } from "ts-json-schema-generator";
import { fileURLToPath } from "node:url";
import { GRAMMARS, fieldGrammar } from "../model/grammar.ts";

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
    extraTags: ["grammar", "keyGrammar"],
  }).createSchema("TailnetSpec");
  tidyDefaults(schema);
  applyGrammars(schema);
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

/** The nodes a `@grammar` on `node` governs: the strings in it, through arrays and map values. */
function stringTargets(node) {
  if (node.anyOf) return node.anyOf.flatMap((b) => (b.$ref || b.const !== undefined || b.enum ? [] : stringTargets(b)));
  if ([node.type].flat().includes("string") && node.const === undefined && !node.enum) return [node];
  if (node.type === "array" && node.items) return stringTargets(node.items);
  if (node.type === "object" && typeof node.additionalProperties === "object") return stringTargets(node.additionalProperties);
  return [];
}

function grammarSentence(text) {
  const field = fieldGrammar(text);
  const parts = field.grammars.map((g) => `${g.title} (${g.description})`);
  return [
    parts.join(" or "),
    ...field.literals.map((l) => (l === "" ? "empty" : JSON.stringify(l))),
    ...(field.tokens ? ["with Terraform tokens for the value or its host (TypeScript specs only)"] : []),
  ].join(", or ");
}

/**
 * Expands `@grammar` (every string of the field) and `@keyGrammar` (a map's keys) into JSON
 * Schema's `pattern`, `maxLength` and `propertyNames`, and names the grammar in the description.
 * Every string in the schema must have one: a field without fails the generation.
 */
function applyGrammars(schema) {
  const walk = (node, where) => {
    if (Array.isArray(node))
      return node.forEach((n, i) => {
        walk(n, `${where}[${i}]`);
      });
    if (node === null || typeof node !== "object") return;
    const notes = [];
    if (node.keyGrammar !== undefined) {
      if (typeof node.additionalProperties !== "object") throw new Error(`${where}: @keyGrammar on something that is not a map`);
      const field = fieldGrammar(node.keyGrammar);
      node.propertyNames = { grammar: node.keyGrammar, pattern: field.pattern, maxLength: field.maxLength };
      notes.push(`Keys: ${grammarSentence(node.keyGrammar)}.`);
      delete node.keyGrammar;
    }
    if (node.grammar !== undefined && node.pattern === undefined) {
      const text = node.grammar;
      const targets = stringTargets(node);
      if (targets.length === 0) throw new Error(`${where}: @grammar ${text} on something without strings`);
      delete node.grammar;
      for (const target of targets) {
        const field = fieldGrammar(text);
        Object.assign(target, { grammar: text, pattern: field.pattern, maxLength: field.maxLength });
      }
      notes.push(`${notes.length > 0 ? "Values" : "Grammar"}: ${grammarSentence(text)}.`);
    }
    if (notes.length > 0) node.description = [node.description, ...notes].filter(Boolean).join("\n\n");
    for (const [key, value] of Object.entries(node)) if (key !== "propertyNames") walk(value, `${where}.${key}`);
  };
  walk(schema.definitions, "");
  const missing = [];
  const check = (node, where) => {
    if (Array.isArray(node))
      return node.forEach((n, i) => {
        check(n, `${where}[${i}]`);
      });
    if (node === null || typeof node !== "object") return;
    if ([node.type].flat().includes("string") && node.const === undefined && !node.enum && node.grammar === undefined) missing.push(where);
    if (node.type === "object" && typeof node.additionalProperties === "object" && !node.propertyNames) missing.push(`${where} (keys)`);
    for (const [key, value] of Object.entries(node)) if (key !== "propertyNames") check(value, `${where}.${key}`);
  };
  check(schema.definitions, "");
  if (missing.length > 0) throw new Error(`model/spec.ts: every string needs a @grammar (and every map a @keyGrammar); missing at:\n  ${missing.join("\n  ")}`);
}

/** The grammar of a string node, as a docs link list: `[identifier](#identifier)`. */
function grammarLinks(text) {
  const field = fieldGrammar(text);
  return [
    ...field.grammars.map((g) => `[${g.name}](#${g.name.toLowerCase()})`),
    ...field.literals.map((l) => `\`${JSON.stringify(l)}\``),
    ...(field.tokens ? ["token"] : []),
  ].join(" or ");
}

/** The grammars a field's strings follow, for the docs' type column. */
function grammarText(node) {
  if (node.grammar) return grammarLinks(node.grammar);
  if (node.anyOf) return node.anyOf.map(grammarText).filter(Boolean).join("; ");
  if (node.type === "array" && node.items) return grammarText(node.items);
  if (node.type === "object" && typeof node.additionalProperties === "object") {
    const values = grammarText(node.additionalProperties);
    return [node.propertyNames?.grammar ? `keys: ${grammarLinks(node.propertyNames.grammar)}` : "", values ? `values: ${values}` : ""]
      .filter(Boolean)
      .join("; ");
  }
  return "";
}

/** A readable type for a schema node: `string`, `DerpNodeSpec[]`, `"drop" \| "keep"`. */
function typeText(node) {
  if (node.$ref) return `[${node.$ref.split("/").pop()}](#${node.$ref.split("/").pop().toLowerCase()})`;
  if (node.anyOf) return node.anyOf.map(typeText).join(" \\| ");
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((e) => `\`${JSON.stringify(e)}\``).join(" \\| ");
  if (node.type === "array") return `${typeText(node.items ?? {})}[]`;
  if (node.type === "object" && node.additionalProperties && typeof node.additionalProperties === "object")
    return `map of ${typeText(node.additionalProperties)}`;
  if (node.type === "object" && node.properties) return `{ ${Object.keys(node.properties).join(", ")} }`;
  return [node.type ?? "any"].flat().join(" \\| ");
}

function cell(text) {
  return String(text ?? "")
    .replace(/\n+/g, " ")
    .replace(/\|/g, "\\|");
}

/** The spec reference (docs/spec-reference.md), generated from the same schema. */
export function generateSpecReference(schemaText = generateTailnetSchema()) {
  const schema = JSON.parse(schemaText);
  const out = [
    "# Spec reference",
    "",
    "Generated from `model/spec.ts` by `npm run schema`; do not edit by hand. Every field of `tailnet.yaml`",
    "(or of a `TailnetSpec` object), with its type, default and meaning. Unknown keys are errors. Every",
    "string follows the grammar named in its type (see [Grammars](#grammars)); a value outside it is refused.",
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
      const paragraphs = (prop.description ?? "").split("\n\n");
      const defaultText = paragraphs.find((p) => p.startsWith("Default: "))?.slice("Default: ".length);
      const description = paragraphs.filter((p) => !/^(Default|Grammar|Keys|Values): /.test(p)).join("\n\n");
      const dflt = prop.default !== undefined ? `\`${JSON.stringify(prop.default)}\`` : (defaultText ?? "");
      const grammar = grammarText(prop);
      out.push(
        `| \`${field}\` | ${typeText(prop)}${grammar ? ` (${grammar})` : ""} | ${required.has(field) ? "yes" : ""} | ${cell(dflt)} | ${cell(description)} |`,
      );
    }
    out.push("");
  }
  out.push(
    "## Grammars",
    "",
    "Every string of the spec follows one of these (stated once, in `model/grammar.ts`). None admits a line",
    "break of any YAML version, a control character, or a Terraform interpolation (`${`, `%{`). Terraform",
    "tokens are accepted only where a field says so, and only in a spec written in TypeScript with cdktf.",
    "",
  );
  for (const g of Object.values(GRAMMARS)) {
    out.push(
      `### ${g.name}`,
      "",
      `${cell(g.title[0].toUpperCase() + g.title.slice(1))}: ${cell(g.description)}. At most ${g.maxLength} characters.`,
      "",
      `Pattern: \`^(?:${g.pattern})$\``,
      "",
    );
  }
  return `${out.join("\n").trimEnd()}\n`;
}
