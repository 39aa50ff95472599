/**
 * Exit nodes in the lab. Behind every device that advertises an exit node the lab puts an
 * upstream network: a namespace linked only to the exit node's, standing for the internet, with a
 * listener in it. The `exit-node:<device>` check proves that headscale approved the exit routes
 * with no manual step (the policy's autoApprovers), that a client cannot reach the listener on
 * its own, and that once it uses the exit node (`tailscale set --exit-node`) its traffic leaves
 * through it: the listener answers, and sees the exit node's upstream address as the source.
 */
import { listNodes, short, timed, type CheckContext, type HeadscaleNode, type LabCheck } from "./checks.js";
import { tailnetHostname, type LabMachine } from "./plan.js";

/**
 * The upstream of an exit node: a link (TEST-NET-3) to a gateway namespace, and a listener beyond
 * it (TEST-NET-2); documentation addresses, inside the lab's namespaces only. The listener is not
 * on the link: tailscaled serves no locally attached network through an exit node ("guest
 * wifi"), only what lies beyond its default route.
 */
export const UPSTREAM = { exitAddress: "203.0.113.1", gatewayAddress: "203.0.113.2", listenerAddress: "198.51.100.80", prefixLength: 24 } as const;

/** An upstream network behind one exit node. */
export interface LabUpstream {
  /** Its namespace (within the run): `<exit machine>-up`. */
  readonly name: string;
  /** The exit node's machine. */
  readonly exitNode: string;
  /** The exit node's address on its link to the gateway. */
  readonly exitAddress: string;
  /** The gateway's address: the exit node's default route. */
  readonly gatewayAddress: string;
  /** The listener's address. */
  readonly listenerAddress: string;
  readonly prefixLength: number;
}

/** One upstream network per device that advertises an exit node. */
export function planUpstreams(machines: readonly LabMachine[]): LabUpstream[] {
  return machines.filter((m) => m.device?.exitNode).map((m) => ({ name: `${m.name}-up`, exitNode: m.name, ...UPSTREAM }));
}

const EXIT_ROUTES = ["0.0.0.0/0", "::/0"];

/** A listener's answer: `lab listener <token> from <address>`. */
const ANSWER = /lab listener (\S+) from (\S+)/;

/**
 * The exit node of `exit`: approved by the policy with no manual step, and, once `client` uses
 * it, the only way to the upstream listener. `approvers`: the policy's autoApprovers.exitNode, or
 * undefined when headscale's policy is not the kit's.
 */
export async function checkExitNode(
  ctx: CheckContext,
  up: LabUpstream,
  exit: LabMachine,
  client: LabMachine | undefined,
  listener: { port: number; token: string },
  approvers: readonly string[] | undefined,
): Promise<LabCheck> {
  const name = tailnetHostname(exit);
  const target = `${up.listenerAddress}:${listener.port}`;
  return timed(
    ctx,
    `exit-node:${name}`,
    `exit node ${name}: approved by the policy, and ${client?.name ?? "a client"} reaches ${target} upstream only through it`,
    async () => {
      const t0 = Date.now();
      let node: HeadscaleNode | undefined;
      let advertisedAt: number | undefined;
      const approved = () => EXIT_ROUTES.every((r) => node?.approved_routes?.includes(r));
      // As with routes: headscale approves the moment it learns of them, or not at all.
      while (Date.now() - t0 < 10_000) {
        node = (await listNodes(ctx)).find((x) => x.given_name === name || x.name === name);
        if (approved()) break;
        if (EXIT_ROUTES.every((r) => node?.available_routes?.includes(r))) advertisedAt ??= Date.now();
        if (advertisedAt !== undefined && Date.now() - advertisedAt > 3_000) break;
        await ctx.pause(300);
      }
      if (!approved()) {
        const why =
          approvers === undefined
            ? "headscale's policy is not the kit's, so nothing the kit renders auto-approves it"
            : approvers.length === 0
              ? "the policy's autoApprovers.exitNode is empty"
              : `autoApprovers.exitNode: ${approvers.join(", ")}`;
        return {
          status: "fail",
          detail: `headscale did not approve the exit node ${name} (advertised: ${node?.available_routes?.join(", ") || "none"}; approved: ${node?.approved_routes?.join(", ") || "none"}): ${why}; no client can use it`,
          data: node,
        };
      }
      const approvedMs = Date.now() - t0;
      if (!client) return { status: "pass", detail: `approved with no manual step (${approvedMs} ms); no plain client to use it (--clients 0)`, data: node };

      // Without the exit node, nothing reaches the upstream network.
      const before = await ctx.tailscaleNc(client.name, up.listenerAddress, listener.port, 3_000);
      if (before.stdout.includes(listener.token))
        return {
          status: "fail",
          detail: `${client.name} reached ${target} without an exit node: the upstream network is not behind ${name} alone`,
          data: node,
        };

      const exitIp = (await ctx.self(exit.name)).ipv4 ?? "?";
      let set = "";
      // The client may not have the approval in its map yet: `tailscale set` refuses a peer that offers no exit node.
      for (const deadline = Date.now() + 10_000; ; ) {
        // By name: the CLI looks an address up only in Tailscale's own ranges, not a non-standard prefix.
        const r = await ctx.tailscale(client.name, ["set", `--exit-node=${name}`]);
        if (r.code === 0) break;
        set = (r.stderr || r.stdout).trim();
        if (Date.now() > deadline)
          return { status: "fail", detail: `tailscale set --exit-node=${name} on ${client.name} failed: ${short(set, 240)}`, data: node };
        await ctx.pause(300);
      }
      try {
        let answer: RegExpExecArray | null = null;
        let last = "";
        let attempts = 0;
        for (const deadline = Date.now() + 15_000; !answer && Date.now() < deadline; ) {
          attempts++;
          const r = await ctx.tailscaleNc(client.name, up.listenerAddress, listener.port, 6_000);
          answer = ANSWER.exec(r.stdout);
          if (answer?.[1] !== listener.token) answer = null;
          if (!answer) {
            last = (r.stderr || r.stdout || (r.timedOut ? "timed out" : `exit ${r.code}`)).trim();
            await ctx.pause(300);
          }
        }
        if (!answer)
          return {
            status: "fail",
            detail: `approved, and ${client.name} uses ${name} (${exitIp}) as its exit node, but ${target} did not answer in ${attempts} tries: ${short(last, 200)}`,
            data: node,
          };
        const source = answer[2]!.replace(/^::ffff:/, "");
        if (source !== up.exitAddress)
          return {
            status: "fail",
            detail: `${target} answered ${client.name}, but saw ${source} as the source, not ${name}'s upstream address ${up.exitAddress}`,
            data: node,
          };
        return {
          status: "pass",
          detail: `approved with no manual step (${approvedMs} ms); ${client.name} could not reach ${target} on its own, then through ${name} (${exitIp}) it got the listener's token back, from ${up.exitAddress} (${name}'s upstream address) (${Date.now() - t0} ms)`,
          data: { node, source },
        };
      } finally {
        await ctx.tailscale(client.name, ["set", "--exit-node="]);
      }
    },
  );
}
