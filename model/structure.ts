/**
 * The structural check: does a spec have the shape of `schema/tailnet.schema.json` (generated from
 * model/spec.ts)? Unknown keys are errors with a did-you-mean, because a typo that passes silently
 * is exactly how hand-written headscale configs fail. Wrong types and values outside an enum are
 * reported with the allowed ones. Semantic rules (ranges, cross-field rules) live in validate.ts.
 */
import schemaJson from "../schema/tailnet.schema.json" with { type: "json" };
import { IssueList, joinPath } from "./issues.js";
import { closest } from "./suggest.js";

type Schema = {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  description?: string;
};

const root = schemaJson as unknown as Schema & { definitions: Record<string, Schema> };

/**
 * Fixes for keys people bring from elsewhere: secrets (never in the spec) and headscale's own
 * config.yaml spelling.
 */
const KNOWN_MISTAKES: Record<string, string> = {
  clientSecret: "the spec never holds secrets; put the client secret in a file and set clientSecretPath",
  client_secret: "the spec never holds secrets; put the client secret in a file and set clientSecretPath",
  password: "the spec never holds secrets; give headscale the password as the environment variable HEADSCALE_DATABASE_POSTGRES_PASS",
  pass: "the spec never holds secrets; give headscale the password as the environment variable HEADSCALE_DATABASE_POSTGRES_PASS",
  dns_config: "headscale 0.23 replaced dns_config with dns; in the spec it is headscale.dns",
  ip_prefixes: "headscale 0.23 replaced ip_prefixes with prefixes; in the spec it is headscale.prefixes { v4, v6 }",
  acl_policy_path: "headscale 0.23 replaced acl_policy_path with policy.path; in the spec it is headscale.policy.path",
  randomize_client_port: "headscale 0.29 moved randomize_client_port into the policy file; it is not a server setting",
  randomizeClientPort: "headscale 0.29 moved randomize_client_port into the policy file; it is not a server setting",
};

function deref(schema: Schema): Schema {
  let s = schema;
  while (s.$ref) {
    const name = s.$ref.replace("#/definitions/", "");
    const target = root.definitions[name];
    if (!target) throw new Error(`schema: unknown $ref ${s.$ref}`);
    s = { ...target, ...(s.description ? { description: s.description } : {}) };
  }
  return s;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(types: string[], value: unknown): boolean {
  const kind = kindOf(value);
  return types.some((t) => t === kind || (t === "number" && kind === "integer"));
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

function describeAllowed(values: unknown[]): string {
  return values.map(show).join(", ");
}

/** Marks a value that does not fit its schema; it is left out of the sanitized spec. */
const BAD = Symbol("bad");
type Checked = unknown | typeof BAD;

/**
 * Checks `value` against the schema at `path`, adding every mismatch to `issues`. Returns the
 * value with everything that did not fit left out (unknown keys, wrong types), or BAD when the
 * value itself does not fit, so the semantic checks can still run on the rest.
 */
function check(schemaIn: Schema, value: unknown, path: string, issues: IssueList): Checked {
  const schema = deref(schemaIn);
  if (schema.anyOf) return checkAnyOf(schema.anyOf, value, path, issues);
  if (schema.const !== undefined && value !== schema.const) {
    issues.add(path, `must be ${show(schema.const)}, not ${show(value)}`, `set it to ${show(schema.const)}`);
    return BAD;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    const near = typeof value === "string" ? closest(value, schema.enum.filter((e): e is string => typeof e === "string")) : undefined;
    issues.add(
      path,
      `${show(value)} is not one of ${describeAllowed(schema.enum)}`,
      near ? `did you mean ${show(near)}?` : `use one of ${describeAllowed(schema.enum)}`,
    );
    return BAD;
  }
  const types = schema.type === undefined ? [] : [schema.type].flat();
  if (types.length > 0 && !typeMatches(types, value)) {
    const unquoted = typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)) && types.includes("number");
    issues.add(
      path,
      `must be ${types.join(" or ")}, not ${kindOf(value)} ${show(value)}`,
      unquoted ? `write ${value.trim()} without quotes` : `write a${/^[aeiou]/.test(types[0]!) ? "n" : ""} ${types.join(" or ")} here`,
    );
    return BAD;
  }
  if (kindOf(value) === "array" && schema.items) {
    // A bad item becomes undefined rather than being dropped, so later paths keep their index.
    return (value as unknown[]).map((item, i) => orUndefined(check(schema.items!, item, joinPath(path, i), issues)));
  }
  if (kindOf(value) === "object") return checkObject(schema, value as Record<string, unknown>, path, issues);
  return value;
}

