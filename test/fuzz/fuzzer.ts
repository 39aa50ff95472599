/**
 * The injection fuzzer: for every string field of the schema, in the first fixture that sets it,
 * and for every payload (whole and embedded in the field's value), the spec is either refused with
 * an issue naming the field, or everything the kit produces from it keeps the structure it has
 * with a plain other value in the field (the control, `<value>x`; see {@link Reference}): each
 * rendered file, cdk.tf.json, and what they carry for other parsers (cloud-init's files, the
 * Dockerfiles' commands, the uploads and commands in cdk.tf.json), compared per format
 * (structure/*.ts), and the real validators (systemd-analyze verify, nft -c, cloud-init's schema)
 * complain about nothing new.
 *
 * Rendering and synthesis run in-process; external parsers run once per distinct text, in batches.
 * Variants are processed a few fields at a time so memory stays bounded.
 */
import { Testing, TerraformStack } from "cdktf";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve as resolvePath, sep } from "node:path";
import { Tailnet } from "../../constructs/index.js";
import { TailnetSpecError, validate, type PreparedTailnet, type TailnetSpec, type ValidationIssue } from "../../model/index.js";
import { renderTailnet, type RenderedFile } from "../../render/index.js";
import { prepare } from "../../secrets/index.js";
import { DocumentParser, formatOf, isCloudConfig, type Doc, type Format } from "./documents.js";
import { makeLocalFiles, type Fixture } from "./fixtures.js";
import { variantValues, type VariantValue } from "./payloads.js";
import { issuePathOf, stringFieldPatterns, stringFieldsOf, withValueAt, type Schema, type StringField } from "./schema-fields.js";
import { structureChange, type Normalize, type Structure } from "./structure/types.js";
import { checkRulesets, verifyUnits } from "./structure/validators.js";

/** A field to fuzz: one place in one fixture. */
export interface FuzzTarget {
  readonly fixture: string;
  readonly field: StringField;
  /** The issue path of the field (of the map, for a map key). */
  readonly path: string;
}

/** One document whose structure a variant changed. */
export interface Change {
  readonly location: string;
  readonly format: Format | "files";
  readonly what: readonly string[];
}

export type Outcome =
  /** Validation refused it, naming the field. */
  | { readonly kind: "refused" }
  /** Validation refused it, but no issue names the field. */
  | { readonly kind: "refused elsewhere"; readonly issues: readonly string[] }
  /** A construct refused a file on this machine that does not exist, naming it. */
  | { readonly kind: "construct refused"; readonly message: string }
  /** Validation accepted it, then rendering or synthesis threw. */
  | { readonly kind: "threw"; readonly message: string }
  /** Validation accepted it; `changes` lists every document whose structure changed. */
  | { readonly kind: "accepted"; readonly changes: readonly Change[] };

export interface VariantRun {
  readonly target: FuzzTarget;
  readonly variant: VariantValue;
  readonly outcome: Outcome;
}

/** Everything a run found, with counts for the record. */
export interface FuzzResult {
  /** Patterns of the schema no fixture sets. */
  readonly uncovered: readonly string[];
  readonly patterns: number;
  readonly targets: readonly FuzzTarget[];
  readonly runs: readonly VariantRun[];
  /** Distinct documents parsed and validated, per tool. */
  readonly parsed: { shell: number; yaml: number; units: number; rulesets: number };
  readonly seconds: number;
  /** Seconds per phase: validate, produce (render and synth), parse (external parsers), validators, compare. */
  readonly phases: Record<"validate" | "produce" | "parse" | "validators" | "compare", number>;
}

/** A run that broke the rule: refused without naming the field, threw, or changed a structure. */
export function isFinding(run: VariantRun): boolean {
  const o = run.outcome;
  return o.kind === "refused elsewhere" || o.kind === "threw" || (o.kind === "accepted" && o.changes.length > 0);
}

export interface FuzzOptions {
  readonly schema: Schema;
  readonly fixtures: readonly Fixture[];
  /** A scratch folder the run owns (secrets, files on the "deploying machine", synth output). */
  readonly workDir: string;
  /**
   * How many fixtures each field is fuzzed in (the first ones that set it); more reaches more of
   * the places a value flows to, at a cost per fixture. @default 1
   */
  readonly fixturesPerField?: number;
  /** Only these patterns (for development). @default - all */
  readonly only?: (pattern: string) => boolean;
  /** Fields per batch (memory bound). @default 6 */
  readonly batch?: number;
  /** The renderer (the fuzzer's own test swaps in a careless one to see it caught). @default renderTailnet */
  readonly render?: (tailnet: PreparedTailnet) => RenderedFile[];
}

