/** The JSON Schema of tailnet.yaml as text, generated from model/spec.ts. */
export function generateTailnetSchema(): string;
/** The markdown spec reference, generated from the schema. */
export function generateSpecReference(schemaText?: string): string;
