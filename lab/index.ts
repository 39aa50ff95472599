/**
 * `cdktf-tailnet lab`: the whole tailnet of a spec on one Linux machine, with the real programs.
 *
 * 1. The spec goes through the normal pipeline (validate, resolve).
 * 2. Every host of the model that runs something gets a network namespace, and so does every
 *    declared device and each of N plain clients, all joined through a switch namespace the lab
 *    creates; no namespace has a route off the machine.
 * 3. One named step, `applyLabChanges()`, changes only what a lab must change (addresses,
 *    certificates, file paths; see lab-changes.ts) and renders the result with the kit's renderers.
 * 4. The real headscale, one derper per DERP node (exactly the rendered flags, file paths
 *    relocated) and one tailscaled per device and client (joined with pre-auth keys made with the
 *    headscale CLI, with each device's routes, exit node and tags) start in their namespaces.
 * 5. The checks in checks.ts run, and those of the paths a spec may have: exit nodes
 *    (exit-node.ts), OIDC logins through a provider the lab runs (oidc.ts), IPv6 on the dual-stack
 *    lab network (ipv6.ts); when asked, the fault checks. Every process is stopped by pid and
 *    every namespace deleted at the end, also on failure or interruption.
 *
 * One lab runs at a time: the run takes the machine's lock and records every namespace and process
 * as it makes them (state.ts), so `cdktf-tailnet lab down` can remove what a killed lab left.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { allNodes, beforeStartArgs, findHeadscaleVersion, formatIssues, nodeNamed, planUpgrade, resolve, SUPPORTED_HEADSCALE_VERSIONS, validate, type ResolvedTailnet, type TailnetSpec } from "../model/index.js";
import { parseListenAddress } from "../model/net.js";
import type { BackupHost } from "../cli/backup-host.js";
import { placeHeadscaleFiles } from "../render/index.js";
import { findLabBinaries, LabBinariesMissing, type BinaryOverrides, type LabBinaries } from "./binaries.js";
import { certificatePin, issueSelfSigned } from "../secrets/index.js";
import { createLabCa, issueLabCertificate } from "./certs.js";
import {
  checkDebugDerp,
  checkDerpFailover,
  checkHeadscaleDown,
  checkHeadscaleRestart,
  checkMesh,
  checkNetcheck,
  checkPin,
  checkRegistered,
  reachedHosts,
  checkRelayPing,
  checkRoute,
  checkVerify,
  checkWrongPin,
  preferMeshRegion,
  type CheckContext,
  type CheckRegion,
  type DerpFailure,
  type LabCheck,
  type TailscaleSelf,
} from "./checks.js";
import { checkExitNode } from "./exit-node.js";
import { checkIpv6Client } from "./ipv6.js";
import { applyLabChanges, LAB_BREAKS, labHostsFile, labServerHost, labVariant, urlPort, type LabBreak, type LabChange, type LabChangeInputs, type LabTailnet } from "./lab-changes.js";
import { drillCorruptBackup, drillRestore, drillUpgradeRollback, type LabDrills, type LabUpgrade } from "./drills.js";
import { headscaleMachine, joinsWithKey, LAB_SUBNET6, machineNamed, machineOfNode, planLab, tailnetHostname, type LabMachine, type LabPlan } from "./plan.js";
import { checkOidcLogin, labOidcIssuer, labOidcUsers, mockOidcEnv, oidcRunFiles, type LabOidcUsers } from "./oidc.js";
import { LabAborted, LabRuntime, type LabProcess, type RunResult } from "./runtime.js";
import { LabRunRecord, labStateDir } from "./state.js";

export type { DerpFailure, LabCheck } from "./checks.js";
export type { LabBreak, LabChange } from "./lab-changes.js";
export { LAB_BREAKS } from "./lab-changes.js";
export { LabBinariesMissing } from "./binaries.js";
export { LabAborted } from "./runtime.js";
export { LabBusy, labDown, labStateDir, type LabDownReport } from "./state.js";

/** How to run a lab. */
export interface LabOptions {
  /** The spec, as loaded from its file (not yet validated). */
  readonly spec: unknown;
  /** Plain clients besides the declared devices (default 2; the relay and mesh checks need 2). */
  readonly clients?: number;
  /** Run this headscale version instead of the spec's. */
  readonly headscaleVersion?: string;
  readonly binaries?: BinaryOverrides;
  /** Keep the run directory (logs, configs, certificates); without it nothing of the run stays, pass or fail. */
  readonly keep?: boolean;
  /**
   * After the checks, inject faults and measure: take down one node of a two-node region (how long
   * until two clients relay through the other; killed with SIGKILL, or with `derpFailure:
   * "link-down"` cut off without closing its connections), stop headscale (established peers keep
   * talking), start it again (how long until every node is back online); then the disaster drills
   * (lab/drills.ts): a damaged backup refused, a restore after the database and noise key are
   * deleted, and (with `upgradeTo`) an upgrade rolled back with its backup.
   */
  readonly faults?: boolean | { readonly derpFailure: DerpFailure };
  /**
   * The upgrade the `--faults` drills deploy and roll back: the next minor release after the lab's
   * headscale, and its program (default: from the cache). Without it that drill is skipped.
   */
  readonly upgradeTo?: { readonly version: string; readonly headscale?: string };
  /** Relayed pings the relay-ping check collects (default 2); more give round-trip statistics. */
  readonly pingSamples?: number;
  /** Break these checks' preconditions on purpose (tests of the checks; each is listed with the lab's changes). */
  readonly breaks?: readonly LabBreak[];
  /** While another lab runs, wait up to this long for it to end instead of refusing at once. */
  readonly waitForOtherLab?: number;
  /** Where runs are recorded (default: `CDKTF_TAILNET_LAB_STATE_DIR` or /run/cdktf-tailnet/lab). */
  readonly stateDir?: string;
  /** Progress lines while the lab runs. */
  readonly onProgress?: (line: string) => void;
  /** Each check's result as soon as it is known. */
  readonly onCheck?: (check: LabCheck) => void;
  /** Aborting stops the run; cleanup still happens. */
  readonly signal?: AbortSignal;
}

