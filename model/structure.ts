/**
 * The structural check: does a spec have the shape of `schema/tailnet.schema.json` (generated from
 * model/spec.ts)? Unknown keys are errors with a did-you-mean, because a typo that passes silently
 * is exactly how hand-written headscale configs fail. Wrong types and values outside an enum are
 * reported with the allowed ones. Every string, map key included, must fit its grammar
 * (model/grammar.ts). Semantic rules (ranges, cross-field rules) live in validate.ts.
 *
 * Nothing about the input is trusted: keys are looked up as own properties only (`constructor` is
 * an unknown key like any other), map keys that JavaScript objects already carry are refused, and
 * messages show values bounded (model/echo.ts).
 */
import schemaJson from "../schema/tailnet.schema.json" with { type: "json" };
import { boundedKey, echo, ECHO_LIMIT } from "./echo.js";
import { checkGrammar, fieldGrammar } from "./grammar.js";
import { IssueList, joinPath } from "./issues.js";
import { closest } from "./suggest.js";
import { isSpecFromText } from "./tokens.js";

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
  /** The `@grammar` of a string (model/grammar.ts). */
  grammar?: string;
  /** A map's keys: their `@keyGrammar`. */
  propertyNames?: Schema;
};

const root = schemaJson as unknown as Schema & { definitions: Record<string, Schema> };

/**
 * Fixes for keys people bring from elsewhere: secrets (never in the spec) and headscale's own
 * config.yaml spelling.
 */
