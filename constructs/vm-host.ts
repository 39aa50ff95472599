import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Annotations, DataResource, Fn, Token, type FileProvisioner, type RemoteExecProvisioner, type SSHProvisionerConnection } from "cdktf";
import { Construct } from "constructs";
import type { ResolvedHost, PreparedTailnet } from "../model/index.js";
import { REMOTE_PROLOGUE, vmNotes, vmProvisionSteps, type ProvisionStep } from "../render/index.js";
import { annotateWarnings, warningsOf } from "./warnings.js";
import { SecretStore } from "../secrets/store.js";
import { checkModelTokens, contentSha256, terraformLiteral, terraformString, terraformValue } from "./terraform-text.js";
import { hostNamed, nodesOfHost, regionOfNode } from "../model/walk.js";

/** How Terraform reaches a VM's sshd. */
export interface VmSshConnection {
  /**
   * Address of the VM: a literal or a token (a VM resource's IP).
   * @default - the host's publicIpv4, else its publicIpv6
   */
  readonly host?: string;
  /**
   * sshd's port.
   * @default - the host's firewall.sshPort (22)
   */
  readonly port?: number;
  /**
   * The user Terraform logs in as; any other user than root needs password-less sudo.
   * @default "root"
   */
  readonly user?: string;
  /**
   * The private key's file on the deploying machine. Terraform reads it with `file()` when it
   * plans; only the path is in cdk.tf.json.
   * @default - privateKey, else the SSH agent
   */
  readonly privateKeyFile?: string;
  /**
   * The private key as a token, e.g. a sensitive TerraformVariable's `stringValue`. A literal key
   * is refused: it would be written into cdk.tf.json.
   * @default - privateKeyFile, else the SSH agent
   */
  readonly privateKey?: string;
  /**
   * The VM's public host key, `<type> <base64>`; Terraform then refuses a host that shows another
   * one. Give the key of the type Terraform's SSH client negotiates: ECDSA
   * (`/etc/ssh/ssh_host_ecdsa_key.pub`) when sshd has one, as stock Debian and Ubuntu do; it
   * prefers ECDSA, then RSA, then Ed25519.
   * @default - any host key is accepted (Terraform's default)
   */
  readonly hostKey?: string;
  /**
   * How long Terraform waits for sshd to answer.
   * @default "5m"
   */
  readonly timeout?: string;
}

/** Props of a {@link VmHost}. */
export interface VmHostProps {
  /**
   * The tailnet, with its certificates issued: `prepareTailnet(spec)` (the {@link Tailnet}
   * construct does this itself).
   */
  readonly tailnet: PreparedTailnet;
  /** The host's name in the spec; it must have `vm`. */
  readonly hostName: string;
  /** How to reach its sshd. @default {} (see each field) */
  readonly connection?: VmSshConnection;
  /**
   * Root of the local secrets directory, which holds the region's mesh key.
   * @default - `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`
   */
  readonly secretsDir?: string;
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * A VM host provisioned over SSH with Terraform's built-in `terraform_data`, `connection`,
 * `file` and `remote-exec`: no provider. It installs exactly what the host's cloud-init
 * user-data would (the same files, owners and modes, and the same install script), split into
 * steps (render/vm-provision.ts) whose triggers are hashes of their inputs, so a change re-runs
 * only its step and restarts only the service that consumes it; a policy change reloads headscale
 * instead of restarting it. Binaries from `localFile` are checked against the spec's SHA-256 here
 * and again on the VM. Secrets (mesh key, certificate keys) are uploaded by path: their bytes
 * never enter cdk.tf.json.
 *
 * Children are `terraform_data` resources with stable ids: `Installer`, `Firewall`,
 * `HeadscaleBinary`, `HeadscaleConfig`, `HeadscalePolicy`, `HeadscaleUnit`, `DerperBinary`,
 * `DerperSecrets`, `DerperUnit`, `HelperFiles` (those the host needs).
 *
 * @example
 * const tailnet = prepareTailnet(spec);
 * new VmHost(stack, "relay-1", { tailnet, hostName: "relay-1", connection: { user: "admin", privateKeyFile: "~/.ssh/id_ed25519" } });
 */
export class VmHost extends Construct {
  readonly hostName: string;
  /** The steps, by id. */
  readonly steps: ReadonlyMap<string, DataResource>;

