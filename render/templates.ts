/**
 * Handlebars templates from templates/, compiled once. Templates are for text artifacts
 * (Dockerfiles, units, scripts); YAML and JSON are built as objects and serialised instead.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { packageRoot } from "./package-root.js";

const compiled = new Map<string, Handlebars.TemplateDelegate>();

/** Renders templates/<name>.hbs with `data`. Missing values are errors, not empty strings. */
export function renderTemplate(name: string, data: object): string {
  let template = compiled.get(name);
  if (!template) {
    template = Handlebars.compile(readFileSync(join(packageRoot(), "templates", `${name}.hbs`), "utf8"), { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  return template(data);
}
