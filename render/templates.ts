/**
 * Handlebars templates from templates/, precompiled at development time into
 * templates.compiled.ts (`npm run generate`; a test fails when it is stale), so rendering loads
 * only Handlebars' small runtime, never its parser or compiler. Templates are for text artifacts
 * (Dockerfiles, units, scripts); YAML and JSON are built as objects and serialised instead.
 * Templates get raw values and write each through the escaping helper of their format
 * (template-helpers.ts).
 */
import type HandlebarsModule from "handlebars";
import runtime from "handlebars/runtime.js";
import { handlebarsHelpers } from "./template-helpers.js";
import { compiledTemplates } from "./templates.compiled.js";

type Runtime = Pick<typeof HandlebarsModule, "template" | "create" | "registerHelper">;
type Template = HandlebarsModule.TemplateDelegate;

/** A Handlebars environment of the kit's own, with the escaping helpers (template-helpers.ts) and nothing else. */
const env: Runtime = runtime.create();
for (const [name, helper] of Object.entries(handlebarsHelpers())) env.registerHelper(name, helper);

const templates = new Map<string, Template>();
const partialSets = new Map<string, Record<string, Template>>();

function template(name: string): Template {
  let t = templates.get(name);
  if (!t) {
    const compiled = compiledTemplates[name];
    if (!compiled)
      throw new Error(`no template ${name}: templates/${name}.hbs does not exist, or render/templates.compiled.ts is stale (run npm run generate)`);
    t = env.template(compiled.spec as Parameters<Runtime["template"]>[0]);
    templates.set(name, t);
  }
  return t;
}

/** Partials a template uses, and theirs: `{{> name}}` is templates/<name>.hbs. */
function partialsOf(name: string): Record<string, Template> {
  let into = partialSets.get(name);
  if (!into) {
    into = {};
    const pending = [...(compiledTemplates[name]?.partials ?? [])];
    for (let p = pending.shift(); p !== undefined; p = pending.shift()) {
      if (into[p]) continue;
      into[p] = template(p);
      pending.push(...(compiledTemplates[p]?.partials ?? []));
    }
    partialSets.set(name, into);
  }
  return into;
}

/**
 * Renders templates/<name>.hbs with `data`. Missing values are errors, not empty strings.
 * `{{> other}}` includes templates/other.hbs, rendered with the same data.
 */
export function renderTemplate(name: string, data: object): string {
  return template(name)(data, { partials: partialsOf(name), data: { template: name } });
}
