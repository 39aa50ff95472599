import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import type * as HandlebarsModule from "handlebars";
import { describe, expect, it } from "vitest";
import { compiledPath, generateCompiledTemplates, templatesDir } from "../../scripts/template-source.mjs";
import { TEMPLATE_HELPERS, TRANSFORM_HELPERS, helperWrites, templateFormat } from "../../render/template-helpers.js";
import { renderTemplate } from "../../render/templates.js";

const Handlebars = createRequire(import.meta.url)("handlebars") as typeof HandlebarsModule;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Handlebars AST nodes, walked generically
type Node = Record<string, any>;

const names = readdirSync(templatesDir)
  .filter((f) => f.endsWith(".hbs"))
  .map((f) => f.slice(0, -4))
  .sort();

/** Every mustache of template `name` (text `text`) that writes a value in a way its format's escapers do not vouch for. */
function unescapedMustaches(name: string, text = readFileSync(`${templatesDir}/${name}.hbs`, "utf8")): string[] {
  const format = templateFormat(name);
  const problems: string[] = [];
  const where = (n: Node) => `templates/${name}.hbs:${n.loc?.start.line}`;
  const params = (n: Node) => {
    for (const p of [...(n.params ?? []), ...(n.hash?.pairs ?? []).map((x: Node) => x.value)] as Node[]) {
      if (p.type !== "SubExpression") continue;
      const helper = (p.path as Node).original as string;
      if (!(helper in TEMPLATE_HELPERS)) problems.push(`${where(p)}: (${helper} ...) is no escaping helper`);
      else if (!TRANSFORM_HELPERS.includes(helper) && !helperWrites(helper, format))
        problems.push(`${where(p)}: (${helper} ...) does not escape for ${format}`);
      params(p);
    }
  };
  const visit = (n: Node | undefined): void => {
    if (!n) return;
    if (n.type === "MustacheStatement") {
      const helper = (n.path as Node).original as string;
      if (!n.escaped) problems.push(`${where(n)}: triple-stash {{{${helper}}}}`);
      if (n.params.length === 0) problems.push(`${where(n)}: {{${helper}}} writes a value raw; wrap it in an escaping helper`);
      else if (!helperWrites(helper, format)) problems.push(`${where(n)}: {{${helper} ...}} is not an escaper of ${format}`);
      params(n);
    }
    if (n.type === "BlockStatement") {
      params(n);
      visit(n.program);
      visit(n.inverse);
    }
    for (const child of (n.body ?? []) as Node[]) visit(child);
  };
  visit(Handlebars.parse(text) as Node);
  return problems;
}

describe("render/templates.compiled.ts", () => {
  it("is precompiled from templates/*.hbs and up to date (run `npm run generate` after editing a template)", () => {
    expect(generateCompiledTemplates()).toBe(readFileSync(compiledPath, "utf8"));
  });

  it("holds every template, and every partial a template includes", async () => {
    const { compiledTemplates } = await import("../../render/templates.compiled.js");
    expect(Object.keys(compiledTemplates).sort()).toEqual(names);
    for (const [name, t] of Object.entries(compiledTemplates)) for (const p of t.partials) expect(names, `${name} includes ${p}`).toContain(p);
    expect(compiledTemplates["headscale.service"]!.partials).toContain("systemd-hardening");
  });

  it("a missing value is an error naming the template and line, not an empty string", () => {
    expect(() => renderTemplate("derper.Dockerfile", {})).toThrow(
      'cdktf-tailnet: templates/derper.Dockerfile.hbs line 1: "comment" got a value that is not defined in the template\'s data',
    );
  });

  it("an unknown template names the fix", () => {
    expect(() => renderTemplate("no-such", {})).toThrow(
      "templates/no-such.hbs does not exist, or render/templates.compiled.ts is stale (run npm run generate)",
    );
  });
});

describe("templates write every value through an escaper of their format", () => {
  it("every template has a format, and every mustache is an escaping helper of it (no raw {{x}}, no {{{x}}})", () => {
    const formats = Object.fromEntries(names.map((n) => [n, templateFormat(n)]));
    expect(new Set(Object.values(formats))).toEqual(new Set(["systemd", "sh", "dockerfile", "nftables"]));
    expect(names.flatMap((n) => unescapedMustaches(n))).toEqual([]);
  });

  it("the scan catches a raw value, a triple-stash, another format's escaper and an unknown helper", () => {
    expect(unescapedMustaches("x.service", "Description={{description}}")).toEqual([
      "templates/x.service.hbs:1: {{description}} writes a value raw; wrap it in an escaping helper",
    ]);
    expect(unescapedMustaches("x.service", "Description={{{unitValue description}}}")).toEqual(["templates/x.service.hbs:1: triple-stash {{{unitValue}}}"]);
    expect(unescapedMustaches("x.service", "ExecStart={{sh program}}")).toEqual(["templates/x.service.hbs:1: {{sh ...}} is not an escaper of systemd"]);
    expect(unescapedMustaches("x.sh", "{{#each a}}\necho {{this}}\n{{/each}}")).toEqual([
      "templates/x.sh.hbs:2: {{this}} writes a value raw; wrap it in an escaping helper",
    ]);
    expect(unescapedMustaches("x.sh", "echo {{sh (shell x)}}")).toEqual(["templates/x.sh.hbs:1: (shell ...) is no escaping helper"]);
    expect(unescapedMustaches("x.sh", "echo {{sh (unitValue x)}}")).toEqual(["templates/x.sh.hbs:1: (unitValue ...) does not escape for sh"]);
    expect(unescapedMustaches("x.sh", "echo {{sh x}} {{shWords (unitNames y)}} # {{comment y}} {{plain z}}")).toEqual([]);
  });

  it("a template of no known format is refused by name", () => {
    expect(() => templateFormat("notes.txt")).toThrow("templates/notes.txt.hbs has no known format");
  });
});
