/**
 * Hardened systemd units for the services of a VM host (templates/headscale.service.hbs,
 * templates/derper.service.hbs, both including templates/systemd-hardening.hbs). Each service runs
 * as its own system user with state and runtime directories systemd creates and hands to it,
 * `Restart=always`, and full sandboxing; a service that binds a port below 1024 gets
 * CAP_NET_BIND_SERVICE as its only capability, every other one a user namespace of its own.
 * Target: `systemd-analyze security --offline=true` exposure at most 1.5 for every unit.
 */
import { DERPER_PATHS, type ResolvedHost, type ResolvedTailnet, type ResolvedVmService } from "../model/index.js";
import { unitName } from "./escape/systemd.js";
import { backupExecStartPre } from "./backup.js";
import { renderTemplate } from "./templates.js";
import { nodesOfHost } from "../model/walk.js";
import { derperArgs, headscaleArgs } from "./command-lines.js";

/** One command-line word as systemd parses it (escape/systemd.ts). */
export { execWord as systemdQuote } from "./escape/systemd.js";

/** A unit's text. */
export function renderServiceUnit(tailnet: ResolvedTailnet, host: ResolvedHost, service: ResolvedVmService): string {
  const derpNode = service.program === "derper" ? nodesOfHost(tailnet, host)[0] : undefined;
  return renderTemplate(`${service.program}.service`, {
    host: host.name,
    tailnet: tailnet.name,
    description: service.description,
    user: service.user,
    execStart: [service.binaryPath, ...(derpNode ? derperArgs(derpNode) : headscaleArgs(`${tailnet.headscale.paths.configDir}/config.yaml`))],
    reloadsOnHup: service.reloadsOnHup,
    environmentFile: service.environmentFile ?? false,
    workingDirectory: service.workingDirectory,
    stateDirectories: service.stateDirectories,
    runtimeDirectory: service.runtimeDirectory ?? false,
    configDirectory: service.configDirectory,
    bindsPrivilegedPorts: service.bindsPrivilegedPorts,
    addressFamilies: service.addressFamilies,
    meshKeyFile: derpNode && derpNode.derper.mesh.length > 0 ? DERPER_PATHS.meshKeyFile : false,
    beforeStart: service.program === "headscale" ? beforeStart(tailnet) : false,
  });
}

/** What headscale's unit runs before it starts during an upgrade or a rollback (render/backup.ts). */
function beforeStart(tailnet: ResolvedTailnet): { steps: string[][]; dir: string; what: string } | false {
  const backup = tailnet.headscale.backup;
  const steps = backupExecStartPre(backup);
  if (steps.length === 0) return false;
  const what = backup!.beforeStart.map((s) =>
    s.step === "pre-upgrade"
      ? `upgrading headscale ${s.from} -> ${s.to}: before ${s.to} first starts, a backup of ${s.from}'s database and keys (kept for a rollback)`
      : `rolling headscale back ${s.from} -> ${s.to}: before ${s.to} starts, the backup taken before ${s.from} was deployed is restored`,
  );
  return { steps, dir: backup!.paths.dir, what: what.join("; ") };
}

/** Every unit of a VM host, `[unit file name, text]`; none for a host that is not a VM target. */
export function renderSystemdUnits(tailnet: ResolvedTailnet, host: ResolvedHost): [string, string][] {
  return (host.vm?.services ?? []).map((s) => [unitName(s.unit), renderServiceUnit(tailnet, host, s)]);
}
