/**
 * The lab's programs brought up in their namespaces, in order: the OpenID Connect provider (when
 * the model has `oidc`), headscale, one derper per DERP node (exactly the rendered flags, file
 * paths relocated), the users and pre-auth keys (made with the headscale CLI), and one tailscaled
 * per device and client, joined with its key, routes, exit node and tags. Every process is
 * started through the runtime, which records it for the teardown (and `lab down`).
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { headscaleArgs } from "../render/command-lines.js";
import { allNodes, type ResolvedTailnet } from "../model/index.js";
import { joinHostPort } from "../model/net.js";
import type { CheckContext } from "./checks.js";
import type { LabChange, LabChangeInputs, LabTailnet } from "./lab-changes.js";
import type { LabOidcRun } from "./oidc.js";
import { headscaleMachine, joinsWithKey, machineOfNode, tailnetHostname, type LabMachine } from "./plan.js";
import type { LabProcess, LabRuntime, RunResult } from "./runtime.js";
import type { LabRun } from "./setup.js";

const TAILSCALED_ENV = { TS_DEBUG_ALWAYS_USE_DERP: "true" };

/** How the lab runs every tailscaled, as listed with the lab's changes. */
export const TAILSCALED_CHANGES: readonly LabChange[] = [
  {
    subject: "tailscaled (every device and client)",
    from: "direct connections when possible",
    to: "TS_DEBUG_ALWAYS_USE_DERP=true",
    why: "traffic between lab machines must go through the DERP relays the checks are about",
  },
  {
    subject: "tailscaled (every device and client)",
    from: "a TUN device",
    to: "--tun=userspace-networking",
    why: "in TUN mode tailscaled rewrites /etc/resolv.conf (with temporary files in the machine's real /etc) and installs netfilter rules; the control, DERP and disco paths the checks use are the same",
  },
];

/** The running lab: its programs, and how the checks and drills reach them. */
export interface Running {
  readonly derpers: Map<string, LabProcess>;
  readonly tailscaleds: Map<string, LabProcess>;
  readonly tailscale: (machine: string, args: readonly string[], timeoutMs?: number) => Promise<RunResult>;
  readonly tailscaleNc: (machine: string, host: string, port: number, timeoutMs: number) => Promise<RunResult>;
  readonly pingOnce: CheckContext["pingOnce"];
  readonly headscaleCli: (args: readonly string[]) => Promise<RunResult>;
  /** The running headscale (a new process after a restart). */
  headscale: LabProcess;
  readonly headscaleUp: () => Promise<boolean>;
  readonly startHeadscale: (name: string) => Promise<LabProcess>;
  /** The headscale program the lab starts (and runs its CLI from) from now on: the upgrade drill switches it. */
  useHeadscale(binary: string): void;
  /** Starts a tailscaled (userspace, as every other) in a machine; resolves once its socket is there. */
  readonly startTailscaled: (machine: string) => Promise<void>;
}

function tail(text: string, lines = 15): string {
  return text
    .trimEnd()
    .split("\n")
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join("\n");
}

