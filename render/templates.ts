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

const partialNames = new Map<string, readonly string[]>();

function compile(name: string): HandlebarsModule.TemplateDelegate {
  let template = compiled.get(name);
  if (!template) {
    handlebars ??= createRequire(import.meta.url)("handlebars") as typeof HandlebarsModule;
    const text = readFileSync(join(packageRoot(), "templates", `${name}.hbs`), "utf8");
    template = handlebars.compile(text, { strict: true, noEscape: true });
    compiled.set(name, template);
    partialNames.set(name, [...new Set([...text.matchAll(/\{\{>\s*([\w.-]+)/g)].map((m) => m[1]!))]);
  }
  return template;
}

/** Partials a template uses, and theirs, compiled: `{{> name}}` is templates/<name>.hbs. */
function partialsOf(name: string, into: Record<string, HandlebarsModule.TemplateDelegate> = {}): Record<string, HandlebarsModule.TemplateDelegate> {
  compile(name);
  for (const p of partialNames.get(name) ?? []) {
    if (into[p]) continue;
    into[p] = compile(p);
    partialsOf(p, into);
  }
  return into;
}

/**
 * Renders templates/<name>.hbs with `data`. Missing values are errors, not empty strings.
 * `{{> other}}` includes templates/other.hbs, rendered with the same data.
 */
export function renderTemplate(name: string, data: object): string {
  const template = compile(name);
  return template(data, { partials: partialsOf(name) });
}