function orUndefined(value: Checked): unknown {
  return value === BAD ? undefined : value;
}

function checkObject(schema: Schema, value: Record<string, unknown>, path: string, issues: IssueList): Checked {
  const props = schema.properties ?? {};
  const known = Object.keys(props);
  const kept: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const at = joinPath(path, key);
    if (key in props) {
      if (child === undefined) continue;
      const ok = check(props[key]!, child, at, issues);
      if (ok !== BAD) kept[key] = ok;
    } else if (typeof schema.additionalProperties === "object") {
      const ok = check(schema.additionalProperties, child, at, issues);
      if (ok !== BAD) kept[key] = ok;
    } else {
      const hint = KNOWN_MISTAKES[key];
      const near = closest(key, known);
      issues.add(
        at,
        `unknown key ${show(key)}${known.length ? ` (allowed here: ${known.join(", ")})` : ""}`,
        hint ?? (near ? `did you mean ${show(near)}?` : "remove it"),
      );
    }
  }
  for (const key of schema.required ?? []) {
    if (value[key] === undefined) {
      const desc = deref(props[key] ?? {}).description ?? props[key]?.description;
      issues.add(joinPath(path, key), "is required", desc ? `add it: ${firstSentence(desc)}` : "add it");
    }
  }
  return kept;
}

function firstSentence(text: string): string {
  const s = text.split("\n\n")[0]!.replace(/\s+/g, " ");
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/**
 * Unions: object branches told apart by a `const` property (`mode`, `type`) are dispatched on
 * it, so the user sees the problems of the branch they chose; otherwise the first branch that
 * fits wins, and when none fits the allowed forms are listed.
 */
function checkAnyOf(branches: Schema[], value: unknown, path: string, issues: IssueList): Checked {
  const resolved = branches.map(deref);
  const objects = resolved.filter((b) => b.properties);
  const tag = discriminator(objects);
  if (tag && kindOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const allowed = objects.map((b) => b.properties![tag]!.const);
    const branch = objects.find((b) => b.properties![tag]!.const === obj[tag]);
    if (!branch) {
      const near = typeof obj[tag] === "string" ? closest(obj[tag] as string, allowed as string[]) : undefined;
      issues.add(
        joinPath(path, tag),
        obj[tag] === undefined ? `is required (one of ${describeAllowed(allowed)})` : `${show(obj[tag])} is not one of ${describeAllowed(allowed)}`,
        near ? `did you mean ${show(near)}?` : `set ${tag} to one of ${describeAllowed(allowed)}`,
      );
      return BAD;
    }
    // A key that belongs to a sibling form (certPath under mode "proxy") says which form it needs.
    const rest: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(obj)) {
      const owner = branch.properties![key] ? undefined : objects.find((b) => b.properties![key]);
      if (owner) {
        issues.add(joinPath(path, key), `belongs to ${tag} ${show(owner.properties![tag]!.const)}, not ${tag} ${show(obj[tag])}`, `remove it, or set ${tag} to ${show(owner.properties![tag]!.const)}`);
      } else {
        rest[key] = child;
      }
    }
    return check(branch, rest, path, issues);
  }
  for (const branch of resolved) {
    const trial = new IssueList();
    const ok = check(branch, value, path, trial);
    if (trial.length === 0) return ok;
  }
  const consts = resolved.filter((b) => b.const !== undefined).map((b) => b.const);
  const shapes = resolved.filter((b) => b.const === undefined).map((b) => describeShape(b));
  const near = typeof value === "string" ? closest(value, consts.filter((c): c is string => typeof c === "string")) : undefined;
  issues.add(
    path,
    `${show(value)} does not fit any allowed form`,
    near ? `did you mean ${show(near)}?` : `use ${[...consts.map(show), ...shapes].join(" or ")}`,
  );
  return BAD;
}

function describeShape(schema: Schema): string {
  if (schema.properties) return `{ ${Object.keys(schema.properties).join(", ")} }`;
  return [schema.type ?? "a value"].flat().join(" or ");
}

function discriminator(objects: Schema[]): string | undefined {
  if (objects.length < 2) return undefined;
  const first = objects[0]!.properties!;
  return Object.keys(first).find((key) =>
    objects.every((b) => b.properties![key]?.const !== undefined && b.required?.includes(key)),
  );
}

/**
 * Checks a whole spec's shape. The spec may come from YAML, so nothing about it is trusted.
 * Returns the spec with every misfit left out (undefined when even the top level does not fit),
 * for the semantic checks to run on.
 */
export function checkStructure(spec: unknown, issues: IssueList): unknown {
  return orUndefined(check(root, spec, "", issues));
}