/** A machine of the lab, for the report. */
export interface LabMachineReport {
  readonly name: string;
  readonly namespace: string;
  /** Its IPv4 address (its IPv6 one for a client with IPv6 only). */
  readonly address: string;
  /** Its IPv6 address, when it has one on the lab network. */
  readonly address6?: string;
  readonly runs: readonly string[];
}

/** What a lab run found. */
export interface LabReport {
  /** Every check passed and the lab came up and went away cleanly. */
  readonly ok: boolean;
  /** The run's id: its namespaces are `tl<id>-<machine>`. */
  readonly runId: string;
  readonly tailnet: string;
  readonly headscaleVersion: string;
  readonly tailscaleVersion: string;
  readonly changes: readonly LabChange[];
  readonly machines: readonly LabMachineReport[];
  readonly checks: readonly LabCheck[];
  /** Every program the lab started: where, its pid, and its exact command line. */
  readonly processes: readonly { readonly name: string; readonly machine: string; readonly pid: number; readonly argv: readonly string[] }[];
  /** Why the lab could not come up, or stopped early. */
  readonly error: string | undefined;
  /** Problems during cleanup (a process that did not stop, a namespace that could not be deleted). */
  readonly cleanupProblems: readonly string[];
  /** The run directory, when kept (`keep`). */
  readonly runDir: string | undefined;
  readonly durationMs: number;
  /** From the start until every tailscaled joined (undefined when the lab did not come up). */
  readonly startupMs: number | undefined;
  /** How long each step of the start took, in order. */
  readonly phases: readonly { readonly name: string; readonly ms: number }[];
  /** The breaks applied (tests of the checks). */
  readonly breaks: readonly LabBreak[];
}

/** The spec is invalid, or the machine cannot run a lab: nothing was started. */
export class LabSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabSetupError";
  }
}

function capabilities(): { netAdmin: boolean; sysAdmin: boolean } {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"}`);
    return { netAdmin: (eff & (1n << 12n)) !== 0n, sysAdmin: (eff & (1n << 21n)) !== 0n };
  } catch {
    return { netAdmin: false, sysAdmin: false };
  }
}

/** Why this machine cannot run a lab, or undefined when it can. */
export function labUnsupportedReason(): string | undefined {
  if (process.platform !== "linux") return `the lab needs Linux network namespaces (this is ${process.platform})`;
  const caps = capabilities();
  if (!caps.netAdmin || !caps.sysAdmin) return "the lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces";
  for (const tool of ["ip", "openssl", "curl", "mount"]) {
    const found = (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").some((d) => existsSync(join(d, tool)));
    if (!found) return `the lab needs \`${tool}\` (Debian: ${tool === "ip" ? "iproute2" : tool === "mount" ? "mount" : tool})`;
  }
  return undefined;
}

function labEnv(caFile: string, certDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LANG: "C",
    NO_COLOR: "1",
    // Go programs trust the lab CA only.
    SSL_CERT_FILE: caFile,
    SSL_CERT_DIR: certDir,
  };
}

const TAILSCALED_ENV = { TS_DEBUG_ALWAYS_USE_DERP: "true" };

