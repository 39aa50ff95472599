/**
 * Validation: the structural check against the schema, then every feature's rules (each a
 * `check...(ctx)` over one context: every rule headscale enforces at start for the target version
 * (FORMATS.md §1.2), the DERP map's rules, the kit's own safety rules), then the rules that need
 * the resolved model. Each rule reports into one list, so a spec with five problems gets five
 * messages, each naming the field and the fix.
 */
import { checkAcme } from "./acme.js";
import { checkSharedAddresses } from "./addresses.js";
import { checkAdvisories } from "./advisories.js";
import { checkContext, type CheckContext, type ModelCheckContext } from "./context.js";
import { checkDdns } from "./ddns.js";
import { checkDerp, checkDerper } from "./derp.js";
import { checkDevices } from "./devices.js";
import { checkDnsZone } from "./dns-records.js";
import { checkFirewallModel } from "./firewall.js";
import { checkHeadscale, checkVersion } from "./headscale.js";
import { checkHosts, checkHostsModel } from "./hosts.js";
import { IssueList, type ModelWarning, type ValidationIssue } from "./issues.js";
import { checkUserNameCase } from "./name-collisions.js";
import { checkPolicy, checkUsers } from "./policy.js";
import type { ResolvedTailnet } from "./resolved.js";
import { resolve } from "./resolve.js";
import type { TailnetSpec } from "./spec.js";
import { checkStructure, withoutConsequences } from "./structure.js";
import { checkVm } from "./vm.js";
import { withSubjects } from "./warnings.js";

/** The outcome of validate(): the typed spec when there are no issues. */
export type ValidationResult =
  | {
      readonly ok: true;
      readonly spec: TailnetSpec;
      /** The spec resolved (every default filled, everything derived), as `resolve(spec)` returns it. */
      readonly resolved: ResolvedTailnet;
      readonly issues: readonly [];
      /** Every warning: the validation's and those that follow from the resolved model (also `resolved.warnings`). */
      readonly warnings: readonly ModelWarning[];
    }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[]; readonly warnings: readonly ModelWarning[] };

/** The rules on the (structurally sanitized) spec, feature by feature, in the order they report. */
const SPEC_CHECKS: readonly ((ctx: CheckContext) => void)[] = [
  checkHeadscale,
  checkDerp,
  checkDerper,
  checkHosts,
  checkVm,
  checkDnsZone,
  checkDdns,
  checkAcme,
  checkDevices,
  checkUsers,
  checkUserNameCase,
  checkPolicy,
  checkAdvisories,
];

/** The rules that need the resolved model: sockets that collide on a host, SSH's port, shared addresses. */
const MODEL_CHECKS: readonly ((ctx: ModelCheckContext) => void)[] = [checkHostsModel, checkFirewallModel, checkSharedAddresses];

/**
 * Validates a spec from any source (a TypeScript object or parsed YAML) and reports every problem
 * at once. Nothing is written or deployed by anything in the kit until this passes.
 */
export function validate(input: unknown): ValidationResult {
  const issues = new IssueList();
  const warnings = new IssueList();
  const sanitized = checkStructure(input, issues) as TailnetSpec | undefined;
  const structural = issues.length;
  if (sanitized !== undefined) {
    const version = sanitized.headscale ? checkVersion(sanitized, issues) : undefined;
    const ctx = checkContext(sanitized, input, issues, warnings, version);
    for (const check of SPEC_CHECKS) check(ctx);
  }
  const resolved = issues.length === 0 ? resolve(input as TailnetSpec) : undefined;
  if (resolved) {
    const ctx: ModelCheckContext = { tailnet: resolved, issues, warnings };
    for (const check of MODEL_CHECKS) check(ctx);
  }
  const validationWarnings = withSubjects(warnings.issues, sanitized ?? ({} as TailnetSpec));
  if (issues.length > 0 || !resolved) return { ok: false, issues: withoutConsequences(issues.issues, structural), warnings: validationWarnings };
  const all = [...validationWarnings, ...resolved.warnings];
  return { ok: true, spec: input as TailnetSpec, resolved: { ...resolved, warnings: all }, issues: [], warnings: all };
}
