/**
 * The one step where the lab changes the tailnet: `applyLabChanges()`. Everything else the lab
 * runs is what the kit renders from the spec through the normal pipeline (validate -> resolve ->
 * render), and every change made here is listed, with why, in the lab's output.
 *
 * What a lab must change, and nothing more:
 * - public addresses become lab addresses (IPv4 and IPv6: the lab network is dual-stack);
 *   a server URL named by an IP address gets headscale's lab address (scheme and port kept);
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
 *
 * Tests of the checks themselves ask for breaks (`LabBreak`): each breaks exactly one check's
 * precondition, is applied here (or, for how programs start, by the lab right after) and is
 * listed with the changes, so a report always says what was broken on purpose.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  allNodes,
  DERPER_PATHS,
  hostNamed,
  loadTailnet,
  nodeNamed,
  relocateHeadscale,
  type HeadscalePaths,
  type PreparedTailnet,
  type ResolvedTailnet,
  type TailnetSpec,
} from "../model/index.js";
import { writeFileAtomic } from "../fsx/atomic-file.js";
import { isIp, parseIp, parseListenAddress, urlHost } from "../model/net.js";
import { derperArgs as renderDerperArgs } from "../render/command-lines.js";
import { renderTailnet, type RenderedFile } from "../render/index.js";
import { certificatePin, defaultSecretsRoot, issueSelfSigned, prepare, SecretStore } from "../secrets/index.js";
import { writeLabCertificate } from "./certs.js";
import { pointOidcAtLab } from "./oidc.js";
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

/**
 * A deliberate break of one check's precondition, for the tests of the checks (the check named
 * after the arrow must fail, every other must not):
 * - `pin-mismatch`: the pinned IP-only node's derper serves another certificate for its address
 *   than the one its pin names -> `pin` (and `derp:<its region>`, whose TLS is the same);
 * - `wrong-pin-matches`: the lab's wrong-pin region pins the certificate the node really serves -> `wrong-pin`;
 * - `verify-off`: every derper runs without `-verify-client-url` while the model has it on -> `verify`;
 * - `route-not-auto-approved`: the policy's autoApprovers lose the devices' routes -> `routes`;
 * - `exit-not-approved`: the policy's autoApprovers lose the exit nodes -> `exit-node:<device>`;
 * - `mesh-key-mismatch`: the second node of each meshed region gets another mesh key -> `mesh:<region>`;
 * - `device-untagged`: the devices' pre-auth keys are made without their tags -> `registered`;
 * - `foreign-region`: the DERP map headscale serves has a region the model does not (as when
 *   Tailscale's public map is kept) -> `netcheck`;
 * - `direct-allowed`: plain clients run without TS_DEBUG_ALWAYS_USE_DERP, so they may talk
 *   directly -> `relay-ping`;
 * - `oidc-user-not-allowed`: the lab's OpenID Connect provider logs in a user outside the allowed
 *   users, domains and groups first -> `oidc-login`;
 * - `ipv6-stun-closed`: the DERP nodes with IPv6 drop STUN over IPv6 (nftables in their
 *   namespaces, applied by the lab once the network is up) -> `ipv6`.
 */
export type LabBreak =
  | "pin-mismatch"
  | "wrong-pin-matches"
  | "verify-off"
  | "route-not-auto-approved"
  | "exit-not-approved"
  | "mesh-key-mismatch"
  | "device-untagged"
  | "foreign-region"
  | "direct-allowed"
  | "oidc-user-not-allowed"
  | "ipv6-stun-closed";