/** The fields to fuzz: each pattern in up to `perField` fixtures (its first instance in each). */
export function chooseTargets(
  schema: Schema,
  specs: readonly (readonly [string, TailnetSpec])[],
  perField: number,
): { targets: FuzzTarget[]; uncovered: string[]; patterns: string[] } {
  const patterns = stringFieldPatterns(schema);
  const chosen = new Map<string, FuzzTarget[]>();
  for (const [fixture, spec] of specs) {
    const firstHere = new Set<string>();
    for (const field of stringFieldsOf(schema, spec)) {
      if (firstHere.has(field.pattern)) continue;
      firstHere.add(field.pattern);
      const list = chosen.get(field.pattern) ?? [];
      if (list.length >= perField) continue;
      const steps = field.steps;
      const path = typeof steps.at(-1) === "object" ? issuePathOf(steps.slice(0, -1)) : issuePathOf(steps);
      list.push({ fixture, field, path });
      chosen.set(field.pattern, list);
    }
  }
  const unknown = [...chosen.keys()].filter((p) => !patterns.includes(p));
  if (unknown.length > 0) throw new Error(`fields found in fixtures but not in the schema's patterns: ${unknown.join(", ")}`);
  return { targets: patterns.flatMap((p) => chosen.get(p) ?? []), uncovered: patterns.filter((p) => !chosen.has(p)), patterns };
}