/** How the lab runs every tailscaled, as listed with the lab's changes. */
const TAILSCALED_CHANGES: readonly LabChange[] = [
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

/** A self-signed certificate for an IP address, issued the way the kit issues its own, and its pin. */
function writeSelfSigned(dir: string, base: string, address: string): { certFile: string; keyFile: string; pin: string } {
  const issued = issueSelfSigned(address, 30);
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  writeFileSync(certFile, issued.certPem);
  writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
  return { certFile, keyFile, pin: certificatePin(issued.der) };
}

/** Runs a lab; resolves with the report (never rejects once the lab started to come up). */
export async function runLab(options: LabOptions): Promise<LabReport> {
  const t0 = Date.now();
  const progress = options.onProgress ?? (() => undefined);

  // 1. the normal pipeline, on the spec as given
  const validated = validate(options.spec);
  if (!validated.ok) throw new LabSetupError(`the spec has ${validated.issues.length} problem(s):\n${formatIssues(validated.issues)}`);
  const original: TailnetSpec = validated.spec;
  const model = resolve(original);
  const headscaleVersion = (options.headscaleVersion ?? model.headscale.version.version).replace(/^v/, "");
  if (!findHeadscaleVersion(headscaleVersion)) throw new LabSetupError(`--headscale-version ${headscaleVersion}: the kit renders for headscale ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")}`);
  const tailscaleVersion = model.derp.derperVersion;
  const unsupported = labUnsupportedReason();
  if (unsupported) throw new LabSetupError(unsupported);
  const bins = findLabBinaries({ headscale: headscaleVersion, tailscale: tailscaleVersion }, options.binaries);
  const clients = options.clients ?? 2;
  if (!Number.isInteger(clients) || clients < 0 || clients > 50) throw new LabSetupError(`--clients must be a whole number from 0 to 50, got ${clients}`);
  const breaks = [...new Set(options.breaks ?? [])];
  for (const b of breaks) if (!LAB_BREAKS.includes(b)) throw new LabSetupError(`unknown break ${JSON.stringify(b)}; breaks: ${LAB_BREAKS.join(", ")}`);

  // 2. plan, and the machine: one lab at a time (LabBusy otherwise, nothing started)
  const plan = planLab(model, clients);
  const runId = randomBytes(2).toString("hex");
  const record = await LabRunRecord.acquire({ dir: options.stateDir ?? labStateDir(), runId, tailnet: model.name, waitMs: options.waitForOtherLab, onWait: progress, ...(options.signal && { signal: options.signal }) });
  let runDir: string;
  try {
    runDir = mkdtempSync(join(tmpdir(), `tailnet-lab-${runId}-`));
    record.runDir = runDir;
  } catch (e) {
    record.release();
    throw e;
  }
  const dir = (...parts: string[]) => {
    const p = join(runDir, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const caDir = dir("ca");
  const etcDir = dir("etc");
  const logDir = dir("logs");
  const rt = new LabRuntime(`tl${runId}-`, { hosts: join(etcDir, "hosts"), resolvConf: join(etcDir, "resolv.conf"), nsswitchConf: join(etcDir, "nsswitch.conf") }, labEnv(join(caDir, "ca.crt"), dir("ca", "no-system-roots")), record);
  const abort = () => rt.abort();
  options.signal?.addEventListener("abort", abort);

  const checks: LabCheck[] = [];
  const listeners = new Map<string, { port: number; token: string }>();
  const report = (c: LabCheck) => {
    checks.push(c);
    options.onCheck?.(c);
  };
  let error: string | undefined;
  let lab: LabTailnet | undefined;
  let labInputs: LabChangeInputs | undefined;
  let oidcRun: OidcRun | undefined;
  const changes: LabChange[] = [];
  const phases: { name: string; ms: number }[] = [];
  let startupMs: number | undefined;
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phases.push({ name, ms: Date.now() - phaseStart });
    phaseStart = Date.now();
  };
  try {
    if (options.signal?.aborted) rt.abort();
    progress(`lab ${runId}: ${plan.machines.length} machines in ${plan.subnet}, run directory ${runDir}`);
    if (plan.clientUser.why) progress(`the lab's clients join as user ${plan.clientUser.name}: ${plan.clientUser.why}`);

    // 3. certificates, then the one lab step
    const ca = await createLabCa(caDir, runId);
    const serverUrl = new URL(model.headscale.serverUrl);
    const headscaleCertificate = serverUrl.protocol === "https:" ? await issueLabCertificate(ca, caDir, "headscale", [labServerHost(model.headscale.serverUrl, plan)]) : undefined;
    const dnsNodeCertificates = new Map<string, { certFile: string; keyFile: string }>();
    const ipNodeCertificates = new Map<string, { certFile: string; keyFile: string; pin: string }>();
    const derperPaths = (node: string) => ({ keyFile: join(runDir, "derper", node, "derper.key"), certDir: join(runDir, "derper", node, "certs"), meshKeyFile: join(runDir, "derper", node, "mesh.key") });
    let pinnedAddress: string | undefined;
    for (const node of allNodes(model)) {
      if (node.stunOnly) continue;
      const labCerts = dir("lab-certs");
      const address = machineOfNode(plan, node.name).address;
      if (node.derper.certificateSource === "self-signed") {
        if (node.hostnameIsIp && !node.insecureForTests) pinnedAddress ??= address;
        continue;
      }
      if (node.hostnameIsIp) {
        ipNodeCertificates.set(node.name, writeSelfSigned(labCerts, `derp-${node.name}`, address));
        if (node.certName !== undefined || !node.insecureForTests) pinnedAddress ??= address;
      } else {
        const names = [node.hostname, ...(node.certName && !node.certName.startsWith("sha256-raw:") ? [node.certName] : [])];
        dnsNodeCertificates.set(node.name, await issueLabCertificate(ca, labCerts, `derp-${node.name}`, names));
      }
    }
    // A certificate for the pinned node's address that derper never serves: its pin is the wrong one.
    const wrongPin = pinnedAddress === undefined ? undefined : certificatePin(issueSelfSigned(pinnedAddress, 30).der);
    const headscalePaths = { configDir: dir("headscale", "etc"), stateDir: dir("headscale", "lib"), runDir: dir("headscale", "run") };
    let policyPath: string | undefined;
    if (original.headscale.policy?.path) {
      if (!existsSync(original.headscale.policy.path)) throw new LabSetupError(`the spec's policy file ${original.headscale.policy.path} does not exist on this machine`);
      policyPath = join(headscalePaths.configDir, "policy.hujson");
      copyFileSync(original.headscale.policy.path, policyPath);
    }
    if (plan.oidc && model.headscale.oidc) {
      const files = oidcRunFiles(runDir);
      mkdirSync(dirname(files.clientSecretFile), { recursive: true, mode: 0o700 });
      const secret = randomBytes(24).toString("hex");
      writeFileSync(files.clientSecretFile, secret, { mode: 0o600 });
      const providerAddress = machineNamed(plan, plan.oidc.provider).address;
      const users = labOidcUsers(model.headscale.oidc, breaks.includes("oidc-user-not-allowed"));
      const issuer = labOidcIssuer(providerAddress);
      oidcRun = { ...plan.oidc, issuer, users, files, env: mockOidcEnv(model.headscale.oidc, providerAddress, secret, users) };
    }
    labInputs = {
      plan,
      model,
      headscaleVersion: options.headscaleVersion,
      headscaleCertificate,
      dnsNodeCertificates,
      ipNodeCertificates,
      secretsDir: dir("secrets"),
      wrongPin,
      headscalePaths,
      derperPaths,
      policyPath,
      breaks,
      backupDir: dir("headscale", "backups"),
      oidc: oidcRun && { issuer: oidcRun.issuer, clientSecretFile: oidcRun.files.clientSecretFile },
    };
    lab = applyLabChanges(original, labInputs);
    changes.push(...lab.changes, ...TAILSCALED_CHANGES);
    progress(`lab changes (the only differences from what the spec renders):`);
    for (const c of changes) progress(`  ${c.subject}: ${c.from} -> ${c.to}  (${c.why})`);

    // 4. files
    const headscaleTargets = new Map(placeHeadscaleFiles(lab.tailnet).map((p) => [p.file.path, p.hostPath]));
    for (const f of lab.files) {
      const target = headscaleTargets.get(f.path) ?? join(dir("rendered"), f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content, { mode: f.mode });
    }
    // derper's files where its (relocated) flags point: certificate files as <certFileBase>.crt/.key, the region's mesh key
    for (const node of allNodes(lab.tailnet)) {
      if (!lab.derperArgs.has(node.name)) continue;
      const paths = derperPaths(node.name);
      mkdirSync(paths.certDir, { recursive: true });
      const files = lab.derperCertificates.get(node.name);
      if (files) {
        copyFileSync(files.certFile, join(paths.certDir, `${node.derper.certFileBase}.crt`));
        copyFileSync(files.keyFile, join(paths.certDir, `${node.derper.certFileBase}.key`));
      }
      const meshKey = lab.meshKeys.get(node.name);
      if (meshKey) copyFileSync(meshKey, paths.meshKeyFile);
    }
    writeFileSync(rt.etc.hosts, labHostsFile(lab.tailnet, plan, lab.probe));
    writeFileSync(rt.etc.resolvConf, "# cdktf-tailnet lab: no DNS server; names come from the hosts file\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
    writeFileSync(rt.etc.nsswitchConf, "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n");
    phase("certificates and files");

    // 5. network
    await rt.createNetwork(plan);
    progress(`network: switch ${rt.switchNamespace} and ${plan.machines.length} namespaces (${plan.machines.map((m) => `${m.name} ${m.ipv6Only ? `${m.address6} (IPv6 only)` : m.address}`).join(", ")}), dual-stack (IPv6 ${LAB_SUBNET6.prefix}/${LAB_SUBNET6.length}), no route off the machine`);
    for (const m of plan.machines.filter((x) => x.mesh)) {
      for (const node of m.mesh!.blocked) {
        await rt.blockAddress(m.name, machineOfNode(plan, node).address);
        await rt.blockAddress(m.name, machineOfNode(plan, node).address6);
      }
      progress(`  ${m.name}: reaches only ${m.mesh!.node} of ${m.mesh!.regionCode} (unreachable route to ${m.mesh!.blocked.join(", ")}), so it homes on that node`);
    }
    if (plan.idleHosts.length > 0) progress(`  hosts that run nothing get no namespace: ${plan.idleHosts.join(", ")}`);
    if (breaks.includes("ipv6-stun-closed")) {
      for (const node of allNodes(lab.tailnet).filter((n) => n.ipv6 !== undefined && n.stunPort > 0 && lab!.derperArgs.has(n.name))) await rt.dropIpv6Udp(machineOfNode(plan, node.name).name, node.stunPort);
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
      rt.start(`listener ${name}`, name, [process.execPath, "-e", LISTENER_JS, token, address, String(LISTENER_PORT)], { logFile: join(logDir, `listener-${name}.log`) });
    };
    for (const lan of plan.lans) {
      await rt.createLan(lan.router, lan.name, lan.routerAddress, lan.listenerAddress, lan.prefixLength, linkName(lan.router, "lan"));
      startListener(lan.name, lan.listenerAddress);
      progress(`  ${lan.name}: ${lan.route} behind ${lan.router} (${lan.router} ${lan.routerAddress}, a listener on ${lan.listenerAddress}:${LISTENER_PORT}); reached only through ${lan.router}`);
    }
    // "The internet" behind each exit node: reached only through it.
    for (const up of plan.upstreams) {
      await rt.createUpstream(up.exitNode, up.name, up, linkName(up.exitNode, "up"));
      startListener(up.name, up.listenerAddress);
      progress(`  ${up.name}: the upstream behind exit node ${up.exitNode} (its default route, via ${up.gatewayAddress}), a listener on ${up.listenerAddress}:${LISTENER_PORT} beyond it; reached only through ${up.exitNode}`);
    }
    phase("network");

    // 6. headscale, derpers, tailscaleds
    const running = await bringUp(rt, plan, lab, bins, runDir, logDir, progress, phase, oidcRun, derperPaths);
    startupMs = Date.now() - t0;
    progress(`lab up in ${(startupMs / 1000).toFixed(1)} s`);

    // 7. checks
    const faults = options.faults !== undefined && options.faults !== false;
    const drills = faults ? labDrills(rt, plan, lab, labInputs!, running, bins, runDir, options.upgradeTo, options.binaries?.binDir) : undefined;
    await runChecks(rt, plan, lab, running, report, progress, { oidcRun, faults, drills, derpFailure: typeof options.faults === "object" ? options.faults.derpFailure : "kill", pingSamples: options.pingSamples ?? 2, listeners });
  } catch (e) {
    if (e instanceof LabAborted || options.signal?.aborted) error = "interrupted";
    else if (e instanceof LabSetupError) error = e.message;
    else error = (e as Error).message;
    progress(`lab stopped: ${error}`);
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }
  progress(`stopping ${rt.started.length} processes and deleting ${rt.namespaces.length} namespaces`);
  const cleanupProblems = await rt.cleanup();
  const ok = error === undefined && cleanupProblems.length === 0 && checks.length > 0 && checks.every((c) => c.status !== "fail");
  // Nothing of the run stays, pass or fail, unless asked (--keep): the progress lines and the
  // findings carry the log lines that explain a failure.
  const keep = options.keep === true;
  if (!keep) rmSync(runDir, { recursive: true, force: true });
  // What could not be removed stays recorded for `lab down`.
  if (cleanupProblems.length === 0) record.release();
  return {
    ok,
    runId,
    tailnet: model.name,
    headscaleVersion,
    tailscaleVersion,
    changes,
    machines: [
      ...plan.machines.map((m) => ({
        name: m.name,
        namespace: `tl${runId}-${m.name}`,
        address: m.ipv6Only ? m.address6 : m.address,
        address6: m.address6,
        runs: [...(m.headscale ? ["headscale"] : []), ...m.derpNodes.map((n) => `derper ${n}`), ...(joinsWithKey(m) ? ["tailscaled"] : []), ...(m.kind === "oidc-provider" ? ["headscale mockoidc"] : []), ...(m.kind === "oidc-login" ? ["tailscaled (logs in through OIDC)"] : [])],
      })),
      ...plan.lans.map((l) => ({ name: l.name, namespace: `tl${runId}-${l.name}`, address: l.listenerAddress, runs: [`listener :${LISTENER_PORT} (LAN ${l.route} behind ${l.router})`] })),
      ...plan.upstreams.map((u) => ({ name: u.name, namespace: `tl${runId}-${u.name}`, address: u.listenerAddress, runs: [`listener :${LISTENER_PORT} (upstream of exit node ${u.exitNode})`] })),
    ],
    checks,
    processes: rt.history,
    error,
    cleanupProblems,
    runDir: keep ? runDir : undefined,
    durationMs: Date.now() - t0,
    startupMs,
    phases,
    breaks,
  };
}

/** The port of the listener on each LAN behind a subnet router. */
const LISTENER_PORT = 8080;
/** The listener: answers every connection with its token and the address it came from (argv: token, address, port). */
const LISTENER_JS = 'const [t, a, p] = process.argv.slice(1); require("net").createServer((s) => s.end(`lab listener ${t} from ${s.remoteAddress}\\n`)).listen(Number(p), a, () => console.log(`listening on ${a}:${p}`));';

// ---------------------------------------------------------------------------------------------
// bring-up

/** The lab's OpenID Connect provider and login client (lab/oidc.ts), when the model has `oidc`. */
interface OidcRun {
  readonly provider: string;
  readonly login: string;
  readonly issuer: string;
  readonly users: LabOidcUsers;
  readonly files: ReturnType<typeof oidcRunFiles>;
  /** headscale mockoidc's environment (holds the run's client secret). */
  readonly env: Record<string, string>;
}

interface Running {
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
  return text.trimEnd().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
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

async function bringUp(rt: LabRuntime, plan: LabPlan, lab: LabTailnet, bins: LabBinaries, runDir: string, logDir: string, progress: (l: string) => void, phase: (name: string) => void, oidcRun: OidcRun | undefined, derperPaths: LabChangeInputs["derperPaths"]): Promise<Running> {
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
    const proc = rt.start(name, hsMachine.name, [headscaleBinary, "serve", "-c", configPath], { logFile: join(logDir, `${name.replace(/[^a-z0-9-]+/g, "-").replace(/-+$/, "")}.log`), cwd: tailnet.headscale.paths.stateDir });
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
    progress(`oidc provider: headscale mockoidc up on ${p.machine} (${p.issuer}), before headscale, which ${lab.tailnet.headscale.oidc?.onlyStartIfAvailable ? "refuses to start without it (only_start_if_oidc_is_available)" : "would start without it"}`);
  }
  const headscale = await startHeadscale("headscale");
  progress(`headscale ${tailnet.headscale.version.version}: up on ${hsMachine.name} (${hsMachine.address}), ${health} answers over TLS from the lab CA (${Date.now() - t} ms)`);
  phase("headscale");
  const headscaleCli = (args: readonly string[]) => rt.run(hsMachine.name, [headscaleBinary, "-c", configPath, ...args], { timeoutMs: 20_000 });

  // derpers
  t = Date.now();
  const derpers = new Map<string, LabProcess>();
  const nodes = allNodes(tailnet).filter((n) => lab.derperArgs.has(n.name));
  for (const node of nodes) {
    const machine = machineOfNode(plan, node.name);
    // In the folder of its files (its key file is derper's -c).
    const cwd = dirname(derperPaths(node.name).keyFile);
    derpers.set(node.name, rt.start(`derper ${node.name}`, machine.name, [bins.derper, ...lab.derperArgs.get(node.name)!], { logFile: join(logDir, `derper-${node.name}.log`), cwd }));
  }
  await Promise.all(
    nodes.map(async (node) => {
      if (node.stunOnly) return;
      const machine = machineOfNode(plan, node.name);
      const url = `https://${node.hostname}:${node.derpPort}/derp/probe`;
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
  const createKey = async (forWhat: string, user: string, settings: { expiration: string; reusable: boolean; ephemeral: boolean } | undefined, tags: readonly string[]) => {
    const args = [
      "preauthkeys", "create", "-u", userIds.get(user)!,
      "-e", settings?.expiration ?? "1h",
      ...(settings?.reusable ? ["--reusable"] : []),
      ...(settings?.ephemeral ? ["--ephemeral"] : []),
      ...(tags.length ? ["--tags", tags.join(",")] : []),
      "-o", "json",
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
  progress(`headscale: ${userIds.size} user(s) (${[...userIds.keys()].join(", ")}), ${keys + (sharedKey ? 1 : 0)} pre-auth key(s)${sharedKey ? " (one reusable key shared by the plain clients)" : ""} (${Date.now() - t} ms)`);
  phase("users and keys");

  // tailscaleds
  t = Date.now();
  const tailscaleds = new Map<string, LabProcess>();
  const socketOf = (machine: string) => join(runDir, "ts", machine, "tailscaled.sock");
  const envOf = (m: LabMachine) => (lab.breaks.has("direct-allowed") && m.client !== undefined ? {} : TAILSCALED_ENV);
  const launchTailscaled = (machine: string, env: Record<string, string>) => {
    const state = join(runDir, "ts", machine);
    mkdirSync(state, { recursive: true });
    const proc = rt.start(`tailscaled ${machine}`, machine, [bins.tailscaled, `--statedir=${state}`, `--socket=${socketOf(machine)}`, "--tun=userspace-networking", "--no-logs-no-support"], {
      // TS_LOGS_DIR: tailscaled would otherwise write its log config to /var/lib/tailscale.
      env: { ...env, TS_LOGS_DIR: state },
      logFile: join(logDir, `tailscaled-${machine}.log`),
      cwd: state,
    });
    tailscaleds.set(machine, proc);
    return proc;
  };
  for (const m of members) launchTailscaled(m.name, envOf(m));
  const startTailscaled = async (machine: string) => {
    const proc = launchTailscaled(machine, TAILSCALED_ENV);
    await waitFor(rt, `tailscaled ${machine}`, proc, 20_000, async () => existsSync(socketOf(machine)));
  };
  const tailscale = (machine: string, args: readonly string[], timeoutMs = 30_000) => rt.run(machine, [bins.tailscale, `--socket=${socketOf(machine)}`, ...args], { env: TAILSCALED_ENV, timeoutMs });
  const tailscaleNc = (machine: string, host: string, port: number, timeoutMs: number) => rt.run(machine, [bins.tailscale, `--socket=${socketOf(machine)}`, "nc", host, String(port)], { timeoutMs, stdinOpen: true });
  const pingOnce: CheckContext["pingOnce"] = async (machine, ip, timeoutMs) => {
    const url = `http://local-tailscaled.sock/localapi/v0/ping?ip=${encodeURIComponent(ip)}&type=disco`;
    const r = await rt.run(machine, ["curl", "-s", "--max-time", String(timeoutMs / 1000), "--unix-socket", socketOf(machine), "-X", "POST", "-H", "Sec-Tailscale: localapi", url], { timeoutMs: timeoutMs + 10_000 });
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
      if (r.code !== 0) throw new Error(`tailscale up on ${m.name} failed (${r.code}): ${(r.stderr || r.stdout).trim()}\n  tailscaled log:\n${tail(tailscaleds.get(m.name)!.log())}`);
    }),
  );
  progress(`tailscaled: ${members.length} joined (${members.length > 12 ? `${members.slice(0, 12).map((m) => m.name).join(", ")}, ...` : members.map((m) => m.name).join(", ")}) (${Date.now() - t} ms)`);
  phase("tailscaled joined");
  const useHeadscale = (binary: string) => {
    headscaleBinary = binary;
  };
  return { headscale, derpers, tailscaleds, tailscale, tailscaleNc, pingOnce, headscaleCli, headscaleUp, startHeadscale, useHeadscale, startTailscaled };
}

// ---------------------------------------------------------------------------------------------
// checks

interface CheckOptions {
  readonly oidcRun: OidcRun | undefined;
  readonly faults: boolean;
  /** The disaster drills (with faults); undefined when the lab's headscale renders no backups. */
  readonly drills: LabDrills | { readonly skip: string } | undefined;
  readonly derpFailure: DerpFailure;
  readonly pingSamples: number;
  readonly listeners: ReadonlyMap<string, { port: number; token: string }>;
}

async function runChecks(rt: LabRuntime, plan: LabPlan, lab: LabTailnet, running: Running, report: (c: LabCheck) => void, progress: (l: string) => void, options: CheckOptions): Promise<void> {
  const members = plan.machines.filter(joinsWithKey);
  const clients = plan.machines.filter((m) => m.client !== undefined);
  const prober = clients[0] ?? members[0];
  // The model's regions (and the lab's wrong-pin region); a break's foreign region is what the map has and the model has not.
  const modelRegions = lab.tailnet.derp.regions.filter((r) => !lab.foreignRegions.includes(r.id));
  const modelNodes = allNodes(lab.tailnet).filter((n) => !lab.foreignRegions.includes(n.regionId));
  const embedded = lab.tailnet.headscale.embeddedDerp;
  const serverUrl = new URL(lab.tailnet.headscale.serverUrl);
  // The regions clients get: the model's, and headscale's embedded one when it adds it.
  const regions: CheckRegion[] = [
    ...modelRegions.map((r) => ({
      id: r.id,
      code: r.code,
      name: r.name,
      noMeasureNoHome: r.noMeasureNoHome,
      embedded: false,
      nodes: r.nodes.map((n) => ({ name: n.name, hostname: n.hostname, derpPort: n.derpPort, stunPort: n.stunPort, stunOnly: n.stunOnly, canPort80: n.canPort80, ipv6: n.ipv6 !== undefined })),
    })),
    ...(embedded?.automaticallyAddRegion
      ? [{
          id: embedded.regionId,
          code: embedded.regionCode,
          name: embedded.regionName,
          noMeasureNoHome: false,
          embedded: true,
          nodes: [{
            name: String(embedded.regionId),
            hostname: lab.tailnet.headscale.serverHost,
            derpPort: urlPort(serverUrl),
            stunPort: parseListenAddress(embedded.stunListenAddr)!.port,
            stunOnly: false,
            // headscale serves no /generate_204 on port 80.
            canPort80: false,
            ipv6: embedded.ipv6 !== undefined,
          }],
        }]
      : []),
  ];
  type PeerStatus = { HostName?: string; PublicKey?: string; TailscaleIPs?: string[]; Relay?: string; PrimaryRoutes?: string[] | null };
  const status = async (machine: string): Promise<{ Self?: PeerStatus; Peer?: Record<string, PeerStatus> }> => {
    const r = await running.tailscale(machine, ["status", "--json"]);
    if (r.code !== 0) throw new Error(`tailscale status on ${machine} failed: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as { Self?: PeerStatus; Peer?: Record<string, PeerStatus> };
  };
  const view = (s: PeerStatus): TailscaleSelf => ({ hostName: s.HostName ?? "", nodeKey: s.PublicKey ?? "", ipv4: s.TailscaleIPs?.find((a) => a.includes(".")), relay: s.Relay ?? "" });
  const self = async (machine: string) => view((await status(machine)).Self ?? {});
  const peers = async (machine: string) => Object.values((await status(machine)).Peer ?? {}).map(view);
  const ctx: CheckContext = {
    regions,
    probe: lab.probe,
    tailscaleMachines: members,
    clients,
    derpers: running.derpers,
    nodeAddress: (n) => machineOfNode(plan, n).address,
    tailscale: running.tailscale,
    tailscaleNc: running.tailscaleNc,
    pingOnce: running.pingOnce,
    headscale: running.headscaleCli,
    self,
    peers,
    peerRoutes: async (machine, peerHostName) => Object.values((await status(machine)).Peer ?? {}).find((p) => p.HostName === peerHostName)?.PrimaryRoutes ?? [],
    nodeFamilies: [...(lab.tailnet.headscale.prefixes.v4 !== undefined ? [4 as const] : []), ...(lab.tailnet.headscale.prefixes.v6 !== undefined ? [6 as const] : [])],
    verifyingNodes: new Set(modelNodes.filter((n) => n.derper.verifyClientUrl !== undefined).map((n) => n.name)),
    ...(options.faults && {
      faults: {
        failDerper: async (node: string, how: DerpFailure) => {
          const proc = running.derpers.get(node);
          if (!proc) throw new Error(`no derper runs DERP node ${node}`);
          if (how === "kill") return rt.kill(proc, "SIGKILL");
          const r = await rt.run(proc.machine, ["ip", "link", "set", "eth0", "down"]);
          if (r.code !== 0) throw new Error(`ip link set eth0 down in ${proc.machine} failed: ${r.stderr.trim()}`);
        },
        stopHeadscale: () => rt.stop(running.headscale),
        startHeadscale: async () => {
          running.headscale = await running.startHeadscale("headscale (restarted)");
        },
        headscaleUp: running.headscaleUp,
      },
    }),
    derperVarz: async (nodeName) => {
      const node = nodeNamed(lab.tailnet, nodeName)!;
      const machine = machineOfNode(plan, nodeName);
      const host = node.hostname;
      const url = `https://${host}:${node.derpPort}/debug/varz`;
      const tls = node.hostnameIsIp ? ["-k"] : ["--cacert", rt.baseEnv.SSL_CERT_FILE!];
      // Over loopback: derper serves its debug pages only to localhost.
      const r = await rt.run(machine.name, ["curl", "-s", "--max-time", "5", ...tls, "--resolve", `${host}:${node.derpPort}:127.0.0.1`, url], { timeoutMs: 10_000 });
      const values = new Map<string, number>();
      for (const m of r.stdout.matchAll(/^([a-zA-Z_][\w]*)\s+(-?[\d.e+]+)$/gm)) values.set(m[1]!, Number(m[2]));
      return values;
    },
    pause: (ms) => rt.pause(ms),
    report,
  };
  const skip = (id: string, title: string, why: string) => report({ id, title, status: "skip", detail: why, durationMs: 0 });
  progress("checks:");
  // Mesh clients start homing on their region now; their check comes last.
  const meshRegions = regions.filter((r) => !r.embedded && r.id !== lab.probe?.regionId && r.nodes.filter((n) => !n.stunOnly).length > 1);
  await Promise.all(meshRegions.map((r) => preferMeshRegion(ctx, r, plan.machines.filter((m) => m.mesh?.regionId === r.id))));

  await checkRegistered(ctx);
  if (!prober) {
    skip("netcheck", "tailscale netcheck", "no client or device (--clients 0 and no devices)");
    return;
  }
  const measured = regions.filter((r) => r.id !== lab.probe?.regionId);
  const [, derpResults] = await Promise.all([
    checkNetcheck(ctx, prober),
    Promise.all(measured.map((r) => checkDebugDerp(ctx, prober, r))),
  ]);
  const pinned = lab.probe ? nodeNamed(lab.tailnet, lab.probe.pinnedNode) : undefined;
  const reached = new Set(derpResults.flatMap((r) => reachedHosts(r.report)));
  if (pinned && lab.probe) {
    const region = regions.find((r) => r.id === pinned.regionId)!;
    await checkPin(ctx, region, pinned, derpResults[measured.indexOf(region)]?.report);
    const wrong = await checkWrongPin(ctx, prober, lab.probe);
    for (const h of reachedHosts(wrong.data as Parameters<typeof reachedHosts>[0])) reached.add(h);
  } else {
    skip("pin", "pinned certificate of an IP-only node", "the model has no DERP node named by an IP address with a pinned certificate");
  }
  const keys = (await Promise.all(members.map((m) => self(m.name)))).map((s) => s.nodeKey).filter((k) => k !== "");
  await checkVerify(ctx, keys, prober, reached);
  if (clients.length < 2) {
    skip("relay-ping", "tailscale ping between clients through a relay", "needs --clients 2 or more");
  } else {
    await checkRelayPing(ctx, clients[0]!, clients[1]!, options.pingSamples);
  }
  const v6Client = plan.machines.find((m) => m.ipv6Only);
  // The peer: the last plain client (the route and exit checks use the first).
  if (v6Client) await checkIpv6Client(ctx, v6Client, clients[clients.length - 1] ?? prober, regions);
  for (const region of meshRegions) {
    const pair = plan.machines.filter((m) => m.mesh?.regionId === region.id);
    if (pair.length < 2) skip(`mesh:${region.code}`, `mesh in ${region.code}`, "its DERP nodes run on one host, so clients cannot be homed on different nodes");
    else await checkMesh(ctx, region, pair[0]!, pair[1]!);
  }
  for (const lan of plan.lans) {
    const router = plan.machines.find((m) => m.name === lan.router)!;
    const client = plan.machines.find((m) => m.name === plan.routeClient);
    const approvers = lab.tailnet.policy ? (lab.tailnet.policy.autoApprovers.routes[lan.route] ?? []) : undefined;
    await checkRoute(ctx, lan, router, client, options.listeners.get(lan.name)!, approvers);
  }
  for (const up of plan.upstreams) {
    const exit = plan.machines.find((m) => m.name === up.exitNode)!;
    const client = plan.machines.find((m) => m.name === plan.exitClient);
    await checkExitNode(ctx, up, exit, client, options.listeners.get(up.name)!, lab.tailnet.policy?.autoApprovers.exitNode);
  }
  if (options.oidcRun && lab.tailnet.headscale.oidc) {
    const o = options.oidcRun;
    await checkOidcLogin(ctx, {
      machine: o.login,
      serverUrl: lab.tailnet.headscale.serverUrl,
      users: o.users,
      oidc: lab.tailnet.headscale.oidc,
      startTailscaled: () => running.startTailscaled(o.login),
      curl: (args, timeoutMs) => rt.run(o.login, ["curl", "--cacert", rt.baseEnv.SSL_CERT_FILE!, ...args], { timeoutMs: timeoutMs ?? 20_000 }),
      cookieJar: o.files.cookieJar,
    });
  }
  for (const device of plan.machines.filter((m) => m.device && m.device.advertiseRoutes.some((r) => !plan.lans.some((l) => l.router === m.name && l.route === r)))) {
    const others = device.device!.advertiseRoutes.filter((r) => !plan.lans.some((l) => l.router === device.name && l.route === r));
    progress(`  (routes of ${device.name} not tried through a LAN: ${others.join(", ")}: only IPv4 prefixes from /8 to /30 get a LAN namespace)`);
  }

  if (!options.faults) return;
  progress("faults:");
  if (clients.length < 2) {
    for (const id of ["fault:derp-failover", "fault:headscale-down", "fault:headscale-restart"]) skip(id, id, "needs --clients 2 or more");
    return;
  }
  const [a, b] = [clients[0]!, clients[1]!];
  const failover = regions.find((r) => !r.embedded && r.id !== lab.probe?.regionId && r.nodes.filter((n) => !n.stunOnly && running.derpers.has(n.name)).length >= 2);
  if (failover) await checkDerpFailover(ctx, failover, a, b, options.derpFailure);
  else skip("fault:derp-failover", "one node of a two-node region killed", "the model has no region with two DERP nodes");
  await checkHeadscaleDown(ctx, a, b);
  await checkHeadscaleRestart(ctx, a, b);
  const drills = options.drills;
  if (!drills || "skip" in drills) {
    for (const id of ["drill:corrupt-backup", "drill:restore", "drill:upgrade-rollback"]) skip(id, id, drills?.skip ?? "no backups");
    return;
  }
  progress("disaster drills:");
  await drillCorruptBackup(ctx, drills);
  await drillRestore(ctx, drills, a, b);
  await drillUpgradeRollback(ctx, drills, a, b);
}

/**
 * The drills' access to the running lab: the backup script the kit rendered for headscale's host,
 * run in headscale's namespace; headscale as a lab process; the upgrade's two deployments (the
 * variant's files in place, what its unit runs before it starts, then that version's program).
 */
function labDrills(rt: LabRuntime, plan: LabPlan, lab: LabTailnet, inputs: LabChangeInputs, running: Running, bins: LabBinaries, runDir: string, upgradeTo: LabOptions["upgradeTo"], binDir: string | undefined): LabDrills | { skip: string } {
  const hsHost = lab.tailnet.headscale.host;
  const files = `hosts/${hsHost}/backup`;
  const rendered = (name: string) => join(runDir, "rendered", files, name);
  if (!lab.files.some((f) => f.path === `${files}/headscale-backup.sh`) || !lab.tailnet.headscale.backup?.schedule) return { skip: "the spec turns headscale's scheduled backups off (headscale.backup.enabled: false)" };
  const [script, config] = [rendered("headscale-backup.sh"), rendered("headscale-backup.env")];
  const hsMachine = headscaleMachine(plan);
  const backups: BackupHost = {
    description: `lab machine ${hsMachine.name}`,
    script: async (args) => {
      const r = await rt.run(hsMachine.name, ["sh", script, config, ...args], { timeoutMs: 120_000 });
      return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    stopHeadscale: () => rt.stop(running.headscale),
    startHeadscale: async () => {
      running.headscale = await running.startHeadscale("headscale (restored)");
    },
    healthy: running.headscaleUp,
  };
  const cli = async (args: string[]) => {
    const r = await running.headscaleCli(args);
    if (r.code !== 0) throw new Error(`headscale ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  };
  return {
    backups,
    tailnet: lab.tailnet,
    createUser: async (name) => void (await cli(["users", "create", name, "-o", "json"])),
    users: async () => ((JSON.parse((await cli(["users", "list", "-o", "json"])).trim() || "[]") ?? []) as { name: string }[]).map((u) => u.name).sort(),
    upgrade: labUpgrade(rt, lab, inputs, running, bins, backups, hsMachine.name, config, upgradeTo, binDir),
  };
}

function labUpgrade(rt: LabRuntime, lab: LabTailnet, inputs: LabChangeInputs, running: Running, bins: LabBinaries, backups: BackupHost, machine: string, config: string, upgradeTo: LabOptions["upgradeTo"], binDir: string | undefined): LabUpgrade | { skip: string } {
  const from = lab.tailnet.headscale.version;
  if (!upgradeTo) return { skip: `no upgrade to drill: give --upgrade-to <release> (the next minor release after ${from.version})` };
  const to = findHeadscaleVersion(upgradeTo.version);
  if (!to) return { skip: `--upgrade-to ${upgradeTo.version}: the kit renders for headscale ${SUPPORTED_HEADSCALE_VERSIONS.join(", ")}` };
  const step = planUpgrade(from, to);
  if (!step.ok || step.path.length !== 1 || to.minor === from.minor) return { skip: `${from.version} -> ${to.version} is not one minor upgrade step (${step.explanation})` };
  let toBinary: string;
  try {
    toBinary = upgradeTo.headscale ?? findLabBinaries({ headscale: to.version, tailscale: lab.tailnet.derp.derperVersion }, { ...(binDir !== undefined && { binDir }) }).headscale;
  } catch (e) {
    if (e instanceof LabBinariesMissing) return { skip: `headscale ${to.version} is not built: ${e.message.split("\n")[1]?.trim() ?? e.message}` };
    throw e;
  }
  return {
    from: from.version,
    to: to.version,
    deploy: async (which) => {
      const variant = labVariant(lab, inputs, (hs) => {
        delete hs.upgradeFrom;
        delete hs.rollbackFrom;
        if (which === "upgrade") Object.assign(hs, { version: to.version, upgradeFrom: from.version });
        else Object.assign(hs, { version: from.version, rollbackFrom: to.version });
      });
      await rt.stop(running.headscale);
      for (const { hostPath, file } of placeHeadscaleFiles(variant.tailnet)) writeFileSync(hostPath, file.content, { mode: file.mode });
      const env = variant.files.find((f) => f.path === `hosts/${variant.tailnet.headscale.host}/backup/headscale-backup.env`)!;
      writeFileSync(config, env.content);
      let output = "";
      for (const s of variant.tailnet.headscale.backup!.beforeStart) {
        const r = await backups.script(beforeStartArgs(s));
        output += r.stdout;
        if (r.code !== 0) throw new Error(`${s.step} ${s.from} ${s.to} before headscale started failed: ${(r.stderr || r.stdout).trim()}`);
      }
      running.useHeadscale(which === "upgrade" ? toBinary : bins.headscale);
      running.headscale = await running.startHeadscale(`headscale ${which === "upgrade" ? to.version : from.version}`);
      return { output };
    },
    version: async () => (await rt.run(machine, [running.headscale.argv[0]!, "version"])).stdout.trim(),
  };
}
