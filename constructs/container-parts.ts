/** Small shared translations from the model to docker provider blocks. */
import type { ResolvedListener } from "../model/index.js";
import type { ContainerLabels, ContainerPorts } from "./providers.js";
import { contentSha256, terraformString } from "./terraform-text.js";

/** Published ports exactly as the model decided: host address, port, protocol. */
export function publishedPorts(listeners: readonly ResolvedListener[]): ContainerPorts[] {
  return listeners.map((l) => ({ internal: l.port, external: l.port, ip: terraformString(l.hostIp), protocol: terraformString(l.protocol) }));
}

/** Labels naming the tailnet and the content hash of what the container consumes. */
export function contentLabels(tailnet: string, role: string, consumed: readonly string[]): ContainerLabels[] {
  return [
    { label: "cdktf-tailnet.tailnet", value: terraformString(tailnet) },
    { label: "cdktf-tailnet.role", value: terraformString(role) },
    { label: "cdktf-tailnet.inputs-sha256", value: contentSha256(consumed) },
  ];
}

/** Hardening every container of the kit gets: read-only root, no privilege gain, restarts. */
export function hardening(): { readOnly: boolean; securityOpts: string[]; restart: string } {
  return { readOnly: true, securityOpts: ["no-new-privileges:true"], restart: "unless-stopped" };
}

/**
 * The lifecycle of a one-shot container (a seed, a reload, a backup): the Docker provider waits
 * for it to end but does not look at how, so a postcondition fails the apply when it exited
 * non-zero instead of letting a consumer start on stale or missing files.
 */
export function oneShotLifecycle(what: string): { postcondition: { condition: string; errorMessage: string }[] } {
  return {
    postcondition: [
      { condition: "${self.exit_code == 0}", errorMessage: terraformString(`${what} failed (its exit code is not 0): see docker logs of the container`) },
    ],
  };
}
