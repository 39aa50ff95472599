/**
 * The tailnet's devices the kit knows about: defaulted (a device without a user belongs to the
 * tailnet's name), and checked: the routes they advertise must be networks a router can serve,
 * outside the tailnet's own prefixes.
 */
import { checkAdvertisedRoute } from "./address-space.js";
import { duplicates, present, type CheckContext } from "./context.js";
import { DEFAULTS, defaultName, nodePrefixesOf } from "./defaults.js";
import { hasHostBits, networkOf, parsePrefix, type Prefix } from "./net.js";
import type { ResolvedDevice } from "./resolved.js";
import type { HeadscaleSpec, TailnetSpec } from "./spec.js";

/** The devices, defaulted (a device without a user belongs to the tailnet's own). */
export function defaultDevices(spec: TailnetSpec): ResolvedDevice[] {
  const d = DEFAULTS.devices;
  const tailnetName = defaultName(spec);
  return (spec.devices ?? []).map((device) => ({
    name: device.name,
    user: device.user ?? tailnetName,
    advertiseRoutes: device.advertiseRoutes ?? d.advertiseRoutes,
    exitNode: device.exitNode ?? d.exitNode,
    tags: device.tags ?? d.tags,
  }));
}

/** The tailnet's node prefixes in effect, parsed (those that do not parse are reported elsewhere). */
function tailnetPrefixes(hs: HeadscaleSpec | undefined): Prefix[] {
  if (!hs) return [];
  const { v4, v6 } = nodePrefixesOf(hs);
  return [v4, v6].flatMap((text) => (text === undefined ? [] : (parsePrefix(text) ?? [])));
}

/** The rules of `devices`: routes they advertise, unique names. */
export function checkDevices(ctx: CheckContext): void {
  const devices = present(ctx.spec.devices);
  const tailnet = tailnetPrefixes(ctx.spec.headscale);
  for (const [device, i] of devices) {
    const path = `devices[${i}]`;
    for (const [route, j] of present(device.advertiseRoutes)) {
      const at = `${path}.advertiseRoutes[${j}]`;
      const p = parsePrefix(route);
      if (!p) ctx.issues.add(at, `${JSON.stringify(route)} is not a CIDR prefix`, `write the subnet as address/bits, e.g. "192.168.100.0/24"`);
      else if (p.bits === 0)
        ctx.issues.add(at, `${JSON.stringify(route)} is a default route`, "remove it and set exitNode: true to offer the device as an exit node");
      else if (hasHostBits(p))
        ctx.issues.add(at, `${JSON.stringify(route)} has host bits set; Tailscale refuses such routes`, `use the network address, "${networkOf(p)}"`);
      else checkAdvertisedRoute(ctx.issues, at, p, tailnet);
    }
  }
  for (const [device, i] of duplicates(devices, (d) => d.name)) {
    ctx.issues.add(`devices[${i}].name`, `${JSON.stringify(device.name)} is used by another device too`, "give every device its own name");
  }
}
