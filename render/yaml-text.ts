/**
 * One YAML serialisation for every rendered file: block style, string values double-quoted (so
 * nothing a Go YAML decoder reads is mistaken for a number, a boolean or a YAML 1.1 oddity),
 * integers and booleans plain, keys plain where that reads back as the same string.
 *
 * Written out rather than delegated to the `yaml` package: the kit only serialises plain data
 * (objects, Maps with integer keys, arrays, strings, numbers, booleans, null, and block literals
 * for file contents), and loading and warming a general YAML library cost ~10 ms of every synth.
 * A test pins this emitter byte for byte against the `yaml` package on the kit's files and on
 * random data; the one deliberate difference is that a multi-line string outside a block literal
 * stays on one line with `\n` escapes instead of being folded. Scalars and comments go through
 * escape/yaml.ts, so no value (whatever line breaks of YAML 1.1 or 1.2 it holds) and no comment
 * can end a line early.
 */

import { fitsBlockLiteral, yamlCommentLines, yamlDoubleQuoted } from "./escape/yaml.js";

/** A string written as a YAML block literal (`|`), for file contents embedded in YAML. */
export class BlockLiteral {
  constructor(readonly text: string) {}
}

const PLAIN_KEY = /^[A-Za-z_/][\w./-]*$/;
// Plain scalars that YAML 1.2's core schema (and YAML 1.1 readers) would not read back as the same string.
const RESERVED_KEY =
  /^(?:null|Null|NULL|~|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN)$/;

function key(k: string | number): string {
  if (typeof k === "number") {
    if (!Number.isSafeInteger(k)) throw new Error(`cdktf-tailnet: YAML map key ${k} is not an integer`);
    return String(k);
  }
  return PLAIN_KEY.test(k) && !RESERVED_KEY.test(k) ? k : quoted(k);
}

function quoted(s: string): string {
  return yamlDoubleQuoted(s);
}

function scalar(value: unknown): string | undefined {
  if (value === null) return "null";
  if (typeof value === "string") return quoted(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cdktf-tailnet: cannot write ${value} to YAML`);
    return String(value);
  }
  return undefined;
}

function entries(value: object): [string | number, unknown][] {
  const list: [string | number, unknown][] = value instanceof Map ? [...value] : Object.entries(value);
  return list.filter(([, v]) => v !== undefined);
}

function isCollection(value: unknown): value is object {
  return typeof value === "object" && value !== null && !(value instanceof BlockLiteral);
}

function isEmpty(value: object): boolean {
  return Array.isArray(value) ? value.length === 0 : entries(value).length === 0;
}

function blockLiteral(text: string, indent: string): string {
  // Nothing but line breaks, a character a block literal cannot hold as it is (see
  // fitsBlockLiteral), or no indentation to set it apart: a double-quoted scalar says it exactly.
  if (/^\n*$/.test(text) || !fitsBlockLiteral(text) || indent === "") return `${quoted(text)}\n`;
  const trailing = /\n*$/.exec(text)![0].length;
  const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
  // Readers guess the indentation from the first line that is not empty: when that line (or a
  // blank one before it) starts with a space, the indentation is stated instead.
  const indicator = /^\n* /.test(text) ? "2" : "";
  const body = trailing === 0 ? text : text.slice(0, -1);
  // Empty lines are bare, except a leading one, which carries the indent (as the yaml package writes it).
  const lines = body.split("\n").map((line, i) => (line === "" && i > 0 ? "" : indent + line));
  return `|${indicator}${chomp}\n${lines.join("\n")}\n`;
}

/** The value after `key:` or `- `, with its newline; `indent` is the indent of its own children. */
function node(value: unknown, indent: string): string {
  if (value instanceof BlockLiteral) return ` ${blockLiteral(value.text, indent)}`;
  const plain = scalar(value);
  if (plain !== undefined) return ` ${plain}\n`;
  if (!isCollection(value)) throw new Error(`cdktf-tailnet: cannot write a ${typeof value} to YAML`);
  if (isEmpty(value)) return Array.isArray(value) ? " []\n" : " {}\n";
  return `\n${collection(value, indent)}`;
}

function collection(value: object, indent: string): string {
  let out = "";
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item) && !isEmpty(item)) {
        // The first line of a nested collection goes on the dash's line.
        out += `${indent}-${collection(item, `${indent}  `).replace(/^ */, " ")}`;
      } else {
        out += `${indent}-${node(item === undefined ? null : item, `${indent}  `)}`;
      }
    }
    return out;
  }
  for (const [k, v] of entries(value)) out += `${indent + key(k)}:${node(v, `${indent}  `)}`;
  return out;
}

/**
 * Serialises `value`: objects and Maps (Maps keep integer keys as unquoted integers), arrays,
 * strings (double-quoted), numbers, booleans, null and {@link BlockLiteral}s. Undefined
 * properties are left out. `header` becomes `#` comment lines (split at every line break YAML 1.1
 * or 1.2 knows), then a blank line.
 */
export function toYaml(value: unknown, header?: string): string {
  const head = header
    ? `${yamlCommentLines(header)
        .map((line) => `#${line}`)
        .join("\n")}\n\n`
    : "";
  if (isCollection(value) && !isEmpty(value)) return head + collection(value, "");
  return head + node(value, "").slice(1);
}
