/**
 * Per-host files under `hosts/<host>/`:
 * - `firewall.json` for every host: its inbound rules as data, for a cloud security group;
 * - for a VM target, also `systemd/<unit>.service`, `nftables.conf` and `cloud-init.yaml` (and,
 *   when that is 16 KiB or more, `cloud-init.yaml.gz.b64`: the same gzipped and base64-encoded).
 */
import type { PreparedTailnet } from "../model/index.js";
import { renderCloudInit, renderCloudInitGzipBase64, USER_DATA_LIMIT } from "./cloud-init.js";
import { hostDir, publicFile, type RenderedFile } from "./files.js";
import { renderFirewallJson } from "./firewall.js";
import { renderNftables } from "./nftables.js";
import { renderSystemdUnits } from "./systemd.js";

/** Every per-host file. */
export function renderHostFiles(tailnet: PreparedTailnet): RenderedFile[] {
  return tailnet.hosts.flatMap((host) => {
    const dir = hostDir(host.name);
    const files = [publicFile(`${dir}/firewall.json`, renderFirewallJson(tailnet, host))];
    if (host.vm) {
      for (const [unit, content] of renderSystemdUnits(tailnet, host)) files.push(publicFile(`${dir}/systemd/${unit}`, content));
      files.push(publicFile(`${dir}/nftables.conf`, renderNftables(tailnet, host)));
      const userData = renderCloudInit(tailnet, host);
      files.push(publicFile(`${dir}/cloud-init.yaml`, userData));
      // Too big for clouds that take 16 KiB: the same, gzipped (cloud-init decompresses it), base64 for their APIs.
      if (Buffer.byteLength(userData) >= USER_DATA_LIMIT) files.push(publicFile(`${dir}/cloud-init.yaml.gz.b64`, renderCloudInitGzipBase64(userData)));
    }
    return files;
  });
}