  constructor(scope: Construct, id: string, props: VmHostProps) {
    super(scope, id);
    const { tailnet } = props;
    checkModelTokens(tailnet);
    const host: ResolvedHost | undefined = hostNamed(tailnet, props.hostName);
    if (!host) throw new Error(`the tailnet has no host ${JSON.stringify(props.hostName)}; it has ${tailnet.hosts.map((h) => h.name).join(", ") || "none"}`);
    if (!host.vm) throw new Error(`host ${host.name} has no vm in the spec, so there is nothing to install over SSH; add hosts[].vm`);
    this.hostName = host.name;
    const node = nodesOfHost(tailnet, host)[0];
    if (node && node.derper.certificateSource === "self-signed" && !node.derper.certificateFiles) {
      throw new Error(
        `DERP node ${node.name} uses a kit-issued self-signed certificate that was not issued yet; prepare the model first: prepare(tailnet) or prepareTailnet(spec) from cdktf-tailnet/secrets`,
      );
    }

    const c = props.connection ?? {};
    const address = c.host ?? host.publicIpv4 ?? host.publicIpv6;
    if (address === undefined) throw new Error(`host ${host.name} has no public address in the spec; give connection.host`);
    if (c.privateKey !== undefined && c.privateKeyFile !== undefined) throw new Error("give privateKey or privateKeyFile, not both");
    if (c.privateKey !== undefined && !Token.isUnresolved(c.privateKey)) {
      throw new Error(
        "connection.privateKey is a literal and would be written into cdk.tf.json; pass a sensitive TerraformVariable's value, or privateKeyFile",
      );
    }
    const user = c.user ?? "root";
    const connection: SSHProvisionerConnection = {
      type: "ssh",
      // From the model (checked above) or from your TypeScript, where a token (a VM's address or host key) is welcome.
      host: terraformValue(address),
      port: c.port ?? host.firewall.sshPort,
      user: terraformValue(user),
      timeout: terraformValue(c.timeout ?? "5m"),
      ...(c.privateKeyFile !== undefined ? { privateKey: Fn.file(resolve(c.privateKeyFile)) } : c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
      ...(c.hostKey !== undefined ? { hostKey: terraformValue(c.hostKey) } : {}),
    };

    const meshKeyFile =
      node && node.derper.mesh.length > 0 ? new SecretStore(tailnet.name, props.secretsDir).meshKey(regionOfNode(tailnet, node).code).path : undefined;
    const steps = vmProvisionSteps(tailnet, host, { sudo: user !== "root", ...(meshKeyFile ? { meshKeyFile } : {}) });
    const resources = new Map<string, DataResource>();
    for (const step of steps) {
      resources.set(
        step.id,
        new DataResource(this, step.id, {
          triggersReplace: this.#triggers(step),
          connection,
          provisioners: this.#provisioners(step),
          dependsOn: step.after.map((a) => resources.get(a)!).filter((r) => r !== undefined),
        }),
      );
    }
    this.steps = resources;

    // What the VM still needs from its operator: the notes about files no step uploads.
    const uploaded = steps.flatMap((s) => s.uploads.flatMap((u) => [u.target, u.staged]));
    for (const note of vmNotes(tailnet, host)) {
      if (!uploaded.some((path) => note.includes(path))) Annotations.of(this).addWarning(`host ${host.name}: ${note}`);
    }
    annotateWarnings(this, warningsOf(tailnet.warnings, { kind: "host", host: host.name }));
  }

  /** Hashes of everything the step consumes: a change to any of them re-runs it (and only it). */
  #triggers(step: ProvisionStep): Record<string, string> {
    const triggers: Record<string, string> = { step: contentSha256([JSON.stringify([step.prepare, step.commands, step.inputs])], "") };
    for (const u of step.uploads) {
      if (u.content !== undefined) {
        triggers[terraformString(u.target)] = typeof u.content === "string" ? contentSha256([u.content], "") : sha256(u.content);
        continue;
      }
      const path = resolve(u.localFile!);
      if (!existsSync(path)) throw new Error(`${path} does not exist (it is uploaded to ${u.target} on host ${this.hostName})`);
      const actual = sha256(readFileSync(path));
      if (u.sha256 !== undefined && actual !== u.sha256) {
        throw new Error(`${path} has SHA-256 ${actual}, but the spec pins ${u.sha256} for host ${this.hostName}; update the pin or the file`);
      }
      triggers[terraformString(u.target)] = actual;
    }
    return triggers;
  }

  #provisioners(step: ProvisionStep): (FileProvisioner | RemoteExecProvisioner)[] {
    const out: (FileProvisioner | RemoteExecProvisioner)[] = [];
    if (step.prepare.length > 0) out.push({ type: "remote-exec", inline: [...REMOTE_PROLOGUE, ...step.prepare] });
    for (const u of step.uploads) {
      const destination = terraformString(u.staged);
      out.push(
        u.content !== undefined
          ? { type: "file", content: terraformLiteral(u.content), destination }
          : { type: "file", source: terraformString(resolve(u.localFile!)), destination },
      );
    }
    out.push({ type: "remote-exec", inline: [...REMOTE_PROLOGUE, ...step.commands].map(terraformLiteral) });
    return out;
  }
}

export { terraformLiteral } from "./terraform-text.js";
