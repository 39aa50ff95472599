// Generates schema/tailnet.schema.json from the TypeScript spec (model/spec.ts), the one source of
// the spec's shape. Run with `npm run schema`; a test fails when the committed schema is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generateTailnetSchema } from "./schema-source.mjs";

const out = fileURLToPath(new URL("../schema/tailnet.schema.json", import.meta.url));
writeFileSync(out, generateTailnetSchema());
console.log(`wrote ${out}`);
