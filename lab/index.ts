/**
 * `cdktf-tailnet lab`: the whole tailnet of a spec on one Linux machine, with the real programs.
 *
 * 1. The spec goes through the normal pipeline, once (validate, which resolves it): every later
 *    step reads that model, or the lab's, derived from it in step 3.
 * 2. Every host of the model that runs something gets a network namespace, and so does every
 *    declared device and each of N plain clients, all joined through a switch namespace the lab
 *    creates; no namespace has a route off the machine.
 * 3. One named step, `applyLabChanges()`, changes only what a lab must change (addresses,
 *    certificates, file paths; see lab-changes.ts) and renders the result with the kit's renderers.
 * 4. The real headscale, one derper per DERP node (exactly the rendered flags, file paths
 *    relocated) and one tailscaled per device and client (joined with pre-auth keys made with the
 *    headscale CLI, with each device's routes, exit node and tags) start in their namespaces.
 * 5. The checks in checks.ts run, and those of the paths a spec may have: exit nodes
 *    (exit-node.ts), OIDC logins through a provider the lab runs (oidc.ts), IPv6 on the dual-stack
 *    lab network (ipv6.ts); when asked, the fault checks. Every process is stopped by pid and
 *    every namespace deleted at the end, also on failure or interruption.
 *
 * One lab runs at a time: the run takes the machine's lock and records every namespace and process
 * as it makes them (state.ts), so `cdktf-tailnet lab down` can remove what a killed lab left.
 *
 * Each step is a module of its own (run.ts runs them in order): setup.ts, prepare.ts, network.ts,
 * bring-up.ts, run-checks.ts, faults.ts, teardown.ts, report.ts. This file is the lab's public API.
 */
export { runLab, type LabOptions } from "./run.js";
export { LabSetupError, LabSpecInvalid } from "./setup.js";
export { labUnsupportedReason, LabAborted } from "./runtime.js";
export { formatCheckLine, formatLabTable, type LabMachineReport, type LabReport } from "./report.js";
export type { DerpFailure, LabCheck } from "./checks.js";
export type { LabUpgradeTo } from "./faults.js";
export { LAB_BREAKS, type LabBreak, type LabChange } from "./lab-changes.js";
export { LabBinariesMissing } from "./binaries.js";
export { LabBusy, labDown, labStateDir, type LabDownReport } from "./state.js";
