/**
 * Validation problems: every check reports into one list, so a user sees every problem at once,
 * each with the field it concerns and how to fix it.
 */

/** One problem with a spec. */
export interface ValidationIssue {
  /** Where, as a dotted path into the spec, e.g. `derp.regions[1].nodes[0].hostname`. */
  readonly path: string;
  /** What is wrong, naming the bad value. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

/** Collects issues while the checks run. */
export class IssueList {
  readonly #issues: ValidationIssue[] = [];

  /** Records a problem at `path`. */
  add(path: string, message: string, fix: string): void {
    this.#issues.push({ path, message, fix });
  }

  /** Every problem so far, in the order found. */
  get issues(): readonly ValidationIssue[] {
    return this.#issues;
  }

  get length(): number {
    return this.#issues.length;
  }
}

/** Formats issues one per line pair: `path: message` then `  fix: ...`. */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${i.path || "(spec)"}: ${i.message}\n  fix: ${i.fix}`).join("\n");
}

/** Thrown when a spec has problems; carries every one of them. */
export class TailnetSpecError extends Error {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`the tailnet spec has ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n${formatIssues(issues)}`);
    this.name = "TailnetSpecError";
  }
}

/** Appends a property or index to a dotted path. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/**
 * What a warning is about, so that each construct reports the warnings of the part it deploys
 * (and the `Tailnet` construct those of parts it did not create).
 */
export type WarningSubject =
  | { readonly kind: "tailnet" }
  | { readonly kind: "headscale" }
  | { readonly kind: "derp-node"; readonly node: string }
  | { readonly kind: "host"; readonly host: string }
  | { readonly kind: "dns" };

/**
 * A legal but risky choice, or something the deployment still needs from its operator. Decided
 * in the model only: the CLI prints these and the constructs annotate them, word for word.
 */
export interface ModelWarning extends ValidationIssue {
  readonly subject: WarningSubject;
}

/** One line for a warning: `path: message (fix: ...)`, as the constructs annotate it. */
export function formatWarning(w: ValidationIssue): string {
  return `${w.path || "(spec)"}: ${w.message} (fix: ${w.fix})`;
}
