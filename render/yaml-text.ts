/**
 * One YAML serialisation for every rendered file: block style, string values double-quoted (so
 * nothing a Go YAML decoder reads is mistaken for a number, a boolean or a YAML 1.1 oddity),
 * integers and booleans plain, keys plain.
 */
import { Document } from "yaml";

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