export const LAB_BREAKS: readonly LabBreak[] = [
  "pin-mismatch",
  "wrong-pin-matches",
  "verify-off",
  "route-not-auto-approved",
  "exit-not-approved",
  "mesh-key-mismatch",
  "device-untagged",
  "foreign-region",
  "direct-allowed",
  "oidc-user-not-allowed",
  "ipv6-stun-closed",
];

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
  /** Where headscale's backups go (the backup script the kit renders for its host). */
  readonly backupDir?: string;
  readonly derperPaths: (nodeName: string) => DerperLabPaths;
  /** The policy file's lab copy, when the spec names a policy file. */
  readonly policyPath?: string | undefined;
  /** Preconditions to break on purpose (tests of the checks). */
  readonly breaks?: readonly LabBreak[];
  /** The lab's OpenID Connect provider, when the model has `oidc` (lab/oidc.ts). */
  readonly oidc?: { readonly issuer: string; readonly clientSecretFile: string } | undefined;
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
  readonly tailnet: PreparedTailnet;
  /** renderTailnet() of `tailnet`. */
  readonly files: readonly RenderedFile[];
  /** Each started node's derper flags: the rendered ones, with only the three file paths relocated. */
  readonly derperArgs: ReadonlyMap<string, readonly string[]>;
  /** The region's mesh key file (from the run's secret store) of each meshed node. */
  readonly meshKeys: ReadonlyMap<string, string>;
  /** The certificate each started node's derper serves (manual mode), as `<certFileBase>.crt/.key`. */
  readonly derperCertificates: ReadonlyMap<string, LabCertificateFiles>;
  readonly changes: readonly LabChange[];
  readonly probe: WrongPinProbe | undefined;
  /** The breaks asked for. */
  readonly breaks: ReadonlySet<LabBreak>;
  /** Regions in the map headscale serves that the model does not have (the `foreign-region` break). */
  readonly foreignRegions: readonly number[];
}

const PROBE_CODE = "lab-wrong-pin";
/** The host the lab gives headscale when the spec names none. */
const LAB_HEADSCALE_HOST = "lab-headscale";

/**
 * The name headscale's lab certificate is for: the server URL's host, or, when that is an IP
 * address, headscale's lab address (where `applyLabChanges` moves the URL).
 */
export function labServerHost(serverUrl: string, plan?: LabPlan): string {
  const host = urlHost(serverUrl) ?? "";
  return isIp(host) && plan ? headscaleMachine(plan).address : host;
}

