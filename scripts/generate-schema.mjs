// Generates schema/tailnet.schema.json and docs/spec-reference.md from the TypeScript spec
// (model/spec.ts), the one source of the spec's shape. Run with `npm run schema`; a test fails
// when either committed file is stale.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generateSpecReference, generateTailnetSchema } from "./schema-source.mjs";

const schemaPath = fileURLToPath(new URL("../schema/tailnet.schema.json", import.meta.url));
const referencePath = fileURLToPath(new URL("../docs/spec-reference.md", import.meta.url));
const schema = generateTailnetSchema();
writeFileSync(schemaPath, schema);
mkdirSync(fileURLToPath(new URL("../docs", import.meta.url)), { recursive: true });
writeFileSync(referencePath, generateSpecReference(schema));
console.log(`wrote ${schemaPath}\nwrote ${referencePath}`);
