/**
 * headscale's policy file. JSON is valid HuJSON, so the spec's policy is plain JSON: headscale
 * reads it, and so does every JSON tool. Keys headscale would ignore are never written (headscale
 * refuses unknown keys). A policy the kit derives (the spec has none, devices advertise routes or
 * exit nodes) says so in a HuJSON comment on its first lines, the one place the file can.
 */
import type { ResolvedTailnet } from "../model/index.js";

/** The comment that opens a derived policy: fixed text, nothing from the spec. */
export const DERIVED_POLICY_COMMENT = [
  "// Rendered by cdktf-tailnet: the spec has no policy, but devices advertise routes or exit nodes.",
  "// This keeps headscale's behaviour without a policy (every node reaches every other: the one ACL",
  "// below) and adds autoApprovers for those routes, so none waits for `headscale nodes approve-routes`.",
  "// Give the spec a policy to decide access yourself.",
].join("\n");

/** Renders policy.json, or undefined when the kit renders no policy. */
export function renderPolicy(tailnet: ResolvedTailnet): string | undefined {
  const p = tailnet.policy;
  if (!p) return undefined;
  const routes = Object.keys(p.autoApprovers.routes).length > 0 ? { routes: p.autoApprovers.routes } : {};
  const exitNode = p.autoApprovers.exitNode.length > 0 ? { exitNode: p.autoApprovers.exitNode } : {};
  const file = {
    ...(Object.keys(p.groups).length > 0 && { groups: p.groups }),
    ...(Object.keys(p.hosts).length > 0 && { hosts: p.hosts }),
    ...(Object.keys(p.tagOwners).length > 0 && { tagOwners: p.tagOwners }),
    acls: p.acls,
    autoApprovers: { ...routes, ...exitNode },
    ...(p.randomizeClientPort && { randomizeClientPort: true }),
  };
  const json = `${JSON.stringify(file, null, 2)}\n`;
  return p.origin === "derived" ? `${DERIVED_POLICY_COMMENT}\n${json}` : json;
}