/** The port a URL reaches: its own, else its scheme's. */
export function urlPort(url: URL): number {
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
 * The normal pipeline on a lab spec: loadTailnet (validate + resolve), the run's certificates,
 * headscale relocated into the run directory.
 *
 * The lab spec is validated although the spec it was made from was (lab/setup.ts), because a lab
 * change can make a valid spec invalid, and the model's message says so better than a program
 * that does not start: headscale now listens where its server URL points (a lab has no proxy in
 * front), so with `tls: proxy` on a host whose derper has port 443 tcp/443 is opened twice;
 * `--headscale-version` (and the upgrade drill's versions, with upgradeFrom/rollbackFrom) brings
 * that release's rules (a setting it does not have, the upgrade or rollback step); the wrong-pin
 * region and the `foreign-region` break add regions and nodes that must not clash with the spec's.
 * The changes are made on the spec rather than on its resolved model because most of what they
 * change feeds what resolve derives (mesh peers, derper's certificate mode, listeners and verify
 * URL, the embedded DERP's and the nodes' addresses, the backups of headscale's host, the
 * firewall): resolving the changed spec derives all of it the way the kit does, once.
 */
function pipeline(spec: TailnetSpec, inputs: LabChangeInputs) {
  const resolved = prepare(loadTailnet(spec), { secretsDir: inputs.secretsDir });
  const store = new SecretStore(resolved.name, inputs.secretsDir);
  const started = new Set(inputs.plan.machines.flatMap((m) => m.derpNodes));
  const relocated = relocateHeadscale(resolved, { paths: inputs.headscalePaths, backupDir: inputs.backupDir });
  return { resolved, store, started, relocated };
}

/**
 * The lab's tailnet with headscale's settings changed by `change` (an upgrade, a rollback): the
 * lab spec through the same pipeline, with the same run directory, certificates and secrets.
 */
export function labVariant(
  lab: LabTailnet,
  inputs: LabChangeInputs,
  change: (headscale: TailnetSpec["headscale"]) => void,
): { tailnet: PreparedTailnet; files: RenderedFile[] } {
  const spec = structuredClone(lab.spec) as TailnetSpec;
  change(spec.headscale);
  // The run already listed these changes; a variant makes the same ones (or its headscale would
  // listen on IPv4 only, or wait for an identity provider the lab does not run).
  const tailnet = adaptResolved(pipeline(spec, inputs).relocated, inputs, () => undefined);
  return { tailnet, files: renderTailnet(tailnet) };
}

/**
 * The lab's changes to the resolved model itself (the rest are made on the spec): headscale runs
 * as a process, not in a container (where 0.0.0.0 is what Docker publishes on both families), so
 * it listens on both families itself and a client with IPv6 only reaches it too; with `oidc`, the
 * rendered block points at the lab's provider. Each change goes to `note`.
 */
function adaptResolved(relocated: PreparedTailnet, inputs: LabChangeInputs, note: (c: LabChange) => void): PreparedTailnet {
  let tailnet = relocated;
  const bound = parseListenAddress(tailnet.headscale.listenAddr);
  if (bound?.host === "0.0.0.0") {
    note({
      subject: "headscale listen_addr (rendered)",
      from: tailnet.headscale.listenAddr,
      to: `[::]:${bound.port}`,
      why: "the lab network is dual-stack: headscale listens on IPv4 and IPv6, as a published container port does",
    });
    tailnet = { ...tailnet, headscale: { ...tailnet.headscale, listenAddr: `[::]:${bound.port}` } };
  }
  return inputs.oidc ? pointOidcAtLab(tailnet, inputs.oidc, note) : tailnet;
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

  // headscale's host: the backup script is rendered for the host headscale runs on
  if (hs.host === undefined) {
    const names = new Set((spec.hosts ?? []).map((h) => h.name));
    let name = LAB_HEADSCALE_HOST;
    for (let i = 2; names.has(name); i++) name = `${LAB_HEADSCALE_HOST}-${i}`;
    spec.hosts = [...(spec.hosts ?? []), { name }];
    hs.host = name;
    note(
      "headscale.host",
      undefined,
      name,
      "the lab runs headscale on a machine of its own; the kit renders headscale's backups for the host it runs on (the drills of --faults use them)",
    );
  }

  // the server URL: named by an IP address, it becomes headscale's lab address (a DNS name resolves there through the hosts file)
  const hsMachine = headscaleMachine(plan);
  const server = new URL(hs.serverUrl);
  const port = urlPort(server);
  if (isIp(urlHost(server.href) ?? "")) {
    const labUrl = `${server.protocol}//${hsMachine.address}${server.port === "" ? "" : `:${server.port}`}`;
    note("headscale.serverUrl", hs.serverUrl, labUrl, "public addresses become lab addresses (the server URL names headscale by its IP address)");
    hs.serverUrl = labUrl;
  }

  // headscale TLS and listener
  const tlsBefore = hs.tls ?? { mode: "proxy" as const };
  if (server.protocol === "https:") {
    if (!inputs.headscaleCertificate) throw new Error("the lab needs a certificate for headscale's https server URL");
    hs.tls = { mode: "files", certPath: inputs.headscaleCertificate.certFile, keyPath: inputs.headscaleCertificate.keyFile };
    note(
      "headscale.tls",
      tlsBefore.mode === "letsencrypt" ? "letsencrypt (ACME)" : tlsBefore.mode === "files" ? `files ${tlsBefore.certPath}` : "proxy (TLS terminated in front)",
      `files: a certificate for ${labServerHost(hs.serverUrl)} from the lab CA`,
      "no public CA can issue certificates in a lab; clients trust the lab CA",
    );
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
  if (hs.embeddedDerp?.enabled) {
    if (hs.embeddedDerp.ipv4 !== undefined && hs.embeddedDerp.ipv4 !== "none") {
      note("headscale.embeddedDerp.ipv4", hs.embeddedDerp.ipv4, hsMachine.address, "public addresses become lab addresses");
      hs.embeddedDerp.ipv4 = hsMachine.address;
    }
    if (hs.embeddedDerp.ipv6 !== undefined && hs.embeddedDerp.ipv6 !== "none") {
      note("headscale.embeddedDerp.ipv6", hs.embeddedDerp.ipv6, hsMachine.address6, "public addresses become lab addresses");
      hs.embeddedDerp.ipv6 = hsMachine.address6;
    }
  }

  // Tailscale's public regions: unreachable from a lab, and headscale does not start when it cannot fetch their map
  if (spec.derp?.tailscaleRegions !== undefined && spec.derp.tailscaleRegions !== "drop") {
    note(
      "derp.tailscaleRegions",
      JSON.stringify(spec.derp.tailscaleRegions),
      "drop",
      "the lab has no route off the machine: headscale could not fetch Tailscale's public DERP map and would not start",
    );
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
      note(`hosts.${host.name}.publicIpv6`, host.publicIpv6, machine.address6, "public addresses become lab addresses (the lab network is dual-stack)");
      host.publicIpv6 = machine.address6;
    }
  }

  // DERP nodes: addresses, certificates, pins
  let pinned: { regionId: number; hostname: string; derpPort?: number; stunPort?: number } | undefined;
  for (const region of spec.derp?.regions ?? []) {
    for (const node of region.nodes) {
      const machine = machineOfNode(plan, node.name);
      const what = `derp node ${node.name}`;
      const ipFamily = parseIp(node.hostname)?.family;
      if (ipFamily === 6)
        throw new Error(
          `${what}: the lab cannot check a node named by the IPv6 address ${node.hostname}: \`tailscale debug derp\`, which its DERP checks run, builds the node's captive-portal URL without brackets and skips the node (Tailscale 1.102); name it by a DNS name with an ipv6 address, or by an IPv4 address, for the lab`,
        );
      if (ipFamily === 4) {
        note(`${what} hostname`, node.hostname, machine.address, "public addresses become lab addresses (the node is named by its IP address)");
        node.hostname = machine.address;
      }
      if (node.ipv4 !== undefined && node.ipv4 !== "none") {
        note(`${what} ipv4`, node.ipv4, machine.address, "public addresses become lab addresses");
        node.ipv4 = machine.address;
      }
      if (node.ipv6 !== undefined && node.ipv6 !== "none") {
        note(`${what} ipv6`, node.ipv6, machine.address6, "public addresses become lab addresses");
        node.ipv6 = machine.address6;
      }
      if (node.stunOnly) continue;
      const source = nodeNamed(inputs.model, node.name)!.derper.certificateSource;
      const manualFiles = node.certificate?.mode === "manual" && node.certificate.certFile ? ` (${node.certificate.certFile})` : "";
      if (source === "self-signed") {
        // The kit issues it, for the node's lab host name, into the run's secrets directory.
        if (ipFamily === 4 && !node.insecureForTests && !pinned)
          pinned = {
            regionId: region.id,
            hostname: node.hostname,
            ...(node.derpPort !== undefined && { derpPort: node.derpPort }),
            ...(node.stunPort !== undefined && { stunPort: node.stunPort }),
          };
        continue;
      }
      if (ipFamily === 4) {
        const cert = inputs.ipNodeCertificates.get(node.name);
        if (!cert) throw new Error(`${what}: no lab certificate was made for it`);
        node.certificate = { mode: "manual", certFile: cert.certFile, keyFile: cert.keyFile };
        note(
          `${what} certificate`,
          `${source}${manualFiles}`,
          `manual: a self-signed certificate for ${node.hostname} made by the lab`,
          "the node's address changed, so its certificate must too",
        );
        if (node.certName !== undefined || !node.insecureForTests) {
          note(
            `${what} certName`,
            node.certName,
            cert.pin,
            "the pin of the lab's certificate: the one place the lab changes a pin (use certificate mode self-signed and the kit issues and pins it itself)",
          );
          node.certName = cert.pin;
          if (!pinned)
            pinned = {
              regionId: region.id,
              hostname: node.hostname,
              ...(node.derpPort !== undefined && { derpPort: node.derpPort }),
              ...(node.stunPort !== undefined && { stunPort: node.stunPort }),
            };
        }
      } else {
        const cert = inputs.dnsNodeCertificates.get(node.name);
        if (!cert) throw new Error(`${what}: no lab certificate was made for it`);
        node.certificate = { mode: "manual", certFile: cert.certFile, keyFile: cert.keyFile };
        note(
          `${what} certificate`,
          `${source}${manualFiles}`,
          `manual: a certificate for ${node.hostname} from the lab CA`,
          "no public CA issues certificates in a lab; clients trust the lab CA",
        );
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
    note(
      `derp region ${regionId} (${PROBE_CODE})`,
      undefined,
      `added: the node at ${pinned.hostname} again, pinned to another certificate of the same address (${inputs.wrongPin.slice(0, 22)}…), NoMeasureNoHome`,
      "lab only: proves clients refuse a node whose certificate does not match its pin; no client measures or homes on it",
    );
  }

  // break: a region the model does not have, in the map headscale serves
  const breaks = new Set(inputs.breaks ?? []);
  const brk = (what: LabBreak, subject: string, from: unknown, to: unknown) =>
    note(`break ${what}: ${subject}`, from, to, "asked for: a test of the check this precondition belongs to");
  const foreignRegions: number[] = [];
  if (breaks.has("foreign-region")) {
    const used = new Set((spec.derp?.regions ?? []).map((r) => r.id));
    const id = [...Array(100).keys()].map((i) => 900 + i).find((i) => !used.has(i))!;
    spec.derp ??= {};
    spec.derp.regions ??= [];
    spec.derp.regions.push({ id, code: "nyc", name: "New York City", nodes: [{ name: "nyc-1", hostname: "derp-nyc.example.net" }] });
    foreignRegions.push(id);
    brk(
      "foreign-region",
      `derp region ${id} (nyc)`,
      undefined,
      "added to the map headscale serves: a region of Tailscale's public map, not in the model (no derper runs it, nothing resolves its name)",
    );
  }

  // the normal pipeline: validate + resolve, certificates, relocation, render
  const { resolved, store, started, relocated } = pipeline(spec, inputs);
  let tailnet = relocated;
  note(
    "secrets",
    `${defaultSecretsRoot()}/${resolved.name}`,
    `${inputs.secretsDir}/${resolved.name}`,
    "fresh mesh keys and self-signed certificates for every run; the lab never touches your secrets",
  );
  const before = resolved.headscale.paths;
  note(
    "headscale files",
    `${before.configDir}, ${before.stateDir}, ${before.runDir}`,
    `${inputs.headscalePaths.configDir}, ${inputs.headscalePaths.stateDir}, ${inputs.headscalePaths.runDir}`,
    "the lab runs headscale as a process in the run directory",
  );
  if (probe) {
    const node = allNodes(tailnet).find((n) => n.hostname === pinned!.hostname && n.name !== probe!.nodeName);
    probe = { ...probe, pinnedNode: node?.name ?? "" };
  }
  tailnet = adaptResolved(tailnet, inputs, (c) => changes.push(c));
  const nodes = allNodes(tailnet);

  // what each derper serves, and the breaks that change it
  const derperCertificates = new Map<string, LabCertificateFiles>();
  for (const node of nodes) if (started.has(node.name) && node.derper.certificateFiles) derperCertificates.set(node.name, node.derper.certificateFiles);
  const breakDir = () => {
    const d = join(inputs.secretsDir, "lab-breaks");
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };
  const pinnedNode =
    nodes.find((n) => n.name === probe?.pinnedNode) ?? nodes.find((n) => n.hostnameIsIp && n.certName?.startsWith("sha256-raw:") && started.has(n.name));
  let servedPin = pinnedNode?.certName;
  if (breaks.has("pin-mismatch")) {
    if (!pinnedNode) throw new Error("break pin-mismatch: the model has no DERP node named by an IP address with a pinned certificate");
    const issued = issueSelfSigned(pinnedNode.hostname, 30);
    const files = writeLabCertificate(breakDir(), `${pinnedNode.name}-other`, issued);
    derperCertificates.set(pinnedNode.name, files);
    servedPin = certificatePin(issued.der);
    brk(
      "pin-mismatch",
      `derp node ${pinnedNode.name} certificate served`,
      `the one its pin names (${pinnedNode.certName?.slice(0, 22)}…)`,
      `another self-signed certificate for ${pinnedNode.hostname} (${servedPin.slice(0, 22)}…)`,
    );
  }
  if (breaks.has("wrong-pin-matches")) {
    if (!probe || !servedPin)
      throw new Error("break wrong-pin-matches: the lab has no wrong-pin region (no DERP node named by an IP address with a pinned certificate)");
    const pin = servedPin;
    tailnet = {
      ...tailnet,
      derp: {
        ...tailnet.derp,
        regions: tailnet.derp.regions.map((r) => ({ ...r, nodes: r.nodes.map((n) => (n.name === probe!.nodeName ? { ...n, certName: pin } : n)) })),
      },
    };
    brk(
      "wrong-pin-matches",
      `derp region ${probe.regionId} (${probe.regionCode}) certName`,
      `${probe.wrongPin.slice(0, 22)}… (a certificate never served)`,
      `${pin.slice(0, 22)}… (the certificate ${pinnedNode?.name} serves)`,
    );
    probe = { ...probe, wrongPin: pin };
  }
  if (breaks.has("route-not-auto-approved")) {
    const routes = new Set(tailnet.devices.flatMap((d) => d.advertiseRoutes));
    const policy = tailnet.policy;
    if (!policy || routes.size === 0) throw new Error("break route-not-auto-approved: the model has no policy with routes to auto-approve");
    const kept = Object.fromEntries(Object.entries(policy.autoApprovers.routes).filter(([prefix]) => !routes.has(prefix)));
    tailnet = { ...tailnet, policy: { ...policy, autoApprovers: { ...policy.autoApprovers, routes: kept } } };
    brk(
      "route-not-auto-approved",
      "policy autoApprovers.routes",
      Object.keys(policy.autoApprovers.routes).join(", "),
      Object.keys(kept).join(", ") || "(none)",
    );
  }
  if (breaks.has("exit-not-approved")) {
    const policy = tailnet.policy;
    if (!policy || !tailnet.devices.some((d) => d.exitNode))
      throw new Error("break exit-not-approved: the model has no policy with exit nodes to auto-approve");
    tailnet = { ...tailnet, policy: { ...policy, autoApprovers: { ...policy.autoApprovers, exitNode: [] } } };
    brk("exit-not-approved", "policy autoApprovers.exitNode", policy.autoApprovers.exitNode.join(", "), "(none)");
  }
  const files = renderTailnet(tailnet);

  const derperArgs = new Map<string, string[]>();
  const meshKeys = new Map<string, string>();
  for (const region of tailnet.derp.regions) {
    let meshed = 0;
    for (const node of region.nodes) {
      if (!started.has(node.name)) continue;
      // derper's flags as rendered for every host, with its files in the run directory.
      const run = breaks.has("verify-off") ? { ...node, derper: { ...node.derper, verifyClientUrl: undefined } } : node;
      derperArgs.set(node.name, renderDerperArgs(run, inputs.derperPaths(node.name)));
      if (node.derper.mesh.length === 0) continue;
      meshKeys.set(node.name, store.meshKey(region.code).path);
      if (breaks.has("mesh-key-mismatch") && meshed++ === 1) {
        const other = join(breakDir(), `mesh-${region.code}-${node.name}.key`);
        writeFileAtomic(other, `${randomBytes(32).toString("hex")}\n`, 0o600);
        meshKeys.set(node.name, other);
        brk("mesh-key-mismatch", `derp node ${node.name} mesh key`, `region ${region.code}'s key`, "another random key");
      }
    }
  }
  if (breaks.has("verify-off"))
    brk("verify-off", "derper flags (every node)", "-verify-client-url=... -verify-client-url-fail-open=false", "(dropped: derper admits any client)");
  if (breaks.has("mesh-key-mismatch") && ![...meshKeys.values()].some((k) => k.includes("lab-breaks")))
    throw new Error("break mesh-key-mismatch: the model has no meshed region whose nodes the lab starts");
  if (breaks.has("device-untagged")) {
    if (!tailnet.devices.some((d) => d.tags.length > 0)) throw new Error("break device-untagged: no device of the model has tags");
    brk("device-untagged", "pre-auth keys of tagged devices", "made with the device's tags", "made without tags");
  }
  if (breaks.has("oidc-user-not-allowed")) {
    const oidc = tailnet.headscale.oidc;
    if (!oidc || oidc.allowedUsers.length + oidc.allowedDomains.length + oidc.allowedGroups.length === 0)
      throw new Error("break oidc-user-not-allowed: the model has no oidc block that restricts who may log in");
    brk(
      "oidc-user-not-allowed",
      "the lab's OpenID Connect provider, first login",
      "a user the allowed lists admit",
      "a user outside allowedUsers, allowedDomains and allowedGroups",
    );
  }
  if (breaks.has("ipv6-stun-closed")) {
    const v6 = nodes.filter((n) => n.ipv6 !== undefined && n.stunPort > 0 && started.has(n.name));
    if (v6.length === 0) throw new Error("break ipv6-stun-closed: no DERP node of the model has IPv6 and STUN");
    brk("ipv6-stun-closed", `STUN over IPv6 on ${v6.map((n) => n.name).join(", ")}`, "answered", "dropped (nftables in the node's namespace)");
  }
  if (breaks.has("direct-allowed")) brk("direct-allowed", "tailscaled of plain clients", "TS_DEBUG_ALWAYS_USE_DERP=true", "(unset: clients may talk directly)");
  if (derperArgs.size > 0) {
    note(
      "derper files (every node)",
      `${DERPER_PATHS.keyFile}, ${DERPER_PATHS.certDir}, ${DERPER_PATHS.meshKeyFile}`,
      "<run>/derper/<node>/derper.key, certs, mesh.key",
      "the lab runs derper as a process in the run directory; every other flag is exactly as rendered",
    );
  }
  note(
    "DNS",
    "public DNS",
    `${headscaleMachine(plan).name} and every DERP host name resolve to lab addresses`,
    "a hosts file bound over /etc/hosts in every lab namespace",
  );
  return { spec, tailnet, files, derperArgs, meshKeys, derperCertificates, changes, probe, breaks, foreignRegions };
}

/**
 * The hosts file every lab namespace sees: headscale's host and every DERP node's DNS name, at
 * their lab IPv4 address, and at their lab IPv6 address where the model gives them one (as DNS
 * would have an AAAA record: headscale's host with publicIpv6, a node with IPv6).
 */
export function labHostsFile(tailnet: ResolvedTailnet, plan: LabPlan, probe: WrongPinProbe | undefined): string {
  const entries: [string, string][] = [];
  if (!isIp(tailnet.headscale.serverHost)) {
    const m = headscaleMachine(plan);
    entries.push([tailnet.headscale.serverHost, m.address]);
    if (hostNamed(tailnet, tailnet.headscale.host)?.publicIpv6 !== undefined) entries.push([tailnet.headscale.serverHost, m.address6]);
  }
  const planned = new Set(plan.machines.flatMap((m) => m.derpNodes));
  for (const node of allNodes(tailnet)) {
    if (node.name === probe?.nodeName || isIp(node.hostname) || !planned.has(node.name) || entries.some(([name]) => name === node.hostname)) continue;
    const m = machineOfNode(plan, node.name);
    entries.push([node.hostname, m.address]);
    if (node.ipv6 !== undefined) entries.push([node.hostname, m.address6]);
  }
  const lines = ["127.0.0.1 localhost", ...entries.map(([name, address]) => `${address} ${name}`)];
  return `# cdktf-tailnet lab: DNS names of the model, at their lab addresses\n${lines.join("\n")}\n`;
}