async function waitFor(rt: LabRuntime, what: string, proc: LabProcess | undefined, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc?.exit) throw new Error(`${what} exited (${proc.exit.code ?? proc.exit.signal}) before it was ready; its log:\n${tail(proc.log())}`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready after ${timeoutMs / 1000}s${proc ? `; its log:\n${tail(proc.log())}` : ""}`);
    await rt.pause(150);
  }
}

/**
 * Starts the lab's programs on the prepared tailnet (`lab`, and the paths it was made with) and
 * resolves once every tailscaled joined; `phase` ends each timed phase of the start-up.
 */
export async function bringUp(
  run: LabRun,
  lab: LabTailnet,
  inputs: LabChangeInputs,
  oidcRun: LabOidcRun | undefined,
  phase: (name: string) => void,
): Promise<Running> {
  const { rt, runDir, logDir, progress } = run;
  const { plan, bins } = run.setup;
  const tailnet: ResolvedTailnet = lab.tailnet;
  const hsMachine = headscaleMachine(plan);
  const configPath = join(tailnet.headscale.paths.configDir, "config.yaml");

  // headscale
  let t = Date.now();
  const health = `${tailnet.headscale.serverUrl.replace(/\/+$/, "")}/health`;
  const headscaleUp = async () => {
    const r = await rt.run(hsMachine.name, ["curl", "-s", "--max-time", "2", "--cacert", rt.baseEnv.SSL_CERT_FILE!, health], { timeoutMs: 5_000 });
    return r.code === 0 && r.stdout.includes('"pass"');
  };
  let headscaleBinary = bins.headscale;
  const startHeadscale = async (name: string) => {
    const proc = rt.start(name, hsMachine.name, [headscaleBinary, ...headscaleArgs(configPath)], {
      logFile: join(logDir, `${name.replace(/[^a-z0-9-]+/g, "-").replace(/-+$/, "")}.log`),
      cwd: tailnet.headscale.paths.stateDir,
    });
    await waitFor(rt, name, proc, 30_000, headscaleUp);
    return proc;
  };
  if (oidcRun) {
    const p = { machine: oidcRun.provider, env: oidcRun.env, issuer: oidcRun.issuer };
    const proc = rt.start("oidc provider", p.machine, [bins.headscale, "mockoidc"], { env: p.env, logFile: join(logDir, "oidc-provider.log") });
    await waitFor(rt, "the OpenID Connect provider (headscale mockoidc)", proc, 20_000, async () => {
      const r = await rt.run(p.machine, ["curl", "-s", "--max-time", "2", `${p.issuer}/.well-known/openid-configuration`], { timeoutMs: 5_000 });
      return r.code === 0 && r.stdout.includes('"issuer"');
    });
    progress(
      `oidc provider: headscale mockoidc up on ${p.machine} (${p.issuer}), before headscale, which ${lab.tailnet.headscale.oidc?.onlyStartIfAvailable ? "refuses to start without it (only_start_if_oidc_is_available)" : "would start without it"}`,
    );
  }
  const headscale = await startHeadscale("headscale");
  progress(
    `headscale ${tailnet.headscale.version.version}: up on ${hsMachine.name} (${hsMachine.address}), ${health} answers over TLS from the lab CA (${Date.now() - t} ms)`,
  );
  phase("headscale");
  const headscaleCli = (args: readonly string[]) => rt.run(hsMachine.name, [headscaleBinary, "-c", configPath, ...args], { timeoutMs: 20_000 });

  // derpers
  t = Date.now();
  const derpers = new Map<string, LabProcess>();
  const nodes = allNodes(tailnet).filter((n) => lab.derperArgs.has(n.name));
  for (const node of nodes) {
    const machine = machineOfNode(plan, node.name);
    // In the folder of its files (its key file is derper's -c).
    const cwd = dirname(inputs.derperPaths(node.name).keyFile);
    derpers.set(
      node.name,
      rt.start(`derper ${node.name}`, machine.name, [bins.derper, ...lab.derperArgs.get(node.name)!], {
        logFile: join(logDir, `derper-${node.name}.log`),
        cwd,
      }),
    );
  }
  await Promise.all(
    nodes.map(async (node) => {
      if (node.stunOnly) return;
      const machine = machineOfNode(plan, node.name);
      const url = `https://${joinHostPort(node.hostname, node.derpPort)}/derp/probe`;
      const tls = node.hostnameIsIp ? ["-k"] : ["--cacert", rt.baseEnv.SSL_CERT_FILE!];
      await waitFor(rt, `derper ${node.name}`, derpers.get(node.name), 20_000, async () => {
        const r = await rt.run(machine.name, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", ...tls, url], { timeoutMs: 5_000 });
        return r.code === 0 && /^[1-5]\d\d$/.test(r.stdout.trim());
      });
    }),
  );
  progress(`derper: ${nodes.length} nodes up (${nodes.map((n) => `${n.name} on ${machineOfNode(plan, n.name).name}`).join(", ")}) (${Date.now() - t} ms)`);
  phase("derpers");

  // users and pre-auth keys, with the headscale CLI: the model's users (with their key settings),
  // the clients' user; devices (and a client joining as a model user) get a key each, as the
  // model says; the plain clients share one reusable key of the lab's own.
  t = Date.now();
  const members = plan.machines.filter(joinsWithKey);
  const userIds = new Map<string, string>();
  const userOf = (m: LabMachine) => m.device?.user ?? m.user ?? tailnet.name;
  const keySettings = new Map(tailnet.users.map((u) => [u.name, u.preAuthKey]));
  for (const user of new Set([...tailnet.users.map((u) => u.name), ...members.map(userOf)])) {
    const r = await headscaleCli(["users", "create", user, "-o", "json"]);
    if (r.code !== 0) throw new Error(`headscale users create ${user} failed: ${r.stderr.trim() || r.stdout.trim()}`);
    const id = (JSON.parse(r.stdout) as { id?: number | string }).id;
    if (id === undefined) throw new Error(`headscale users create ${user} printed no id: ${r.stdout}`);
    userIds.set(user, String(id));
  }
  const createKey = async (
    forWhat: string,
    user: string,
    settings: { expiration: string; reusable: boolean; ephemeral: boolean } | undefined,
    tags: readonly string[],
  ) => {
    const args = [
      "preauthkeys",
      "create",
      "-u",
      userIds.get(user)!,
      "-e",
      settings?.expiration ?? "1h",
      ...(settings?.reusable ? ["--reusable"] : []),
      ...(settings?.ephemeral ? ["--ephemeral"] : []),
      ...(tags.length ? ["--tags", tags.join(",")] : []),
      "-o",
      "json",
    ];
    const r = await headscaleCli(args);
    if (r.code !== 0) throw new Error(`headscale preauthkeys create for ${forWhat} failed: ${r.stderr.trim() || r.stdout.trim()}`);
    const key = (JSON.parse(r.stdout) as { key?: string }).key;
    if (!key) throw new Error(`headscale preauthkeys create printed no key: ${r.stdout}`);
    return key;
  };
  const authKeys = new Map<string, string>();
  let sharedKey: string | undefined;
  let keys = 0;
  for (const m of members) {
    if (!m.device && m.user === undefined) {
      sharedKey ??= await createKey("the plain clients", tailnet.name, { expiration: "1h", reusable: true, ephemeral: false }, []);
      authKeys.set(m.name, sharedKey);
      continue;
    }
    const tags = lab.breaks.has("device-untagged") ? [] : (m.device?.tags ?? []);
    authKeys.set(m.name, await createKey(m.name, userOf(m), keySettings.get(userOf(m)), tags));
    keys++;
  }
  progress(
    `headscale: ${userIds.size} user(s) (${[...userIds.keys()].join(", ")}), ${keys + (sharedKey ? 1 : 0)} pre-auth key(s)${sharedKey ? " (one reusable key shared by the plain clients)" : ""} (${Date.now() - t} ms)`,
  );
  phase("users and keys");

  // tailscaleds
  t = Date.now();
  const tailscaleds = new Map<string, LabProcess>();
  const socketOf = (machine: string) => join(runDir, "ts", machine, "tailscaled.sock");
  const envOf = (m: LabMachine) => (lab.breaks.has("direct-allowed") && m.client !== undefined ? {} : TAILSCALED_ENV);
  const launchTailscaled = (machine: string, env: Record<string, string>) => {
    const state = join(runDir, "ts", machine);
    mkdirSync(state, { recursive: true });
    const proc = rt.start(
      `tailscaled ${machine}`,
      machine,
      [bins.tailscaled, `--statedir=${state}`, `--socket=${socketOf(machine)}`, "--tun=userspace-networking", "--no-logs-no-support"],
      {
        // TS_LOGS_DIR: tailscaled would otherwise write its log config to /var/lib/tailscale.
        env: { ...env, TS_LOGS_DIR: state },
        logFile: join(logDir, `tailscaled-${machine}.log`),
        cwd: state,
      },
    );
    tailscaleds.set(machine, proc);
    return proc;
  };
  for (const m of members) launchTailscaled(m.name, envOf(m));
  const startTailscaled = async (machine: string) => {
    const proc = launchTailscaled(machine, TAILSCALED_ENV);
    await waitFor(rt, `tailscaled ${machine}`, proc, 20_000, async () => existsSync(socketOf(machine)));
  };
  const tailscale = (machine: string, args: readonly string[], timeoutMs = 30_000) =>
    rt.run(machine, [bins.tailscale, `--socket=${socketOf(machine)}`, ...args], { env: TAILSCALED_ENV, timeoutMs });
  const tailscaleNc = (machine: string, host: string, port: number, timeoutMs: number) =>
    rt.run(machine, [bins.tailscale, `--socket=${socketOf(machine)}`, "nc", host, String(port)], { timeoutMs, stdinOpen: true });
  const pingOnce: CheckContext["pingOnce"] = async (machine, ip, timeoutMs) => {
    const url = `http://local-tailscaled.sock/localapi/v0/ping?ip=${encodeURIComponent(ip)}&type=disco`;
    const r = await rt.run(
      machine,
      ["curl", "-s", "--max-time", String(timeoutMs / 1000), "--unix-socket", socketOf(machine), "-X", "POST", "-H", "Sec-Tailscale: localapi", url],
      { timeoutMs: timeoutMs + 10_000 },
    );
    const at = Date.now();
    if (r.code === 28) return { pong: undefined, error: `no answer in ${timeoutMs} ms` };
    try {
      const pr = JSON.parse(r.stdout) as { Err?: string; LatencySeconds?: number; Endpoint?: string; DERPRegionCode?: string };
      if (pr.Err) return { pong: undefined, error: pr.Err };
      const relayed = !pr.Endpoint && !!pr.DERPRegionCode;
      return { pong: { via: relayed ? pr.DERPRegionCode! : (pr.Endpoint ?? "?"), relayed, ms: (pr.LatencySeconds ?? 0) * 1000, at }, error: "" };
    } catch {
      return { pong: undefined, error: (r.stdout || r.stderr || `curl exit ${r.code}`).trim() };
    }
  };
  await Promise.all(
    members.map(async (m) => {
      await waitFor(rt, `tailscaled ${m.name}`, tailscaleds.get(m.name), 20_000, async () => existsSync(socketOf(m.name)));
      const d = m.device;
      const args = [
        "up",
        `--login-server=${tailnet.headscale.serverUrl}`,
        `--authkey=${authKeys.get(m.name)}`,
        `--hostname=${tailnetHostname(m)}`,
        ...(d && d.advertiseRoutes.length > 0 ? [`--advertise-routes=${d.advertiseRoutes.join(",")}`] : []),
        ...(d?.exitNode ? ["--advertise-exit-node"] : []),
        ...(m.name === plan.routeClient ? ["--accept-routes"] : []),
        "--timeout=60s",
      ];
      const r = await tailscale(m.name, args, 70_000);
      if (r.code !== 0)
        throw new Error(
          `tailscale up on ${m.name} failed (${r.code}): ${(r.stderr || r.stdout).trim()}\n  tailscaled log:\n${tail(tailscaleds.get(m.name)!.log())}`,
        );
    }),
  );
  progress(
    `tailscaled: ${members.length} joined (${
      members.length > 12
        ? `${members
            .slice(0, 12)
            .map((m) => m.name)
            .join(", ")}, ...`
        : members.map((m) => m.name).join(", ")
    }) (${Date.now() - t} ms)`,
  );
  phase("tailscaled joined");
  const useHeadscale = (binary: string) => {
    headscaleBinary = binary;
  };
  return { headscale, derpers, tailscaleds, tailscale, tailscaleNc, pingOnce, headscaleCli, headscaleUp, startHeadscale, useHeadscale, startTailscaled };
}
