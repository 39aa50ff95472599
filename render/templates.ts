/**
 * Handlebars templates from templates/, compiled once. Templates are for text artifacts
 * (Dockerfiles, units, scripts); YAML and JSON are built as objects and serialised instead.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import type HandlebarsModule from "handlebars";
import { packageRoot } from "./package-root.js";

// CommonJS, required rather than imported (see constructs/providers.ts); loaded on first use.
let handlebars: typeof HandlebarsModule | undefined;
const compiled = new Map<string, HandlebarsModule.TemplateDelegate>();

/** Renders templates/<name>.hbs with `data`. Missing values are errors, not empty strings. */
export function renderTemplate(name: string, data: object): string {
  let template = compiled.get(name);
  if (!template) {
    handlebars ??= createRequire(import.meta.url)("handlebars") as typeof HandlebarsModule;
    template = handlebars.compile(readFileSync(join(packageRoot(), "templates", `${name}.hbs`), "utf8"), { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  return template(data);
}
