/**
 * One YAML serialisation for every rendered file: block style, string values double-quoted (so
 * nothing a Go YAML decoder reads is mistaken for a number, a boolean or a YAML 1.1 oddity),
 * integers and booleans plain, keys plain.
 */
import { createRequire } from "node:module";
import type * as YamlModule from "yaml";

// `yaml` is CommonJS under Node; require skips the export-name lexing an ESM import costs on
// every start (see constructs/providers.ts).
const yaml = createRequire(import.meta.url)("yaml") as typeof YamlModule;
const { Document } = yaml;

/** yaml's Scalar class, for the few places that choose a scalar style (block literals). */
export const Scalar: typeof YamlModule.Scalar = yaml.Scalar;

/** Serialises `value` (Maps keep their key types: integer keys stay unquoted integers). */
export function toYaml(value: unknown, header?: string): string {
  const doc = new Document(value, { keepUndefined: false });
  if (header) doc.commentBefore = header;
  return doc.toString({
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    lineWidth: 0,
    indentSeq: true,
  });
}
