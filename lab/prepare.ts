/**
 * The second step of a lab run, in its run directory and nowhere else: the run's certificates
 * (a lab CA, a certificate for headscale and each DERP node that needs one), the one step that
 * changes the tailnet for the lab (`applyLabChanges`, lab-changes.ts: from the spec and the model
 * the setup validated and resolved), and every file where the programs read it: the rendered
 * files, derper's certificates and mesh keys, the hosts file every namespace sees.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { allNodes } from "../model/index.js";
import { placeHeadscaleFiles } from "../render/index.js";
import { certificatePin, issueSelfSigned } from "../secrets/index.js";
import { TAILSCALED_CHANGES } from "./bring-up.js";
import { createLabCa, issueLabCertificate, writeLabCertificate } from "./certs.js";
import { applyLabChanges, labHostsFile, labServerHost, type LabChange, type LabChangeInputs, type LabTailnet } from "./lab-changes.js";
import { labOidcIssuer, labOidcUsers, mockOidcEnv, oidcRunFiles, type LabOidcRun } from "./oidc.js";
import { machineNamed, machineOfNode } from "./plan.js";
import { LabSetupError, type LabRun } from "./setup.js";

/** A function that makes (if need be) and returns a folder of the run directory. */
export type RunDirs = (...parts: string[]) => string;

/** The folders of a run directory, each made when first asked for. */
export function runDirs(runDir: string): RunDirs {
  return (...parts) => {
    const p = join(runDir, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  };
}

/** The tailnet as the lab runs it, and what made it. */
export interface PreparedLab {
  readonly lab: LabTailnet;
  /** What the lab change step was given (the upgrade drill's variants are made from the same). */
  readonly inputs: LabChangeInputs;
  /** The lab's OpenID Connect provider, when the model has `oidc`. */
  readonly oidcRun: LabOidcRun | undefined;
}

/** A self-signed certificate for an IP address, issued the way the kit issues its own, and its pin. */
function writeSelfSigned(dir: string, base: string, address: string): { certFile: string; keyFile: string; pin: string } {
  const issued = issueSelfSigned(address, 30);
  return { ...writeLabCertificate(dir, base, issued), pin: certificatePin(issued.der) };
}

/**
 * Certificates, the one lab change and the files, for the setup's spec and model; every change
 * the lab makes goes into `changes` as soon as it is known (the report lists them even when a
 * later step fails).
 */
export async function prepareLab(run: LabRun, changes: LabChange[]): Promise<PreparedLab> {
  const { setup, runDir, progress } = run;
  const { spec, model, plan, breaks } = setup;
  const dir = runDirs(runDir);
  const caDir = dir("ca");

  // certificates
  const ca = await createLabCa(caDir, run.runId);
  const serverUrl = new URL(model.headscale.serverUrl);
  const headscaleCertificate =
    serverUrl.protocol === "https:" ? await issueLabCertificate(ca, caDir, "headscale", [labServerHost(model.headscale.serverUrl, plan)]) : undefined;
  const dnsNodeCertificates = new Map<string, { certFile: string; keyFile: string }>();
  const ipNodeCertificates = new Map<string, { certFile: string; keyFile: string; pin: string }>();
  const derperPaths = (node: string) => ({
    keyFile: join(runDir, "derper", node, "derper.key"),
    certDir: join(runDir, "derper", node, "certs"),
    meshKeyFile: join(runDir, "derper", node, "mesh.key"),
  });
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
  if (spec.headscale.policy?.path) {
    if (!existsSync(spec.headscale.policy.path)) throw new LabSetupError(`the spec's policy file ${spec.headscale.policy.path} does not exist on this machine`);
    policyPath = join(headscalePaths.configDir, "policy.hujson");
    copyFileSync(spec.headscale.policy.path, policyPath);
  }
  let oidcRun: LabOidcRun | undefined;
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

  // the one lab step
  const inputs: LabChangeInputs = {
    plan,
    model,
    headscaleVersion: setup.headscaleVersionOption,
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
  const lab = applyLabChanges(spec, inputs);
  changes.push(...lab.changes, ...TAILSCALED_CHANGES);
  progress(`lab changes (the only differences from what the spec renders):`);
  for (const c of changes) progress(`  ${c.subject}: ${c.from} -> ${c.to}  (${c.why})`);

  // files
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
  writeFileSync(run.rt.etc.hosts, labHostsFile(lab.tailnet, plan, lab.probe));
  writeFileSync(
    run.rt.etc.resolvConf,
    "# cdktf-tailnet lab: no DNS server; names come from the hosts file\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
  );
  writeFileSync(run.rt.etc.nsswitchConf, "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n");
  return { lab, inputs, oidcRun };
}
