/**
 * The string fields of the spec, read from schema/tailnet.schema.json: every property, array item,
 * map value and map key whose schema admits a string, in every branch of every union.
 *
 * A field is named by a pattern that abstracts over indexes and map keys, e.g.
 * `derp.regions[].nodes[].certificate{mode=dns-01}.provider{type=rfc2136}.nameserver`:
 * - `.name` a property, `[]` an array item, `.*` a map value, `{key}` a map key;
 * - `{tag=value}` the object branch of a union chosen by its discriminator (`(Name)` when the branch
 *   has none: its definition's name). String branches of a union are the field itself.
 * {@link stringFieldPatterns} lists every pattern of the schema; {@link stringFieldsOf} finds the
 * concrete instances of patterns in a spec, with the path to set a value at.
 */
import { joinPath } from "../../model/issues.js";

/** The subset of JSON Schema the generated schema uses. */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  definitions?: Record<string, Schema>;
}

/** One step of a concrete path into a spec: a property or map entry, an index, or a map key itself. */
export type PathStep = string | number | { readonly key: string };

/** A string at a concrete place in a spec. */
export interface StringField {
  /** The field's pattern, e.g. `hosts[].vm.derper{source=url}.url`. */
  readonly pattern: string;
  /** Where it is: the steps to it (the last one `{ key }` for a map key). */
  readonly steps: readonly PathStep[];
  /** The value there now (for a map key, the key). */
  readonly value: string;
}

/** Resolves `$ref`s (and merges `allOf`) against the root's definitions. */
export function deref(root: Schema, schema: Schema): Schema {
  let s = schema;
  for (let guard = 0; s.$ref; guard++) {
    if (guard > 50) throw new Error(`schema: $ref loop at ${schema.$ref}`);
    const name = s.$ref.replace("#/definitions/", "");
    const target = root.definitions?.[name];
    if (!target) throw new Error(`schema: unknown $ref ${s.$ref}`);
    const { $ref: _ref, ...rest } = s;
    s = { ...target, ...rest };
  }
  if (s.allOf) {
    const { allOf, ...rest } = s;
    return allOf.reduce<Schema>((acc, part) => ({ ...acc, ...deref(root, part) }), rest);
  }
  return s;
}

function typesOf(root: Schema, raw: Schema): string[] {
  const s = deref(root, raw);
  const branches = branchesOf(s);
  if (branches) return [...new Set(branches.flatMap((b) => typesOf(root, b)))];
  if (s.type !== undefined) return [s.type].flat();
  if (s.const !== undefined) return [typeof s.const];
  if (s.enum) return [...new Set(s.enum.map((e) => (e === null ? "null" : typeof e)))];
  if (s.properties || s.additionalProperties !== undefined) return ["object"];
  if (s.items) return ["array"];
  return [];
}

function branchesOf(s: Schema): Schema[] | undefined {
  return s.anyOf ?? s.oneOf;
}

/** The property whose `const` tells a union's object branches apart (`mode`, `type`, `source`). */
function discriminator(root: Schema, objects: Schema[]): string | undefined {
  if (objects.length < 2) return undefined;
  const props = (b: Schema) => deref(root, b).properties ?? {};
  return Object.keys(props(objects[0]!)).find((key) => objects.every((b) => deref(root, props(b)[key] ?? {}).const !== undefined));
}

/** The label of a union's object branch in a pattern. */
function branchLabel(root: Schema, raw: Schema, objects: Schema[]): string {
  const tag = discriminator(root, objects);
  const branch = deref(root, raw);
  if (tag) return `{${tag}=${String(deref(root, branch.properties![tag]!).const)}}`;
  if (raw.$ref) return `(${raw.$ref.replace("#/definitions/", "")})`;
  return `(#${objects.indexOf(raw)})`;
}

function objectBranches(root: Schema, branches: Schema[]): Schema[] {
  return branches.filter((b) => typesOf(root, b).includes("object"));
}

