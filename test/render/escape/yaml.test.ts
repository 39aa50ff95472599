/**
 * escape/yaml.ts and render/yaml-text.ts against the readers that matter: PyYAML (YAML 1.1,
 * cloud-init's parser, which also breaks lines at U+0085, U+2028 and U+2029) and the `yaml`
 * package (YAML 1.2, as Go's yaml.v3 reads headscale's files). Every string, as a value, a key,
 * a block literal or a comment, reads back as itself, and the document keeps its keys.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type * as YamlModule from "yaml";
import { fitsBlockLiteral, yamlCommentLines, yamlDoubleQuoted } from "../../../render/escape/yaml.js";
import { BlockLiteral, toYaml } from "../../../render/yaml-text.js";
import { hasCommand } from "../../support/commands.js";
import { hostileStrings } from "../../support/hostile-text.js";
import { pyYaml, pyYamlEach } from "../../support/read-back.js";

const yaml = createRequire(import.meta.url)("yaml") as typeof YamlModule;
const strings = [
  ...hostileStrings(400, 41),
  "",
  "\n",
  " lead",
  "\n  indented after a blank line\nx\n",
  "   \nx\n",
  "x\n  \n",
  "\t tab",
  "\x85",
  "\u2028bootcmd: [id]",
  "\ufeff",
  "\ufffe\uffff",
  "\x00\x08\x7f\x9f",
];
const py = hasCommand("python3") && pyYaml("a: 1").value !== undefined;

describe("yamlDoubleQuoted", () => {
  it("escapes the line breaks JSON leaves raw (U+0085, U+2028, U+2029) and every non-printable character", () => {
    expect(yamlDoubleQuoted("a\u2028b\u2029c\u0085d")).toBe('"a\\u2028b\\u2029c\\u0085d"');
    expect(yamlDoubleQuoted("\x7f\ufeff\uffff")).toBe('"\\u007f\\ufeff\\uffff"');
    expect(yamlDoubleQuoted('plain "quoted" \\ ünïcode 😀')).toBe(JSON.stringify('plain "quoted" \\ ünïcode 😀'));
  });

  it.skipIf(!py)("every string reads back as itself in PyYAML (YAML 1.1) and the yaml package (YAML 1.2), as a value and as a key", () => {
    const doc = Object.fromEntries(strings.map((s, i) => [`k${i}`, s]));
    const keyed = Object.fromEntries(strings.map((s, i) => [`${s}#${i}`, i]));
    for (const value of [doc, keyed, { list: strings }]) {
      const text = toYaml(value);
      expect(pyYaml(text).value).toEqual(value);
      expect(yaml.parse(text, { version: "1.2" })).toEqual(value);
      expect(yaml.parse(text, { version: "1.1" })).toEqual(value);
    }
  });
});

describe("block literals", () => {
  it("are used only for text they can hold as it is", () => {
    expect(fitsBlockLiteral("#!/bin/sh\necho 'ok'\n\tindented\n")).toBe(true);
    for (const bad of ["a\rb", "a\u2028b", "a\u2029b", "a\x85b", "a\x00b", "\ufeff", "a\x1bb"]) expect(fitsBlockLiteral(bad), JSON.stringify(bad)).toBe(false);
    expect(toYaml({ f: new BlockLiteral("x\u2028bootcmd: [id]\n") })).toBe('f: "x\\u2028bootcmd: [id]\\n"\n');
    expect(toYaml({ f: new BlockLiteral("\n  x\n") })).toBe("f: |2\n  \n    x\n");
  });

  it.skipIf(!py)("every text reads back as itself, in a map and in a list, and the document keeps its keys", () => {
    const value = { files: strings.map((s, i) => ({ path: `/p${i}`, content: new BlockLiteral(s) })), after: "end" };
    const expected = { files: strings.map((s, i) => ({ path: `/p${i}`, content: s })), after: "end" };
    const text = toYaml(value);
    expect(pyYaml(text).value).toEqual(expected);
    expect(yaml.parse(text)).toEqual(expected);
    const listed = { l: strings.map((s) => new BlockLiteral(s)) };
    expect(pyYaml(toYaml(listed)).value).toEqual({ l: strings });
  });
});

describe("comments", () => {
  it("split at every line break YAML 1.1 or 1.2 knows, non-printables shown as escapes", () => {
    expect(yamlCommentLines("a\r\nb\rc\nd\u0085e\u2028f\u2029g")).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    expect(yamlCommentLines("x\x01\x7f\ufeffy")).toEqual(["x\\u0001\\u007f\\ufeffy"]);
  });

  it.skipIf(!py)("a header of any text stays comments: the document is the same with or without it", () => {
    const texts = strings.map((s) => toYaml({ a: 1, b: ["x"] }, `cloud-config\n ${s}`));
    const read = pyYamlEach(texts);
    texts.forEach((text, i) => {
      expect(read[i]!.value, JSON.stringify(strings[i])).toEqual({ a: 1, b: ["x"] });
      expect(yaml.parse(text)).toEqual({ a: 1, b: ["x"] });
      expect(text.startsWith("#cloud-config\n")).toBe(true);
    });
  });

  it.skipIf(!py)("the check has teeth: for PyYAML a raw U+2028 ends a comment or a block literal line (a new key), and eats spaces in a quoted scalar", () => {
    expect(pyYaml("#x\u2028bootcmd: [id]\na: 1\n").value).toEqual({ bootcmd: ["id"], a: 1 });
    expect(pyYaml("a: |\n  x\u2028bootcmd: [id]\n").value).toEqual({ a: "x\u2028", bootcmd: ["id"] });
    expect(pyYaml('a: "x\u2028  y"\n').value).toEqual({ a: "x\u2028y" });
  });
});
