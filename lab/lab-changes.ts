/**
 * The one step where the lab changes the tailnet: `applyLabChanges()`. Everything else the lab
 * runs is what the kit renders from the spec through the normal pipeline (validate -> resolve ->
 * render), and every change made here is listed, with why, in the lab's output.
 *
 * What a lab must change, and nothing more:
 * - public addresses become lab addresses (the lab network is IPv4 only, so IPv6 addresses go);
 *   DERP nodes named by an IP address get their machine's lab address as host name;
 * - certificates: headscale serves a certificate from the lab CA instead of Let's Encrypt (or a
 *   proxy); every DERP node with a DNS name runs in manual mode with a lab-CA certificate; a node
 *   whose certificate the kit issues (mode self-signed) keeps that mode, and the kit issues it for
 *   the node's lab address into the run's own secrets directory (pinned by the kit, as always);
 *   a node named by an IP address with a pin of the user's own gets a self-signed certificate made
 *   by the lab, and its `certName` becomes that certificate's pin (the one place the lab changes a
 *   pin: the user's certificate is for the public address);
 * - mesh keys and self-signed keys come from a secrets directory of the run, never the user's;
 * - headscale listens where its server URL points (no proxy or port mapping in a lab);
 * - files move from /etc, /var/lib, /var/run into the run's directory (headscale's three
 *   directories; derper's key, certificate directory and mesh key);
 * - Tailscale's public DERP regions are dropped when the model keeps them (unreachable from a lab;
 *   headscale would not start without their map);
 * - optionally the headscale version (`--headscale-version`);
 * - one lab-only region is added when the model has a pinned IP-only node: the same node with a
 *   wrong pin, marked NoMeasureNoHome so no client measures or homes on it, to prove that clients
 *   refuse a certificate whose pin does not match.
 * DNS names resolve to lab machines through a hosts file bound into every namespace (see
 * `labHostsFile`); the DERP map keeps its host names, so TLS still checks them.
 */
import { isIP } from "node:net";
import {
  DERPER_PATHS,
  loadTailnet,
  relocateHeadscale,
  type HeadscalePaths,
  type ResolvedTailnet,
  type TailnetSpec,
} from "../model/index.js";
import { renderTailnet, type RenderedFile } from "../render/index.js";
import { defaultSecretsRoot, materializeCertificates, SecretStore } from "../secrets/index.js";
import type { LabPlan } from "./plan.js";
import { headscaleMachine, machineOfHost, machineOfNode } from "./plan.js";

