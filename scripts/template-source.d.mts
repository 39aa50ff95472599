/** Compile options of every template. */
export const templateOptions: { strict: boolean; noEscape: boolean };
export const templatesDir: string;
export const compiledPath: string;
/** The text of render/templates.compiled.ts for the templates now in templates/. */
export function generateCompiledTemplates(): string;
