/**
 * headscale's policy file. JSON is valid HuJSON, so the file is plain JSON: headscale reads it,
 * and so does every JSON tool. Keys headscale would ignore are never written.
 */
import type { ResolvedTailnet } from "../model/index.js";

/** Renders policy.json, or undefined when the spec has no policy. */
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
  return `${JSON.stringify(file, null, 2)}\n`;
}