/** Every string-field pattern of the schema, sorted. */
export function stringFieldPatterns(root: Schema): string[] {
  const out = new Set<string>();
  const walk = (raw: Schema, pattern: string, depth: number): void => {
    if (depth > 40) throw new Error(`schema: too deep at ${pattern}`);
    const s = deref(root, raw);
    const branches = branchesOf(s);
    if (branches) {
      const objects = objectBranches(root, branches);
      for (const b of branches) {
        const d = deref(root, b);
        if (typesOf(root, d).includes("object") && objects.length > 1) walk(b, pattern + branchLabel(root, b, objects), depth + 1);
        else walk(b, pattern, depth + 1);
      }
      return;
    }
    const types = typesOf(root, s);
    if (types.includes("string")) out.add(pattern);
    if (types.includes("array") && s.items) walk(s.items, `${pattern}[]`, depth + 1);
    if (types.includes("object")) {
      for (const [name, child] of Object.entries(s.properties ?? {})) walk(child, pattern === "" ? name : `${pattern}.${name}`, depth + 1);
      if (typeof s.additionalProperties === "object") {
        out.add(`${pattern}{key}`);
        walk(s.additionalProperties, `${pattern}.*`, depth + 1);
      }
    }
  };
  walk(root, "", 0);
  return [...out].sort();
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "number" ? "number" : typeof value;
}

/** The branch of a union a value takes, or undefined when none fits its kind. */
function chooseBranch(root: Schema, branches: Schema[], value: unknown): Schema | undefined {
  const kind = kindOf(value);
  const fitting = branches.filter((b) => typesOf(root, b).some((t) => t === kind || (t === "integer" && kind === "number")));
  if (kind !== "object" || fitting.length < 2) return fitting[0];
  const obj = value as Record<string, unknown>;
  const tag = discriminator(root, fitting);
  if (tag) return fitting.find((b) => deref(root, deref(root, b).properties![tag]!).const === obj[tag]);
  return fitting.find((b) => {
    const d = deref(root, b);
    return (d.required ?? []).every((k) => k in obj) && Object.keys(obj).every((k) => k in (d.properties ?? {}));
  });
}

/** Every string in `spec` at a place the schema describes, with its pattern, in document order. */
export function stringFieldsOf(root: Schema, spec: unknown): StringField[] {
  const out: StringField[] = [];
  const walk = (raw: Schema, value: unknown, pattern: string, steps: PathStep[]): void => {
    const s = deref(root, raw);
    const branches = branchesOf(s);
    if (branches) {
      const branch = chooseBranch(root, branches, value);
      if (!branch) return;
      const objects = objectBranches(root, branches);
      const label = kindOf(value) === "object" && objects.length > 1 ? branchLabel(root, branch, objects) : "";
      walk(branch, value, pattern + label, steps);
      return;
    }
    if (typeof value === "string") {
      if (typesOf(root, s).includes("string")) out.push({ pattern, steps, value });
      return;
    }
    if (Array.isArray(value) && s.items) {
      value.forEach((item, i) => {
        walk(s.items!, item, `${pattern}[]`, [...steps, i]);
      });
      return;
    }
    if (kindOf(value) !== "object") return;
    for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
      const prop = s.properties?.[name];
      if (prop) walk(prop, child, pattern === "" ? name : `${pattern}.${name}`, [...steps, name]);
      else if (typeof s.additionalProperties === "object") {
        out.push({ pattern: `${pattern}{key}`, steps: [...steps, { key: name }], value: name });
        walk(s.additionalProperties, child, `${pattern}.*`, [...steps, name]);
      }
    }
  };
  walk(root, spec, "", []);
  return out;
}

/** The dotted path validation names a place by (model/issues.ts), for the steps to it. */
export function issuePathOf(steps: readonly PathStep[]): string {
  return steps.reduce<string>((path, step) => joinPath(path, typeof step === "object" ? step.key : step), "");
}

/** A deep copy of `spec` with `value` at `steps` (a map key renamed in place, keeping entry order). */
export function withValueAt<T>(spec: T, steps: readonly PathStep[], value: string): T {
  const copy = structuredClone(spec) as unknown;
  let parent = copy as Record<string | number, unknown>;
  for (const step of steps.slice(0, -1)) parent = parent[step as string | number] as Record<string | number, unknown>;
  const last = steps.at(-1)!;
  if (typeof last === "object") {
    const entries = Object.entries(parent).map(([k, v]) => [k === last.key ? value : k, v] as const);
    for (const k of Object.keys(parent)) delete parent[k];
    for (const [k, v] of entries) parent[k] = v;
  } else {
    parent[last] = value;
  }
  return copy as T;
}
