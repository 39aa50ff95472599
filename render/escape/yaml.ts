/**
 * YAML text, read the same by YAML 1.2 readers (Go's yaml.v3, the `yaml` package) and YAML 1.1
 * readers (PyYAML, which cloud-init uses). YAML 1.1 also breaks lines at U+0085 (NEL), U+2028 and
 * U+2029, and every YAML reader refuses a document with a non-printable character in it, even
 * inside a comment.
 *
 * - {@link yamlDoubleQuoted}: a double-quoted scalar with every line break and non-printable
 *   character escaped.
 * - {@link fitsBlockLiteral}: whether text can be a `|` block literal as it is (else the writer
 *   falls back to a double-quoted scalar): no line break other than \n, nothing non-printable,
 *   and no line of only spaces and tabs (PyYAML and the `yaml` package read those differently).
 * - {@link yamlCommentLines}: comment text split at every line break either version knows, each
 *   line with non-printable characters shown as escapes.
 */

/**
 * Characters JSON leaves raw that YAML must not see raw: DEL and the C1 controls (U+0085 among
 * them), the line and paragraph separators, the byte-order mark and the two non-characters.
 */
const RAW_IN_JSON_NOT_YAML = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

function hex4(c: string): string {
  return c.charCodeAt(0).toString(16).padStart(4, "0");
}

/** `text` as a YAML double-quoted scalar that every YAML reader reads back as `text`. */
export function yamlDoubleQuoted(text: string): string {
  // A JSON string is a YAML double-quoted scalar; JSON escapes the C0 controls, `"` and `\`.
  return JSON.stringify(text).replace(RAW_IN_JSON_NOT_YAML, (c) => `\\u${hex4(c)}`);
}

/** Line breaks of YAML 1.2 (\n, \r) and YAML 1.1 (also U+0085, U+2028, U+2029). */
const ANY_LINE_BREAK = /\r\n|[\n\r\u0085\u2028\u2029]/;
/** What a block literal cannot hold as it is: a line break other than \n, and non-printable characters (tab and \n are fine). */
const NOT_FOR_BLOCK_LITERAL =
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A line of nothing but spaces and tabs: readers disagree on whether it is content or an empty line. */
const BLANK_LINE = /(^|\n)[ \t]+(\n|$)/;

/** Whether `text` can be written as a block literal, every line of it read back as it is by every reader. */
export function fitsBlockLiteral(text: string): boolean {
  return !NOT_FOR_BLOCK_LITERAL.test(text) && !BLANK_LINE.test(text);
}

const NOT_PRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]/g;

/** Comment text as lines (without `#`): split at every line break, non-printable characters as `\uXXXX`. */
export function yamlCommentLines(text: string): string[] {
  return text.split(ANY_LINE_BREAK).map((line) => line.replace(NOT_PRINTABLE, (c) => `\\u${hex4(c)}`));
}
