import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compiledPath, generateCompiledTemplates, templatesDir } from "../../scripts/template-source.mjs";
import { renderTemplate } from "../../render/templates.js";

describe("render/templates.compiled.ts", () => {
  it("is precompiled from templates/*.hbs and up to date (run `npm run generate` after editing a template)", () => {
    expect(generateCompiledTemplates()).toBe(readFileSync(compiledPath, "utf8"));
  });

  it("holds every template, and every partial a template includes", async () => {
    const { compiledTemplates } = await import("../../render/templates.compiled.js");
    const names = readdirSync(templatesDir).filter((f) => f.endsWith(".hbs")).map((f) => f.slice(0, -4)).sort();
    expect(Object.keys(compiledTemplates).sort()).toEqual(names);
    for (const [name, t] of Object.entries(compiledTemplates)) for (const p of t.partials) expect(names, `${name} includes ${p}`).toContain(p);
    expect(compiledTemplates["headscale.service"]!.partials).toContain("systemd-hardening");
  });

  it("a missing value is an error naming it, not an empty string", () => {
    expect(() => renderTemplate("derper.Dockerfile", {})).toThrow(/"\w+" not defined/);
  });

  it("an unknown template names the fix", () => {
    expect(() => renderTemplate("no-such", {})).toThrow("templates/no-such.hbs does not exist, or render/templates.compiled.ts is stale (run npm run generate)");
  });
});
