/**
 * How each device of the model joins the tailnet: the exact `tailscale up` line, and for subnet
 * routers and exit nodes the IP-forwarding sysctl lines they need first.
 */
import type { ResolvedDevice, ResolvedTailnet } from "../model/index.js";
import { shellWords } from "./escape/shell.js";

/** The sysctl settings a device that forwards traffic needs (subnet routers, exit nodes). */
export const FORWARDING_SYSCTL: readonly string[] = ["net.ipv4.ip_forward = 1", "net.ipv6.conf.all.forwarding = 1"];

/**
 * The `tailscale up` command for `device`. `authKey` is the value for `--auth-key`: the key
 * itself, or (the default in the CLI) `file:<path>` so the key never appears in a shell history.
 */
export function joinCommand(tailnet: ResolvedTailnet, device: ResolvedDevice, authKey: string): string {
  const args = [
    "tailscale",
    "up",
    `--login-server=${tailnet.headscale.serverUrl}`,
    `--auth-key=${authKey}`,
    `--hostname=${device.name}`,
    "--accept-routes",
    ...(device.advertiseRoutes.length > 0 ? [`--advertise-routes=${device.advertiseRoutes.join(",")}`] : []),
    ...(device.exitNode ? ["--advertise-exit-node"] : []),
    ...(device.tags.length > 0 ? [`--advertise-tags=${device.tags.join(",")}`] : []),
  ];
  return shellWords(args);
}

/** Whether the device forwards traffic for others. */
export function forwards(device: ResolvedDevice): boolean {
  return device.advertiseRoutes.length > 0 || device.exitNode;
}

/** The shell lines that turn forwarding on, persistently, for a forwarding device. */
export function forwardingSetup(device: ResolvedDevice): string[] {
  if (!forwards(device)) return [];
  return [`printf '%s\\n' ${shellWords(FORWARDING_SYSCTL)} | sudo tee /etc/sysctl.d/99-tailscale.conf`, "sudo sysctl -p /etc/sysctl.d/99-tailscale.conf"];
}
