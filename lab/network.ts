/**
 * The lab's network: a switch namespace and one namespace per planned machine (dual-stack, no
 * route off the machine), each mesh client cut off from its region's other nodes, a LAN behind
 * each subnet router and "the internet" behind each exit node, each with a listener that answers
 * with a token only the checks know.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { allNodes } from "../model/index.js";
import type { LabTailnet } from "./lab-changes.js";
import { LAB_SUBNET6, machineOfNode } from "./plan.js";
import type { LabRun } from "./setup.js";

/** The port of the listener on each LAN behind a subnet router. */
export const LISTENER_PORT = 8080;
/** The listener: answers every connection with its token and the address it came from (argv: token, address, port). */
const LISTENER_JS =
  'const [t, a, p] = process.argv.slice(1); require("net").createServer((s) => s.end(`lab listener ${t} from ${s.remoteAddress}\\n`)).listen(Number(p), a, () => console.log(`listening on ${a}:${p}`));';

/** A listener the lab started: where it listens, and the token it answers with. */
export interface LabListener {
  readonly port: number;
  readonly token: string;
}

/** Creates the namespaces, links and listeners of the plan; the listeners by LAN or upstream name. */
export async function createLabNetwork(run: LabRun, lab: LabTailnet): Promise<Map<string, LabListener>> {
  const { rt, logDir, progress } = run;
  const { plan } = run.setup;
  const listeners = new Map<string, LabListener>();
  await rt.createNetwork(plan);
  progress(
    `network: switch ${rt.switchNamespace} and ${plan.machines.length} namespaces (${plan.machines.map((m) => `${m.name} ${m.ipv6Only ? `${m.address6} (IPv6 only)` : m.address}`).join(", ")}), dual-stack (IPv6 ${LAB_SUBNET6.prefix}/${LAB_SUBNET6.length}), no route off the machine`,
  );
  for (const m of plan.machines.filter((x) => x.mesh)) {
    for (const node of m.mesh!.blocked) {
      await rt.blockAddress(m.name, machineOfNode(plan, node).address);
      await rt.blockAddress(m.name, machineOfNode(plan, node).address6);
    }
    progress(
      `  ${m.name}: reaches only ${m.mesh!.node} of ${m.mesh!.regionCode} (unreachable route to ${m.mesh!.blocked.join(", ")}), so it homes on that node`,
    );
  }
  if (plan.idleHosts.length > 0) progress(`  hosts that run nothing get no namespace: ${plan.idleHosts.join(", ")}`);
  if (lab.breaks.has("ipv6-stun-closed")) {
    for (const node of allNodes(lab.tailnet).filter((n) => n.ipv6 !== undefined && n.stunPort > 0 && lab.derperArgs.has(n.name)))
      await rt.dropIpv6Udp(machineOfNode(plan, node.name).name, node.stunPort);
  }
  // A LAN behind each subnet router, with a listener that answers with a token.
  const links = new Map<string, number>();
  const linkName = (machine: string, kind: "lan" | "up") => {
    const n = links.get(machine) ?? 0;
    links.set(machine, n + 1);
    return `${kind}${n}`;
  };
  const startListener = (name: string, address: string) => {
    const token = randomBytes(8).toString("hex");
    listeners.set(name, { port: LISTENER_PORT, token });
    rt.start(`listener ${name}`, name, [process.execPath, "-e", LISTENER_JS, token, address, String(LISTENER_PORT)], {
      logFile: join(logDir, `listener-${name}.log`),
    });
  };
  for (const lan of plan.lans) {
    await rt.createLan(lan.router, lan.name, lan.routerAddress, lan.listenerAddress, lan.prefixLength, linkName(lan.router, "lan"));
    startListener(lan.name, lan.listenerAddress);
    progress(
      `  ${lan.name}: ${lan.route} behind ${lan.router} (${lan.router} ${lan.routerAddress}, a listener on ${lan.listenerAddress}:${LISTENER_PORT}); reached only through ${lan.router}`,
    );
  }
  // "The internet" behind each exit node: reached only through it.
  for (const up of plan.upstreams) {
    await rt.createUpstream(up.exitNode, up.name, up, linkName(up.exitNode, "up"));
    startListener(up.name, up.listenerAddress);
    progress(
      `  ${up.name}: the upstream behind exit node ${up.exitNode} (its default route, via ${up.gatewayAddress}), a listener on ${up.listenerAddress}:${LISTENER_PORT} beyond it; reached only through ${up.exitNode}`,
    );
  }
  return listeners;
}
