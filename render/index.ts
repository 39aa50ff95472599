/**
 * Renderers: pure functions from the resolved model to files. No I/O, no cdktf; the CLI writes
 * the files, the constructs upload them.
 */
import type { PreparedTailnet } from "../model/index.js";
import { renderDerpJson } from "./derp-json.js";
import { renderDerpYaml } from "./derp-yaml.js";
import { renderDerperDockerfile } from "./derper-image.js";
import { publicFile, type RenderedFile } from "./files.js";
import { renderHeadscaleConfig } from "./headscale-config.js";
import { renderPolicy } from "./policy.js";
import { renderHostFiles } from "./hosts.js";
import { renderAcmeFiles } from "./acme.js";
import { renderDdnsFiles } from "./ddns.js";
import { renderBackupFiles } from "./backup.js";

export { buildDerpMap, type DerpMap, type DerpMapNode, type DerpMapRegion } from "./derp-map.js";
export { renderDerpJson } from "./derp-json.js";
export { renderDerpYaml } from "./derp-yaml.js";
export { hostDir, publicFile, type RenderedFile } from "./files.js";
export { headscaleConfigObject, renderHeadscaleConfig } from "./headscale-config.js";
export { renderPolicy } from "./policy.js";

/**
 * The files headscale reads, under `headscale/`: config.yaml, derp.yaml (when there is anything
 * to put in it) and policy.json (when the spec has a policy).
 */
export function renderHeadscaleFiles(tailnet: PreparedTailnet): RenderedFile[] {
  const files = [publicFile("headscale/config.yaml", renderHeadscaleConfig(tailnet))];
  if (tailnet.headscale.derpMapPaths.length > 0) files.push(publicFile("headscale/derp.yaml", renderDerpYaml(tailnet)));
  const policy = renderPolicy(tailnet);
  if (policy !== undefined) files.push(publicFile("headscale/policy.json", policy));
  return files;
}

/** A rendered file and the absolute path it has on the host (or in the container) that reads it. */
export interface PlacedFile {
  readonly hostPath: string;
  readonly file: RenderedFile;
}

/**
 * headscale's files where headscale reads them: config.yaml in its config directory, derp.yaml
 * and the policy at the paths config.yaml names.
 */
export function placeHeadscaleFiles(tailnet: PreparedTailnet): PlacedFile[] {
  const hs = tailnet.headscale;
  const where: Record<string, string | undefined> = {
    "headscale/config.yaml": `${hs.paths.configDir}/config.yaml`,
    "headscale/derp.yaml": hs.derpMapPaths[0],
    "headscale/policy.json": hs.policy.path,
  };
  return renderHeadscaleFiles(tailnet).map((file) => ({ hostPath: where[file.path]!, file }));
}

/**
 * Every file of the output tree, sorted by path:
 * - `headscale/config.yaml`: headscale's configuration;
 * - `headscale/derp.yaml`: the DERP map headscale loads (when there is anything to put in it);
 * - `derp.json`: the same map in Tailscale's JSON format;
 * - `derper/Dockerfile`: builds derper at the pinned Tailscale release (unless the spec names an image);
 * - `hosts/<host>/firewall.json` for every host, and for a VM target `hosts/<host>/systemd/*.service`,
 *   `hosts/<host>/nftables.conf` and `hosts/<host>/cloud-init.yaml` (render/hosts.ts);
 * - `hosts/<host>/ddns/*` for a dynamic host's DNS updater (render/ddns.ts), and `hosts/<host>/acme/*`
 *   for the DNS-01 ACME client of its DERP nodes (render/acme.ts);
 * - `hosts/<host>/backup/*` for the backups of headscale's state on its host (render/backup.ts).
 */
export function renderTailnet(tailnet: PreparedTailnet): RenderedFile[] {
  const files: RenderedFile[] = [...renderHeadscaleFiles(tailnet), publicFile("derp.json", renderDerpJson(tailnet))];
  if (tailnet.derp.derperImage === undefined && tailnet.derp.regions.length > 0) files.push(publicFile("derper/Dockerfile", renderDerperDockerfile(tailnet)));
  files.push(...renderHostFiles(tailnet));
  files.push(...renderDdnsFiles(tailnet), ...renderAcmeFiles(tailnet), ...renderBackupFiles(tailnet));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
export { DERPER_IMAGE_USER, derperBuildImage, derperImageTag, renderDerperDockerfile } from "./derper-image.js";
export {
  cloudInitObject,
  renderCloudInit,
  renderCloudInitGzipBase64,
  renderVmInstallScript,
  USER_DATA_LIMIT,
  vmFiles,
  vmNotes,
  type VmFile,
} from "./cloud-init.js";
export { REMOTE_PROLOGUE, vmProvisionSteps, type ProvisionOptions, type ProvisionStep, type ProvisionUpload } from "./vm-provision.js";
export { ALWAYS_ALLOWED, firewallObject, renderFirewallJson } from "./firewall.js";
export { renderHostFiles } from "./hosts.js";
export { NFTABLES_TABLE, renderNftables } from "./nftables.js";
export { renderServiceUnit, renderSystemdUnits, systemdQuote } from "./systemd.js";
export { acmeSettings, renderAcmeDockerfile, renderAcmeEnv, renderAcmeFiles, renderAcmeUnits } from "./acme.js";
export {
  ddnsSettings,
  HELPER_BASE_IMAGE,
  providerSecret,
  renderDdnsDockerfile,
  renderDdnsEnv,
  renderDdnsFiles,
  renderDdnsScript,
  renderDdnsUnits,
} from "./ddns.js";
export { renderEnvFile } from "./env-file.js";
export { shSingleQuote, shellQuote } from "./escape/shell.js";
export { dnsHelperInstall, type DnsHelperInstall, type HostHelperFile } from "./dns-host-files.js";
export {
  backupExecStartPre,
  backupInstall,
  backupOf,
  backupPackages,
  backupSecrets,
  backupSettings,
  HEADSCALE_SYSTEM_USER,
  renderBackupDockerfile,
  renderBackupEnv,
  renderBackupFiles,
  renderBackupScript,
  renderBackupUnits,
  type BackupInstall,
  type BackupSecret,
} from "./backup.js";