/** One change the lab made, for its output. */
export interface LabChange {
  /** What changed, e.g. `hosts.cloud.publicIpv4`, `derp node hkg-1 certificate`. */
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** Where one derper keeps its files in the lab. */
export interface DerperLabPaths {
  readonly keyFile: string;
  readonly certDir: string;
  readonly meshKeyFile: string;
}

/** What the lab prepared before changing the model. */
export interface LabChangeInputs {
  readonly plan: LabPlan;
  /** The spec as resolved before any lab change (which certificate source each node has). */
  readonly model: ResolvedTailnet;
  /** Target this headscale version instead of the spec's. */
  readonly headscaleVersion?: string | undefined;
  /** headscale's certificate from the lab CA (https server URLs). */
  readonly headscaleCertificate: LabCertificateFiles | undefined;
  /** Lab-CA certificates of DERP nodes with DNS names whose certificate the kit does not issue. */
  readonly dnsNodeCertificates: ReadonlyMap<string, LabCertificateFiles>;
  /** Lab self-signed certificates (and pins) of IP-named nodes whose certificate the kit does not issue. */
  readonly ipNodeCertificates: ReadonlyMap<string, LabCertificateFiles & { readonly pin: string }>;
  /** Where the kit keeps this run's secrets (mesh keys, self-signed certificates). */
  readonly secretsDir: string;
  /** The pin of a certificate derper never serves, for the wrong-pin probe region; none: no probe. */
  readonly wrongPin: string | undefined;
  readonly headscalePaths: HeadscalePaths;
  readonly derperPaths: (nodeName: string) => DerperLabPaths;
  /** The policy file's lab copy, when the spec names a policy file. */
  readonly policyPath?: string | undefined;
}

/** A certificate and key on disk. */
export interface LabCertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The lab-only region proving that a wrong pin is refused. */
export interface WrongPinProbe {
  readonly regionId: number;
  readonly regionCode: string;
  readonly nodeName: string;
  /** The pinned node it copies (same derper, same address). */
  readonly pinnedNode: string;
  readonly wrongPin: string;
}

/** The tailnet as the lab runs it. */
export interface LabTailnet {
  /** The lab spec (after every change), as validated. */
  readonly spec: TailnetSpec;
  /** Resolved from the lab spec, headscale relocated into the run directory. */
  readonly tailnet: ResolvedTailnet;
  /** renderTailnet() of `tailnet`. */
  readonly files: readonly RenderedFile[];
  /** Each started node's derper flags: the rendered ones, with only the three file paths relocated. */
  readonly derperArgs: ReadonlyMap<string, readonly string[]>;
  /** The region's mesh key file (from the run's secret store) of each meshed node. */
  readonly meshKeys: ReadonlyMap<string, string>;
  readonly changes: readonly LabChange[];
  readonly probe: WrongPinProbe | undefined;
}

const PROBE_CODE = "lab-wrong-pin";

function urlPort(url: URL): number {
  return url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** A free region id for the lab's probe region: the highest unused one in 900-999. */
function freeRegionId(spec: TailnetSpec): number {
  const used = new Set((spec.derp?.regions ?? []).map((r) => r.id));
  if (spec.headscale.embeddedDerp?.enabled) used.add(spec.headscale.embeddedDerp.regionId ?? 999);
  for (let id = 999; id >= 900; id--) if (!used.has(id)) return id;
  throw new Error("no free DERP region id in 900-999 for the lab's wrong-pin probe region");
}

/**
 * Replaces the three file paths in a node's rendered derper flags (key file, certificate
 * directory, mesh key); every other flag stays exactly as rendered.
 */
export function relocateDerperArgs(args: readonly string[], to: DerperLabPaths): string[] {
  const moves: Record<string, [string, string]> = {
    "-c": [DERPER_PATHS.keyFile, to.keyFile],
    "-certdir": [DERPER_PATHS.certDir, to.certDir],
    "-mesh-psk-file": [DERPER_PATHS.meshKeyFile, to.meshKeyFile],
  };
  return args.map((arg) => {
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const move = moves[flag];
    if (!move) return arg;
    const value = arg.slice(eq + 1);
    if (value !== move[0]) throw new Error(`derper flag ${arg}: expected the rendered path ${move[0]}`);
    return `${flag}=${move[1]}`;
  });
}

/**
 * Applies the lab's changes to a validated spec, then runs the normal pipeline on the result:
 * loadTailnet (validate + resolve), relocateHeadscale, renderTailnet.
 */
export function applyLabChanges(original: TailnetSpec, inputs: LabChangeInputs): LabTailnet {
  const spec = structuredClone(original) as TailnetSpec;
  const changes: LabChange[] = [];
  const note = (subject: string, from: unknown, to: unknown, why: string) =>
    changes.push({ subject, from: from === undefined ? "(none)" : String(from), to: to === undefined ? "(none)" : String(to), why });
  const { plan } = inputs;
  const hs = spec.headscale;

  // headscale version
  if (inputs.headscaleVersion !== undefined && inputs.headscaleVersion.replace(/^v/, "") !== (hs.version ?? "")) {
    note("headscale.version", hs.version ?? "(default)", inputs.headscaleVersion.replace(/^v/, ""), "--headscale-version");
    hs.version = inputs.headscaleVersion.replace(/^v/, "");
  }

  // headscale TLS and listener
  const server = new URL(hs.serverUrl);
  const port = urlPort(server);
  const tlsBefore = hs.tls ?? { mode: "proxy" as const };
  if (server.protocol === "https:") {
    if (!inputs.headscaleCertificate) throw new Error("the lab needs a certificate for headscale's https server URL");
    hs.tls = { mode: "files", certPath: inputs.headscaleCertificate.certFile, keyPath: inputs.headscaleCertificate.keyFile };
    note("headscale.tls", tlsBefore.mode === "letsencrypt" ? "letsencrypt (ACME)" : tlsBefore.mode === "files" ? `files ${tlsBefore.certPath}` : "proxy (TLS terminated in front)", `files: a certificate for ${server.hostname} from the lab CA`, "no public CA can issue certificates in a lab; clients trust the lab CA");
  } else if (tlsBefore.mode !== "proxy") {
    note("headscale.tls", tlsBefore.mode, "proxy (plain HTTP)", "the server URL is http://");
    hs.tls = { mode: "proxy" };
  }
  const listenNeeded = `0.0.0.0:${port}`;
  const listenNow = hs.listenAddr ?? ((hs.tls ?? { mode: "proxy" }).mode === "proxy" ? "0.0.0.0:8080" : "0.0.0.0:443");
  if (listenNow !== listenNeeded && listenNow !== `:${port}`) {
    note("headscale.listenAddr", listenNow, listenNeeded, "no reverse proxy or port mapping in the lab: headscale listens where its server URL points");
    hs.listenAddr = listenNeeded;
  }
  if (hs.policy?.path) {
    if (!inputs.policyPath) throw new Error(`the spec's policy file ${hs.policy.path} is needed by the lab`);
    note("headscale.policy.path", hs.policy.path, inputs.policyPath, "the policy file, copied into the run directory");
    hs.policy = { ...hs.policy, path: inputs.policyPath };
  }
  const hsMachine = headscaleMachine(plan);
  if (hs.embeddedDerp?.enabled) {
    if (hs.embeddedDerp.ipv4 !== undefined && hs.embeddedDerp.ipv4 !== "none") {
      note("headscale.embeddedDerp.ipv4", hs.embeddedDerp.ipv4, hsMachine.address, "public addresses become lab addresses");
      hs.embeddedDerp.ipv4 = hsMachine.address;
    }
    if (hs.embeddedDerp.ipv6 !== undefined && hs.embeddedDerp.ipv6 !== "none") {
      note("headscale.embeddedDerp.ipv6", hs.embeddedDerp.ipv6, undefined, "the lab network is IPv4 only");
      delete hs.embeddedDerp.ipv6;
    }
  }

  // Tailscale's public regions: unreachable from a lab, and headscale does not start when it cannot fetch their map
  if (spec.derp?.tailscaleRegions !== undefined && spec.derp.tailscaleRegions !== "drop") {
    note("derp.tailscaleRegions", JSON.stringify(spec.derp.tailscaleRegions), "drop", "the lab has no route off the machine: headscale could not fetch Tailscale's public DERP map and would not start");
    spec.derp.tailscaleRegions = "drop";
  }

  // hosts: public addresses become lab addresses
  for (const host of spec.hosts ?? []) {
    const machine = machineOfHost(plan, host.name);
    if (!machine) continue;
    if (host.publicIpv4 !== undefined) {
      note(`hosts.${host.name}.publicIpv4`, host.publicIpv4, machine.address, "public addresses become lab addresses");
      host.publicIpv4 = machine.address;
    }
    if (host.publicIpv6 !== undefined) {
      note(`hosts.${host.name}.publicIpv6`, host.publicIpv6, undefined, "the lab network is IPv4 only");
      delete host.publicIpv6;
    }
  }

  // DERP nodes: addresses, certificates, pins
  const sourceOf = new Map(inputs.model.derp.regions.flatMap((r) => r.nodes).map((n) => [n.name, n.derper.certificateSource]));
  let pinned: { regionId: number; hostname: string; derpPort?: number; stunPort?: number } | undefined;
  for (const region of spec.derp?.regions ?? []) {
    for (const node of region.nodes) {
      const machine = machineOfNode(plan, node.name);
      const what = `derp node ${node.name}`;
      const ipFamily = isIP(node.hostname);
      if (ipFamily === 6) throw new Error(`${what}: the lab network is IPv4 only and cannot run a node named by the IPv6 address ${node.hostname}`);
      if (ipFamily === 4) {
        note(`${what} hostname`, node.hostname, machine.address, "public addresses become lab addresses (the node is named by its IP address)");
        node.hostname = machine.address;
      }
      if (node.ipv4 !== undefined && node.ipv4 !== "none") {
        note(`${what} ipv4`, node.ipv4, machine.address, "public addresses become lab addresses");
        node.ipv4 = machine.address;
      }
      if (node.ipv6 !== undefined && node.ipv6 !== "none") {
        note(`${what} ipv6`, node.ipv6, undefined, "the lab network is IPv4 only");
        delete node.ipv6;
      }
      if (node.stunOnly) continue;
      const source = sourceOf.get(node.name)!;
      const manualFiles = node.certificate?.mode === "manual" && node.certificate.certFile ? ` (${node.certificate.certFile})` : "";
      if (source === "self-signed") {
        // The kit issues it, for the node's lab host name, into the run's secrets directory.
        if (ipFamily === 4 && !node.insecureForTests && !pinned) pinned = { regionId: region.id, hostname: node.hostname, ...(node.derpPort !== undefined && { derpPort: node.derpPort }), ...(node.stunPort !== undefined && { stunPort: node.stunPort }) };
        continue;
      }
      if (ipFamily === 4) {
        const cert = inputs.ipNodeCertificates.get(node.name);
        if (!cert) throw new Error(`${what}: no lab certificate was made for it`);
        node.certificate = { mode: "manual", certFile: cert.certFile, keyFile: cert.keyFile };
        note(`${what} certificate`, `${source}${manualFiles}`, `manual: a self-signed certificate for ${node.hostname} made by the lab`, "the node's address changed, so its certificate must too");
        if (node.certName !== undefined || !node.insecureForTests) {
          note(`${what} certName`, node.certName, cert.pin, "the pin of the lab's certificate: the one place the lab changes a pin (use certificate mode self-signed and the kit issues and pins it itself)");
          node.certName = cert.pin;
          if (!pinned) pinned = { regionId: region.id, hostname: node.hostname, ...(node.derpPort !== undefined && { derpPort: node.derpPort }), ...(node.stunPort !== undefined && { stunPort: node.stunPort }) };
        }
      } else {
        const cert = inputs.dnsNodeCertificates.get(node.name);
        if (!cert) throw new Error(`${what}: no lab certificate was made for it`);
        node.certificate = { mode: "manual", certFile: cert.certFile, keyFile: cert.keyFile };
        note(`${what} certificate`, `${source}${manualFiles}`, `manual: a certificate for ${node.hostname} from the lab CA`, "no public CA issues certificates in a lab; clients trust the lab CA");
      }
    }
  }

  // the wrong-pin probe region
  let probe: WrongPinProbe | undefined;
  if (inputs.wrongPin !== undefined && pinned) {
    const regionId = freeRegionId(spec);
    const nodeName = `${PROBE_CODE}-1`;
    spec.derp!.regions!.push({
      id: regionId,
      code: PROBE_CODE,
      name: "Lab only: wrong pin",
      noMeasureNoHome: true,
      nodes: [
        {
          name: nodeName,
          hostname: pinned.hostname,
          certName: inputs.wrongPin,
          ...(pinned.derpPort !== undefined && { derpPort: pinned.derpPort }),
          ...(pinned.stunPort !== undefined && { stunPort: pinned.stunPort }),
          certificate: { mode: "manual" },
        },
      ],
    });
    probe = { regionId, regionCode: PROBE_CODE, nodeName, pinnedNode: "", wrongPin: inputs.wrongPin };
    note(`derp region ${regionId} (${PROBE_CODE})`, undefined, `added: the node at ${pinned.hostname} again, pinned to another certificate of the same address (${inputs.wrongPin.slice(0, 22)}…), NoMeasureNoHome`, "lab only: proves clients refuse a node whose certificate does not match its pin; no client measures or homes on it");
  }

  // the normal pipeline: validate + resolve, certificates, relocation, render
  const store = new SecretStore(spec.name ?? inputs.model.name, inputs.secretsDir);
  const resolved = materializeCertificates(loadTailnet(spec), store);
  note("secrets", `${defaultSecretsRoot()}/${resolved.name}`, `${inputs.secretsDir}/${resolved.name}`, "fresh mesh keys and self-signed certificates for every run; the lab never touches your secrets");
  const tailnet = relocateHeadscale(resolved, { paths: inputs.headscalePaths });
  const before = resolved.headscale.paths;
  note("headscale files", `${before.configDir}, ${before.stateDir}, ${before.runDir}`, `${inputs.headscalePaths.configDir}, ${inputs.headscalePaths.stateDir}, ${inputs.headscalePaths.runDir}`, "the lab runs headscale as a process in the run directory");
  const files = renderTailnet(tailnet);
  if (probe) {
    const node = tailnet.derp.regions.flatMap((r) => r.nodes).find((n) => n.hostname === pinned!.hostname && n.name !== probe!.nodeName);
    probe = { ...probe, pinnedNode: node?.name ?? "" };
  }

  const derperArgs = new Map<string, string[]>();
  const meshKeys = new Map<string, string>();
  const started = new Set(plan.machines.flatMap((m) => m.derpNodes));
  for (const region of tailnet.derp.regions) {
    for (const node of region.nodes) {
      if (!started.has(node.name)) continue;
      derperArgs.set(node.name, relocateDerperArgs(node.derper.args, inputs.derperPaths(node.name)));
      if (node.derper.meshWith.length > 0) meshKeys.set(node.name, store.meshKey(region.code).path);
    }
  }
  if (derperArgs.size > 0) {
    note("derper files (every node)", `${DERPER_PATHS.keyFile}, ${DERPER_PATHS.certDir}, ${DERPER_PATHS.meshKeyFile}`, "<run>/derper/<node>/derper.key, certs, mesh.key", "the lab runs derper as a process in the run directory; every other flag is exactly as rendered");
  }
  note("DNS", "public DNS", `${headscaleMachine(plan).name} and every DERP host name resolve to lab addresses`, "a hosts file bound over /etc/hosts in every lab namespace");
  return { spec, tailnet, files, derperArgs, meshKeys, changes, probe };
}

/** The hosts file every lab namespace sees: headscale's host and every DERP node's DNS name. */
export function labHostsFile(tailnet: ResolvedTailnet, plan: LabPlan, probe: WrongPinProbe | undefined): string {
  const entries = new Map<string, string>();
  entries.set(tailnet.headscale.serverHost, headscaleMachine(plan).address);
  for (const node of tailnet.derp.regions.flatMap((r) => r.nodes)) {
    if (node.name === probe?.nodeName || isIP(node.hostname)) continue;
    entries.set(node.hostname, machineOfNode(plan, node.name).address);
  }
  const lines = ["127.0.0.1 localhost", ...[...entries].map(([name, address]) => `${address} ${name}`)];
  return `# cdktf-tailnet lab: DNS names of the model, at their lab addresses\n${lines.join("\n")}\n`;
}
