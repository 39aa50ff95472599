// Writes render/templates.compiled.ts from templates/*.hbs. Run with `npm run generate` after
// editing a template; a test fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import { compiledPath, generateCompiledTemplates } from "./template-source.mjs";

writeFileSync(compiledPath, generateCompiledTemplates());
console.log(`wrote ${compiledPath}`);
