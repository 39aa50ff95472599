/**
 * Per-host files under `hosts/<host>/`:
 * - `firewall.json` for every host: its inbound rules as data, for a cloud security group;
 * - for a VM target, also `systemd/<unit>.service`, `nftables.conf` and `cloud-init.yaml`.
 */
import type { ResolvedTailnet } from "../model/index.js";
import { renderCloudInit } from "./cloud-init.js";
import { hostDir, publicFile, type RenderedFile } from "./files.js";
import { renderFirewallJson } from "./firewall.js";
import { renderNftables } from "./nftables.js";
import { renderSystemdUnits } from "./systemd.js";

/** Every per-host file. */
export function renderHostFiles(tailnet: ResolvedTailnet): RenderedFile[] {
  return tailnet.hosts.flatMap((host) => {
    const dir = hostDir(host.name);
    const files = [publicFile(`${dir}/firewall.json`, renderFirewallJson(tailnet, host))];
    if (host.vm) {
      for (const [unit, content] of renderSystemdUnits(tailnet, host)) files.push(publicFile(`${dir}/systemd/${unit}`, content));
      files.push(publicFile(`${dir}/nftables.conf`, renderNftables(tailnet, host)));
      files.push(publicFile(`${dir}/cloud-init.yaml`, renderCloudInit(tailnet, host)));
    }
    return files;
  });
}