const KNOWN_MISTAKES: Readonly<Record<string, string>> = {
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

const derefs = new WeakMap<Schema, Schema>();

/** The schema a `$ref` points at (with the referring description), computed once per node. */
function deref(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const cached = derefs.get(schema);
  if (cached) return cached;
  let s = schema;
  while (s.$ref) {
    const name = s.$ref.replace("#/definitions/", "");
    const target = root.definitions[name];
    if (!target) throw new Error(`schema: unknown $ref ${s.$ref}`);
    s = { ...target, ...(s.description ? { description: s.description } : {}) };
  }
  derefs.set(schema, s);
  return s;
}

const typeLists = new WeakMap<Schema, string[]>();

/** The node's `type` as a list, computed once per node. */
function typesOf(schema: Schema): string[] {
  let types = typeLists.get(schema);
  if (!types) {
    types = schema.type === undefined ? [] : [schema.type].flat();
    typeLists.set(schema, types);
  }
  return types;
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
  return echo(value);
}

/** Names every JavaScript object already has: as map keys they would read the prototype's. */
const RESERVED_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"]);

/**
 * Where a value is, as a chain of keys: the dotted path text is built only for a value with a
 * problem (building it for every value costs more than checking it).
 */
type Where = { readonly parent: Where; readonly key: string | number } | null;

function down(parent: Where, key: string | number): Where {
  return { parent, key };
}

function text(where: Where): string {
  return where === null ? "" : joinPath(text(where.parent), where.key);
}

/** What one walk over a spec carries along. */
interface Walk {
  readonly issues: IssueList;
  /** Terraform tokens are accepted where a field allows them (false for a spec read from text). */
  readonly tokens: boolean;
}

function describeAllowed(values: unknown[]): string {
  return values.map(show).join(", ");
}

type ValidationIssueLike = { readonly path: string; readonly message: string; readonly fix: string };

/** Marks a value that does not fit its schema; it is left out of the sanitized spec. */
const BAD = Symbol("bad");
type Checked = unknown | typeof BAD;

/**
 * Checks `value` against the schema at `path`, adding every mismatch to `issues`. Returns the
 * value with everything that did not fit left out (unknown keys, wrong types), or BAD when the
 * value itself does not fit, so the semantic checks can still run on the rest.
 */
function check(schemaIn: Schema, value: unknown, path: Where, walk: Walk, key?: string): Checked {
  const { issues } = walk;
  const schema = deref(schemaIn);
  if (schema.anyOf) return checkAnyOf(schema.anyOf, value, path, walk, key);
  if (schema.const !== undefined && value !== schema.const) {
    issues.add(text(path), `must be ${show(schema.const)}, not ${show(value)}`, `set it to ${show(schema.const)}`);
    return BAD;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    const near =
      typeof value === "string"
        ? closest(
            value,
            schema.enum.filter((e): e is string => typeof e === "string"),
          )
        : undefined;
    issues.add(
      text(path),
      `${show(value)} is not one of ${describeAllowed(schema.enum)}`,
      near ? `did you mean ${show(near)}?` : `use one of ${describeAllowed(schema.enum)}`,
    );
    return BAD;
  }
  const types = typesOf(schema);
  if (types.length > 0 && !typeMatches(types, value)) {
    const unquoted = typeof value === "string" && value.trim() !== "" && value.length <= ECHO_LIMIT && !Number.isNaN(Number(value)) && types.includes("number");
    const kind = kindOf(value);
    issues.add(
      text(path),
      `must be ${types.join(" or ")}, not ${kind}${kind === "array" || kind === "object" ? "" : ` ${echo(value, key)}`}`,
      unquoted ? `write ${value.trim()} without quotes` : `write a${/^[aeiou]/.test(types[0]!) ? "n" : ""} ${types.join(" or ")} here`,
    );
    return BAD;
  }
  if (typeof value === "string" && schema.grammar !== undefined) {
    const problem = checkGrammar(value, fieldGrammar(schema.grammar), key, walk.tokens);
    if (problem) {
      issues.add(text(path), problem.message, problem.fix);
      return BAD;
    }
  }
  if (kindOf(value) === "array" && schema.items) {
    // A bad item becomes undefined rather than being dropped, so later paths keep their index.
    return (value as unknown[]).map((item, i) => orUndefined(check(schema.items!, item, down(path, i), walk, key)));
  }
  if (kindOf(value) === "object") return checkObject(schema, value as Record<string, unknown>, path, walk);
  return value;
}

function orUndefined(value: Checked): unknown {
  return value === BAD ? undefined : value;
}

/** Sets an own property, `__proto__` included, without touching the prototype. */
function keep(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A map key's problem: a name objects already have, or one outside the key grammar. */
function mapKeyProblem(schema: Schema, key: string): { message: string; fix: string } | undefined {
  if (RESERVED_KEYS.has(key))
    return { message: `${show(key)} cannot be a key here: every JavaScript object already has a property of that name`, fix: "rename it" };
  const grammar = schema.propertyNames?.grammar;
  return grammar === undefined ? undefined : checkGrammar(key, fieldGrammar(grammar), undefined, false);
}

function checkObject(schema: Schema, value: Record<string, unknown>, path: Where, walk: Walk): Checked {
  const { issues } = walk;
  const props = schema.properties ?? {};
  const kept: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const at = down(path, boundedKey(key));
    if (Object.hasOwn(props, key)) {
      if (child === undefined) continue;
      const ok = check(props[key]!, child, at, walk, key);
      if (ok !== BAD) keep(kept, key, ok);
    } else if (typeof schema.additionalProperties === "object") {
      const problem = mapKeyProblem(schema, key);
      if (problem) {
        issues.add(text(at), problem.message, problem.fix);
        continue;
      }
      const ok = check(schema.additionalProperties, child, at, walk);
      if (ok !== BAD) keep(kept, key, ok);
    } else {
      const known = Object.keys(props);
      const hint = Object.hasOwn(KNOWN_MISTAKES, key) ? KNOWN_MISTAKES[key] : undefined;
      const near = closest(boundedKey(key), known);
      issues.add(
        text(at),
        `unknown key ${show(key)}${known.length ? ` (allowed here: ${known.join(", ")})` : ""}`,
        hint ?? (near ? `did you mean ${show(near)}?` : "remove it"),
      );
    }
  }
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(value, key) || value[key] === undefined) {
      const desc = deref(props[key] ?? {}).description ?? props[key]?.description;
      issues.add(text(down(path, key)), "is required", desc ? `add it: ${firstSentence(desc)}` : "add it");
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
function checkAnyOf(branches: Schema[], value: unknown, path: Where, walk: Walk, key: string | undefined): Checked {
  const { issues } = walk;
  const resolved = branchesOf(branches);
  const objects = resolved.filter((b) => b.properties);
  const tag = discriminator(objects);
  if (tag && kindOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const allowed = objects.map((b) => b.properties![tag]!.const);
    const chosen = Object.hasOwn(obj, tag) ? obj[tag] : undefined;
    const branch = objects.find((b) => b.properties![tag]!.const === chosen);
    if (!branch) {
      const near = typeof chosen === "string" ? closest(chosen, allowed as string[]) : undefined;
      issues.add(
        text(down(path, tag)),
        chosen === undefined ? `is required (one of ${describeAllowed(allowed)})` : `${show(chosen)} is not one of ${describeAllowed(allowed)}`,
        near ? `did you mean ${show(near)}?` : `set ${tag} to one of ${describeAllowed(allowed)}`,
      );
      return BAD;
    }
    // A key that belongs to a sibling form (certPath under mode "proxy") says which form it needs.
    const rest: Record<string, unknown> = {};
    for (const [name, child] of Object.entries(obj)) {
      const owner = Object.hasOwn(branch.properties!, name) ? undefined : objects.find((b) => Object.hasOwn(b.properties!, name));
      if (owner) {
        issues.add(
          text(down(path, name)),
          `belongs to ${tag} ${show(owner.properties![tag]!.const)}, not ${tag} ${show(chosen)}`,
          `remove it, or set ${tag} to ${show(owner.properties![tag]!.const)}`,
        );
      } else {
        keep(rest, name, child);
      }
    }
    return check(branch, rest, path, walk, key);
  }
  // An object whose keys only one branch has: that branch's problems are the user's.
  if (kindOf(value) === "object") {
    const keys = Object.keys(value as object);
    const owners = objects.filter((b) => keys.every((k) => Object.hasOwn(b.properties!, k)));
    if (owners.length === 1) return check(owners[0]!, value, path, walk, key);
  }
  // A string that fits none of the branches' types and consts but one branch's grammar: that
  // branch's message names what is wrong with it.
  let grammarProblem: ValidationIssueLike | undefined;
  for (const branch of resolved) {
    const trial = new IssueList();
    const ok = check(branch, value, path, { ...walk, issues: trial }, key);
    if (trial.length === 0) return ok;
    if (typeof value === "string" && branch.grammar !== undefined && trial.issues[0]) grammarProblem ??= trial.issues[0];
  }
  if (grammarProblem) {
    issues.add(grammarProblem.path, grammarProblem.message, grammarProblem.fix);
    return BAD;
  }
  const consts = resolved.filter((b) => b.const !== undefined).map((b) => b.const);
  const shapes = resolved.filter((b) => b.const === undefined).map((b) => describeShape(b));
  const near =
    typeof value === "string"
      ? closest(
          value,
          consts.filter((c): c is string => typeof c === "string"),
        )
      : undefined;
  issues.add(
    text(path),
    `${echo(value, key)} does not fit any allowed form`,
    near ? `did you mean ${show(near)}?` : `use ${[...consts.map(show), ...shapes].join(" or ")}`,
  );
  return BAD;
}

/** A union's branches, dereferenced, nested unions (`DdnsAddressSource | "off"`) flattened. */
function branchesOf(branches: Schema[]): Schema[] {
  return branches.map(deref).flatMap((b) => (b.anyOf ? branchesOf(b.anyOf) : [b]));
}

function describeShape(schema: Schema): string {
  if (schema.properties) return `{ ${Object.keys(schema.properties).join(", ")} }`;
  return [schema.type ?? "a value"].flat().join(" or ");
}

function discriminator(objects: Schema[]): string | undefined {
  if (objects.length < 2) return undefined;
  const first = objects[0]!.properties!;
  return Object.keys(first).find((key) => objects.every((b) => b.properties![key]?.const !== undefined && b.required?.includes(key)));
}

/** The path one level up: `a.b[2]` -> `a.b`, `a["x y"]` -> `a`, `a` -> ``. */
function parentPath(path: string): string {
  return path.replace(/(\.[^.[\]]+|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$/, "");
}

/**
 * Leaves out the semantic problems that only follow from a value the structural check refused
 * (and so left out of the spec the semantic checks saw): those at the refused value's path or at
 * its parent, such as "baseDomain is required while MagicDNS is on" after an invalid baseDomain.
 * `structural` is how many of `issues` the structural check reported (they come first).
 */
export function withoutConsequences<T extends { readonly path: string }>(issues: readonly T[], structural: number): T[] {
  const refused = new Set<string>();
  for (const issue of issues.slice(0, structural)) {
    refused.add(issue.path);
    refused.add(parentPath(issue.path));
  }
  return [...issues.slice(0, structural), ...issues.slice(structural).filter((i) => !refused.has(i.path))];
}

/**
 * Checks a whole spec's shape. The spec may come from YAML, so nothing about it is trusted.
 * Returns the spec with every misfit left out (undefined when even the top level does not fit),
 * for the semantic checks to run on.
 */
export function checkStructure(spec: unknown, issues: IssueList): unknown {
  return orUndefined(check(root, spec, null, { issues, tokens: !isSpecFromText(spec) }));
}
