/**
 * Reporting the model's warnings as cdktf annotations. The constructs decide no warning of their
 * own about the tailnet: the model does (model/warnings.ts), word for word what the CLI prints.
 * Each L2 construct that deploys a part reports that part's warnings; the `Tailnet` construct
 * reports the rest, on the child they concern.
 */
import { Annotations } from "cdktf";
import type { IConstruct } from "constructs";
import { formatWarning, sameSubject, type ModelWarning, type WarningSubject } from "../model/index.js";

/** The warnings of `subject` in `warnings`. */
export function warningsOf(warnings: readonly ModelWarning[], subject: WarningSubject): ModelWarning[] {
  return warnings.filter((w) => sameSubject(w.subject, subject));
}

/**
 * Annotates each warning on `scope` (what `cdktf synth` and `cdktf deploy` print). For stacks
 * that compose the L2 constructs themselves: report the warnings no L2 reports, e.g.
 * `annotateWarnings(stack, tailnet.warnings.filter((w) => w.subject.kind === "tailnet" || w.subject.kind === "dns"))`.
 */
export function annotateWarnings(scope: IConstruct, warnings: readonly ModelWarning[]): void {
  for (const w of warnings) Annotations.of(scope).addWarning(formatWarning(w));
}
