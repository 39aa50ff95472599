/**
 * A lab run's first step, before anything on the machine is touched: the spec through the normal
 * pipeline once (validate, which resolves it: the one model the run plans from, issues its
 * certificates for and reports on), the options and the machine checked, the programs found, and
 * the machines planned (plan.ts). Whatever is wrong here throws a LabSetupError: nothing started.
 */
import {
  findHeadscaleVersion,
  formatIssues,
  SUPPORTED_HEADSCALE_VERSIONS,
  validate,
  type ResolvedTailnet,
  type TailnetSpec,
  type ValidationIssue,
} from "../model/index.js";
import { findLabBinaries, type BinaryOverrides, type LabBinaries } from "./binaries.js";
import { LAB_BREAKS, type LabBreak } from "./lab-changes.js";
import { planLab, type LabPlan } from "./plan.js";
import { labUnsupportedReason, type LabRuntime } from "./runtime.js";

/** What the setup reads of a lab's options (LabOptions in run.ts has them all). */
export interface LabSetupOptions {
  /** The spec, as loaded from its file (not yet validated). */
  readonly spec: unknown;
  /** Plain clients besides the declared devices (default 2; the relay and mesh checks need 2). */
  readonly clients?: number;
  /** Run this headscale version instead of the spec's. */
  readonly headscaleVersion?: string;
  readonly binaries?: BinaryOverrides;
  /** Break these checks' preconditions on purpose (tests of the checks; each is listed with the lab's changes). */
  readonly breaks?: readonly LabBreak[];
}

/** The spec is invalid, or the machine cannot run a lab: nothing was started. */
export class LabSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabSetupError";
  }
}

/** The spec has problems (`issues`, as validate() reports them): nothing was started. */
export class LabSpecInvalid extends LabSetupError {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`the spec has ${issues.length} problem(s):\n${formatIssues(issues)}`);
    this.name = "LabSpecInvalid";
  }
}

/** What a run decided before it touched the machine. */
export interface LabSetup {
  /** The spec as validated. */
  readonly spec: TailnetSpec;
  /** The spec resolved, by that one validation: every later step reads this model (or the lab's, derived from it). */
  readonly model: ResolvedTailnet;
  readonly plan: LabPlan;
  /** `--headscale-version` as given (the lab changes the spec's version only when it is given). */
  readonly headscaleVersionOption: string | undefined;
  /** The headscale release the lab runs, without `v`. */
  readonly headscaleVersion: string;
  /** The Tailscale release of derper, tailscaled and tailscale. */
  readonly tailscaleVersion: string;
  readonly bins: LabBinaries;
  readonly breaks: readonly LabBreak[];
}

/** A run in progress, as the steps after the setup share it. */
export interface LabRun {
  readonly setup: LabSetup;
  /** Namespaces are `tl<runId>-<machine>`. */
  readonly runId: string;
  /** The run directory: everything the run writes is in it. */
  readonly runDir: string;
  /** Where every process of the run logs. */
  readonly logDir: string;
  readonly rt: LabRuntime;
  readonly progress: (line: string) => void;
}

/** Validates and resolves the spec (once), checks the options and the machine, finds the programs and plans the machines. */
export function setUpLab(options: LabSetupOptions): LabSetup {
  const validated = validate(options.spec);
  if (!validated.ok) throw new LabSpecInvalid(validated.issues);
  const model = validated.resolved;
  const headscaleVersion = (options.headscaleVersion ?? model.headscale.version.version).replace(/^v/, "");
  if (!findHeadscaleVersion(headscaleVersion))
    throw new LabSetupError(`--headscale-version ${headscaleVersion}: the kit renders for headscale ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")}`);
  const tailscaleVersion = model.derp.derperVersion;
  const unsupported = labUnsupportedReason();
  if (unsupported) throw new LabSetupError(unsupported);
  const bins = findLabBinaries({ headscale: headscaleVersion, tailscale: tailscaleVersion }, options.binaries);
  const clients = options.clients ?? 2;
  if (!Number.isInteger(clients) || clients < 0 || clients > 50) throw new LabSetupError(`--clients must be a whole number from 0 to 50, got ${clients}`);
  const breaks = [...new Set(options.breaks ?? [])];
  for (const b of breaks) if (!LAB_BREAKS.includes(b)) throw new LabSetupError(`unknown break ${JSON.stringify(b)}; breaks: ${LAB_BREAKS.join(", ")}`);
  return {
    spec: validated.spec,
    model,
    plan: planLab(model, clients),
    headscaleVersionOption: options.headscaleVersion,
    headscaleVersion,
    tailscaleVersion,
    bins,
    breaks,
  };
}