/** Whether validation's issues name the field at `path` (the issue's path is it or inside it). */
export function namesField(issues: readonly ValidationIssue[], path: string): boolean {
  return issues.some((i) => i.path === path || i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`));
}

/** cdktf's logical ids keep letters, digits, `_` and `-`. */
function idSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "");
}

/**
 * Maps the variant's value back to the reference's, as it is and as cdktf's ids spell it (when
 * that spelling is long enough not to match by chance). Used only where a comparison without it
 * differs, so a payload that happens to occur elsewhere cannot make a change up.
 */
function normalizer(base: string, variant: string): Normalize {
  const pairs: [string, string][] = [];
  if (variant !== "" && variant !== base) pairs.push([variant, base]);
  const [sv, sb] = [idSafe(variant), idSafe(base)];
  if (sv.length >= 4 && sv !== sb && sv !== variant) pairs.push([sv, sb]);
  return (text) => pairs.reduce((t, [from, to]) => (t.includes(from) ? t.split(from).join(to) : t), text);
}

/** What one spec produces: its files and cdk.tf.json, as documents. */
interface Produced {
  readonly docs: Doc[];
  /** Paths of the rendered files, to check they stay inside the output tree. */
  readonly paths: string[];
}

class Producer {
  readonly #secrets: string;
  readonly #out: string;
  constructor(
    readonly workDir: string,
    readonly render: (tailnet: PreparedTailnet) => RenderedFile[],
  ) {
    this.#secrets = join(workDir, "secrets");
    this.#out = join(workDir, "synth");
    mkdirSync(this.#secrets, { recursive: true });
    mkdirSync(this.#out, { recursive: true });
  }

  produce(spec: TailnetSpec, resolved: Parameters<typeof prepare>[0]): Produced {
    const model = prepare(resolved, { secretsDir: this.#secrets });
    const files = this.render(model);
    const app = Testing.app({ outdir: this.#out });
    const stack = new TerraformStack(app, "fuzz");
    new Tailnet(stack, "tailnet", { spec, secretsDir: this.#secrets });
    const tf = Testing.synth(stack);
    return {
      docs: [
        ...files.map((f) => ({ location: f.path, format: formatOf(f.path), content: f.content })),
        { location: "cdk.tf.json", format: "terraform" as const, content: tf },
      ],
      paths: files.map((f) => f.path),
    };
  }
}

/** A rendered path that would leave the output tree or that no file system takes as written. */
function unsafePath(path: string): string | undefined {
  if (path.startsWith("/")) return "absolute";
  if (path.split("/").some((s) => s === ".." || s === "." || s === "")) return "has an empty, . or .. segment";
  if (/[\0-\x1f\x7f\u0085\u2028\u2029]/.test(path)) return "has a control character or line break";
  return undefined;
}

/**
 * What a throw after validation means: the certificate checks (which read files, so they run when
 * the model is prepared) refuse like validation, with issues; a construct that cannot read a file
 * on the deploying machine the variant names refuses it by its path; anything else is a finding.
 */
function producerFailure(e: unknown, target: FuzzTarget, value: string): Outcome {
  if (e instanceof TailnetSpecError) {
    return namesField(e.issues, target.path) ? { kind: "refused" } : { kind: "refused elsewhere", issues: e.issues.map((i) => `${i.path}: ${i.message}`) };
  }
  const message = (e as Error).message;
  if (isLocalFileField(target.field) && message.includes(resolvePath(value.replace(/\0[\s\S]*/, "")))) return { kind: "construct refused", message };
  return { kind: "threw", message: message.split("\n")[0]! };
}

/** Whether a field names a file on the deploying machine (read when the stack is synthesized). */
function isLocalFileField(field: StringField): boolean {
  return /(localFile|certFile|keyFile)$/.test(field.pattern);
}

/**
 * A file on the deploying machine that a variant names is made (a copy of the fixture's) when it
 * lies inside the run's folder, so such a path is judged by what the kit does with it, not by
 * its absence.
 */
function makeVariantLocalFile(localDir: string, field: StringField, value: string): void {
  if (!isLocalFileField(field) || value.includes("\0")) return;
  const full = resolvePath(value);
  if (!full.startsWith(localDir + sep) || existsSync(full)) return;
  try {
    mkdirSync(dirname(full), { recursive: true });
    copyFileSync(field.value, full);
  } catch {
    // A name the file system refuses: the kit reports it when it reads the file.
  }
}

/** The name a unit is verified under: its file name at the (normalized) location. */
function unitName(location: string): string {
  const name = location
    .split(/[/ ]/)
    .at(-1)!
    .replace(/^(etc|usr|lib)_.*_/, "");
  return /\.(service|timer|path|socket|mount)$/.test(name) ? name : `${name}.service`;
}

function validatorName(doc: Doc): string {
  return doc.format === "systemd" ? "systemd-analyze verify" : doc.format === "nftables" ? "nft -c" : "cloud-init schema";
}

/**
 * The real validators' complaints about each document (units, rulesets, user-data), by
 * normalized location and text.
 */
class Complaints {
  readonly #byKey = new Map<string, readonly string[]>();
  readonly counts = { units: 0, rulesets: 0 };

  static key(location: string, content: string): string {
    return `${location}\0${content}`;
  }

  get(location: string, content: string): readonly string[] {
    return this.#byKey.get(Complaints.key(location, content)) ?? [];
  }

  /** Runs the validators on documents (location already normalized to the baseline's). */
  async check(parser: DocumentParser, docs: readonly (readonly [string, Doc])[]): Promise<void> {
    const units = new Map<string, { name: string; text: string }>();
    const rulesets = new Map<string, string>();
    for (const [location, d] of docs) {
      const key = Complaints.key(location, d.content);
      if (this.#byKey.has(key)) continue;
      if (d.format === "systemd") units.set(key, { name: unitName(location), text: d.content });
      if (d.format === "nftables") rulesets.set(key, d.content);
      if (d.format === "yaml" && isCloudConfig(d.content)) this.#byKey.set(key, parser.cloudInitProblems(d) ?? []);
    }
    const [unitResults, rulesetResults] = await Promise.all([verifyUnits([...units.values()]), checkRulesets([...rulesets.values()])]);
    [...units.keys()].forEach((k, i) => {
      this.#byKey.set(k, unitResults[i]!);
    });
    [...rulesets.keys()].forEach((k, i) => {
      this.#byKey.set(k, rulesetResults[i]!);
    });
    this.counts.units += units.size;
    this.counts.rulesets += rulesets.size;
  }
}

/**
 * What a field's variants are compared with. A value is also an identity (a tag, a user, a map
 * key others refer to), so changing it may change the output for reasons of its own: the
 * reference is the fixture with the field set to a plain other value (`<value>x`, "the control"),
 * when validation accepts that, else the fixture itself. A variant then shows only what its
 * payload changes; and a variant refused for what its control is refused for (a renamed key that
 * something refers to) is refused for that reason, not for its payload.
 */
interface Reference {
  /** The value the variant's value maps back to in keys, names and paths. */
  readonly value: string;
  readonly docs: ReadonlyMap<string, Doc>;
  readonly parser: DocumentParser;
}

/** A variant that validation accepted and the kit produced documents for, waiting for comparison. */
interface Pending {
  readonly target: FuzzTarget;
  readonly variant: VariantValue;
  readonly produced: Produced;
  readonly stray: readonly string[];
}

/** Where a field stands in a batch: its control's validation, what the control produced, its accepted variants. */
interface TargetWork {
  readonly target: FuzzTarget;
  readonly spec: TailnetSpec;
  readonly controlValue: string;
  readonly control: ReturnType<typeof validate>;
  controlProduced?: Produced;
  readonly pending: Pending[];
}

function issueTexts(issues: readonly ValidationIssue[]): string[] {
  return issues.map((i) => `${i.path}: ${i.message}`);
}

/** Runs the fuzzer. */
export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  const started = performance.now();
  const { schema, workDir } = options;
  const localDir = join(workDir, "local");
  makeLocalFiles(localDir);
  const producer = new Producer(workDir, options.render ?? renderTailnet);
  const expected = new Set(readdirSync(workDir));
  const specs = new Map(options.fixtures.map((f) => [f.name, f.spec(localDir)] as const));
  const { targets: all, uncovered, patterns } = chooseTargets(schema, [...specs], options.fixturesPerField ?? 1);
  const targets = all.filter((t) => options.only?.(t.field.pattern) ?? true);
  const complaints = new Complaints();
  const phases = { validate: 0, produce: 0, parse: 0, validators: 0, compare: 0 };
  const timed = async <T>(phase: keyof typeof phases, f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      phases[phase] += (performance.now() - t0) / 1000;
    }
  };
  /** Produces a spec's documents; whatever lands outside the run's folders is removed and returned. */
  const produce = async (
    spec: TailnetSpec,
    resolved: Parameters<Producer["produce"]>[1],
  ): Promise<{ produced?: Produced; error?: unknown; stray: string[] }> => {
    let produced: Produced | undefined;
    let error: unknown;
    try {
      produced = await timed("produce", () => producer.produce(spec, resolved));
    } catch (e) {
      error = e;
    }
    const stray = readdirSync(workDir).filter((e) => !expected.has(e));
    for (const e of stray) rmSync(join(workDir, e), { recursive: true, force: true });
    return { produced, error, stray };
  };

  // The fixtures as they are: the reference when a field's control is refused. Parsed once.
  const baseParser = new DocumentParser();
  const fixtureDocs = new Map<string, ReadonlyMap<string, Doc>>();
  {
    const produced = new Map<string, Produced>();
    for (const name of new Set(targets.map((t) => t.fixture))) {
      const r = validate(specs.get(name));
      if (!r.ok) throw new Error(`fixture ${name} is not valid: ${issueTexts(r.issues).join("; ")}`);
      const { produced: p, error } = await produce(specs.get(name)!, r.resolved);
      if (!p) throw new Error(`fixture ${name} does not synthesize: ${(error as Error).message}`);
      produced.set(name, p);
      p.docs.forEach((d) => {
        baseParser.add(d);
      });
    }
    await baseParser.settle();
    for (const [name, p] of produced) {
      const docs = new Map(p.docs.flatMap((d) => baseParser.expand(d)).map((d) => [d.location, d]));
      await complaints.check(baseParser, [...docs]);
      fixtureDocs.set(name, docs);
    }
  }
  const parsed = { ...baseParser.counts };
  const structures = new Map<Doc, Structure>();
  const structureOf = (ref: Reference, d: Doc) => structures.get(d) ?? structures.set(d, ref.parser.structure(d)).get(d)!;

  const runs: VariantRun[] = [];
  const batch = options.batch ?? 6;
  for (let start = 0; start < targets.length; start += batch) {
    const parser = new DocumentParser();
    const works: TargetWork[] = [];
    for (const target of targets.slice(start, start + batch)) {
      const spec = specs.get(target.fixture)!;
      const controlValue = `${target.field.value}x`;
      const control = validate(withValueAt(spec, target.field.steps, controlValue));
      const work: TargetWork = { target, spec, controlValue, control, pending: [] };
      works.push(work);
      for (const variant of variantValues(target.field.value)) {
        const variantSpec = withValueAt(spec, target.field.steps, variant.value);
        const r = await timed("validate", () => validate(variantSpec));
        if (!r.ok) {
          runs.push({ target, variant, outcome: refusal(r.issues, work, variant.value) });
          continue;
        }
        makeVariantLocalFile(localDir, target.field, variant.value);
        const { produced, error, stray } = await produce(variantSpec, r.resolved);
        if (!produced) runs.push({ target, variant, outcome: producerFailure(error, target, variant.value) });
        else work.pending.push({ target, variant, produced, stray });
      }
      if (work.pending.length > 0 && control.ok) {
        const { produced } = await produce(withValueAt(spec, target.field.steps, controlValue), control.resolved);
        if (produced) {
          work.controlProduced = produced;
          produced.docs.forEach((d) => {
            parser.add(d);
          });
        }
      }
      for (const p of work.pending)
        p.produced.docs.forEach((d) => {
          parser.add(d);
        });
    }
    await timed("parse", () => parser.settle());
    parsed.shell += parser.counts.shell;
    parsed.yaml += parser.counts.yaml;
    for (const work of works) {
      if (work.pending.length === 0) continue;
      const ref: Reference = work.controlProduced
        ? { value: work.controlValue, docs: new Map(work.controlProduced.docs.flatMap((d) => parser.expand(d)).map((d) => [d.location, d])), parser }
        : { value: work.target.field.value, docs: fixtureDocs.get(work.target.fixture)!, parser: baseParser };
      // Every document (at any depth) whose text differs from the reference's at the same place.
      const changed = work.pending.map((p) => {
        const normalize = normalizer(ref.value, p.variant.value);
        const locate = (location: string) => (ref.docs.has(location) ? location : normalize(location));
        const differs = (d: Doc) => ref.docs.get(locate(d.location))?.content !== d.content;
        const docs = p.produced.docs
          .filter(differs)
          .flatMap((d) => parser.expand(d, normalize))
          .filter(differs);
        return { p, normalize, locate, docs };
      });
      const checked = changed.flatMap((c) => c.docs.map((d) => [c.locate(d.location), d] as const));
      const referenced = checked.flatMap(([location]) => (ref.docs.has(location) ? [[location, ref.docs.get(location)!] as const] : []));
      await timed("validators", () => complaints.check(parser, [...referenced, ...checked]));
      await timed("compare", () => {
        for (const c of changed)
          runs.push({
            target: c.p.target,
            variant: c.p.variant,
            outcome: { kind: "accepted", changes: compare(parser, ref, c.p, c.docs, c.normalize, c.locate) },
          });
      });
    }
  }
  return {
    uncovered,
    patterns: patterns.length,
    targets,
    runs,
    parsed: { ...parsed, ...complaints.counts },
    seconds: (performance.now() - started) / 1000,
    phases,
  };

  /** Refused naming the field; or for what its control is refused for; or a finding. */
  function refusal(issues: readonly ValidationIssue[], work: TargetWork, value: string): Outcome {
    if (namesField(issues, work.target.path)) return { kind: "refused" };
    if (!work.control.ok) {
      const normalize = normalizer(work.controlValue, value);
      const controls = new Set(issueTexts(work.control.issues));
      if (issueTexts(issues).every((t) => controls.has(t) || controls.has(normalize(t)))) return { kind: "refused" };
    }
    return { kind: "refused elsewhere", issues: issueTexts(issues) };
  }

  function compare(parser: DocumentParser, ref: Reference, p: Pending, docs: readonly Doc[], normalize: Normalize, locate: (l: string) => string): Change[] {
    const changes: Change[] = [];
    for (const e of p.stray) changes.push({ location: "(file system)", format: "files", what: [`wrote ${JSON.stringify(e)} outside the secrets folder`] });
    for (const path of p.produced.paths) {
      const why = unsafePath(path);
      if (why) changes.push({ location: path, format: "files", what: [`unsafe output path: ${why}`] });
    }
    const present = new Set(p.produced.docs.map((d) => locate(d.location)));
    for (const location of ref.docs.keys()) {
      if (!location.includes(" > ") && !present.has(location)) changes.push({ location, format: "files", what: ["a file of the reference is missing"] });
    }
    for (const doc of docs) {
      const location = locate(doc.location);
      const before = ref.docs.get(location);
      if (!before) {
        changes.push({ location: doc.location, format: "files", what: ["a document the reference does not have"] });
        continue;
      }
      const was = structureOf(ref, before);
      const what = structureChange(was, parser.structure(doc)).length === 0 ? [] : structureChange(was, parser.structure(doc, normalize));
      const said = new Set(complaints.get(location, before.content));
      for (const c of complaints.get(location, doc.content)) if (!said.has(c) && !said.has(normalize(c))) what.push(`${validatorName(doc)}: ${c}`);
      if (what.length > 0) changes.push({ location: doc.location, format: doc.format, what });
    }
    return changes;
  }
}
