/**
 * The DNS helpers of a Docker host, as containers built from the rendered files: the dynamic-DNS
 * updater ({@link DynamicDns}, render/ddns.ts) and a DERP node's DNS-01 ACME client
 * ({@link AcmeClient}, render/acme.ts). Their secret (the Cloudflare API token or the TSIG secret)
 * comes from a sensitive Terraform variable, or a value of your own secret store, and is uploaded
 * into the container as the file the settings name: the synthesized JSON holds only a reference.
 */
import { TerraformStack, TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { Container, type Image, Volume } from "./providers.js";
import type { ResolvedDerpNode, ResolvedDnsProvider, ResolvedHost, PreparedTailnet } from "../model/index.js";
import { DERPER_IMAGE_USER, hostDir, providerSecret, renderAcmeFiles, renderDdnsFiles } from "../render/index.js";
import { buildContext, builtImage } from "./build-context.js";
import { contentLabels, hardening } from "./container-parts.js";
import type { DockerHost } from "./docker-host.js";
import { checkModelTokens, terraformString } from "./terraform-text.js";
import { hostNamed } from "../model/walk.js";

/** derper's user in the kit's image (distroless nonroot); the ACME client runs as it too. */

/**
 * The sensitive variable holding a host's DNS secret, one per host and secret file, shared by the
 * updater and the ACME clients there: `dns_secret_<host>_<file name>`, e.g.
 * `dns_secret_home_cloudflare_token` (set it with TF_VAR_dns_secret_home_cloudflare_token).
 */
export function dnsSecretVariable(scope: Construct, hostName: string, provider: ResolvedDnsProvider): TerraformVariable {
  const stack = TerraformStack.of(scope);
  const secret = providerSecret(provider);
  const name = `dns_secret_${hostName}_${secret.file.split("/").pop()!}`.replace(/[^A-Za-z0-9_]/g, "_");
  const existing = stack.node.tryFindChild(name);
  if (existing) return existing as TerraformVariable;
  const variable = new TerraformVariable(stack, name, {
    type: "string",
    sensitive: true,
    description: terraformString(
      provider.type === "cloudflare"
        ? `Cloudflare API token for the DNS helpers on ${hostName} (Zone DNS Edit and Zone Read on the one zone)`
        : `TSIG secret (base64) of key ${provider.tsigKeyName} for the DNS helpers on ${hostName}`,
    ),
  });
  variable.overrideLogicalId(name);
  return variable;
}

function modelHost(tailnet: PreparedTailnet, name: string): ResolvedHost {
  checkModelTokens(tailnet);
  const host = hostNamed(tailnet, name);
  if (!host) throw new Error(`the tailnet has no host ${JSON.stringify(name)}`);
  return host;
}

/** Props of a {@link DynamicDns}. */
export interface DynamicDnsProps {
  readonly tailnet: PreparedTailnet;
  /** The engine of the host whose records the updater keeps current (it must have `ddns` in the spec). */
  readonly host: DockerHost;
  /**
   * The Cloudflare API token or TSIG secret: a sensitive variable's value or your secret store's.
   * @default - the sensitive variable {@link dnsSecretVariable} creates
   */
  readonly secret?: string;
}

/**
 * The dynamic-DNS updater of a Docker host: a small Debian container running the rendered
 * ddns-update.sh every interval, its state (the last address published) in a volume, its secret
 * uploaded from a sensitive variable. Terraform creates the host's records once and leaves their
 * content to it ({@link DnsRecords}).
 */
export class DynamicDns extends Construct {
  readonly image: Image;
  readonly container: Container;
  readonly stateVolume: Volume;

  constructor(scope: Construct, id: string, props: DynamicDnsProps) {
    super(scope, id);
    const { tailnet, host } = props;
    const model = modelHost(tailnet, host.hostName);
    const ddns = model.ddns;
    if (!ddns) throw new Error(`host ${model.name} has no ddns in the spec`);
    const files = renderDdnsFiles(tailnet).filter((f) => f.path.startsWith(`${hostDir(model.name)}/ddns/`));
    const context = buildContext(this, "ddns", files);
    const digest = context.digest;
    this.image = builtImage(this, "Image", host, `cdktf-tailnet/ddns-${model.name}:${digest.slice(0, 12)}`, context);
    this.stateVolume = new Volume(this, "State", { provider: host.provider, name: terraformString(`cdktf-tailnet-ddns-${model.name}`) });
    const secret = props.secret ?? dnsSecretVariable(this, model.name, ddns.provider).stringValue;
    const secretFile = providerSecret(ddns.provider).file;
    this.container = new Container(this, "Resource", {
      provider: host.provider,
      name: terraformString(`cdktf-tailnet-ddns-${model.name}`),
      image: this.image.imageId,
      // Writable root: Docker refuses uploads (the secret) into a read-only one. It runs as an
      // unprivileged user with no capabilities and no privilege gain all the same.
      ...hardening(),
      readOnly: false,
      capabilities: { drop: ["ALL"] },
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
      volumes: [{ volumeName: this.stateVolume.name, containerPath: terraformString(ddns.paths.stateDir) }],
      // Readable by the container's unprivileged user; the file exists only inside the container.
      upload: [{ file: terraformString(secretFile), content: secret, permissions: "0444" }],
      labels: contentLabels(tailnet.name, `ddns ${model.name}`, [digest]),
    });
  }
}

/** Props of an {@link AcmeClient}. */
export interface AcmeClientProps {
  readonly tailnet: PreparedTailnet;
  /** The DERP node (certificate mode dns-01), as resolved in the model. */
  readonly node: ResolvedDerpNode;
  /** The engine it runs on. */
  readonly host: DockerHost;
  /** derper's data volume (`/var/lib/derper`), where the certificate goes. */
  readonly derperDataVolume: Volume;
  /**
   * The Cloudflare API token or TSIG secret: a sensitive variable's value or your secret store's.
   * @default - the sensitive variable {@link dnsSecretVariable} creates
   */
  readonly secret?: string;
}

/**
 * A DERP node's DNS-01 ACME client on a Docker host: lego in a small Debian container, running
 * the rendered acme-renew.sh daily as derper's user. It writes into derper's data volume (the
 * certificate under derper's names, the key 0600). derper's container joins this container's
 * process namespace ({@link AcmeClient.pidMode}), so the hook can end derper after a renewal;
 * Docker's restart policy starts derper again, which then loads the new certificate. The client
 * does not depend on derper running, which it cannot before the first certificate. lego's account
 * and certificates live in a volume of their own.
 */
export class AcmeClient extends Construct {
  readonly image: Image;
  readonly container: Container;
  readonly stateVolume: Volume;

  constructor(scope: Construct, id: string, props: AcmeClientProps) {
    super(scope, id);
    const { tailnet, node, host } = props;
    const acme = node.derper.acme;
    if (!acme) throw new Error(`DERP node ${node.name} has no DNS-01 certificate in the spec`);
    const model = modelHost(tailnet, host.hostName);
    const files = renderAcmeFiles(tailnet).filter((f) => f.path.startsWith(`${hostDir(model.name)}/acme/`));
    const context = buildContext(this, "acme", files);
    const digest = context.digest;
    this.image = builtImage(this, "Image", host, `cdktf-tailnet/acme-${model.name}:${digest.slice(0, 12)}`, context);
    this.stateVolume = new Volume(this, "State", { provider: host.provider, name: terraformString(`cdktf-tailnet-acme-${node.name}`) });
    const secret = props.secret ?? dnsSecretVariable(this, model.name, acme.provider).stringValue;
    this.container = new Container(this, "Resource", {
      provider: host.provider,
      name: terraformString(`cdktf-tailnet-acme-${node.name}`),
      image: this.image.imageId,
      command: [terraformString(acme.paths.config)],
      user: DERPER_IMAGE_USER,
      // Writable root: Docker refuses uploads (the secret) into a read-only one. It runs as an
      // unprivileged user with no capabilities and no privilege gain all the same.
      ...hardening(),
      readOnly: false,
      capabilities: { drop: ["ALL"] },
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
      volumes: [
        { volumeName: props.derperDataVolume.name, containerPath: "/var/lib/derper" },
        { volumeName: this.stateVolume.name, containerPath: terraformString(acme.paths.stateDir) },
      ],
      upload: [{ file: terraformString(providerSecret(acme.provider).file), content: secret, permissions: "0444" }],
      labels: contentLabels(tailnet.name, `acme ${node.name}`, [digest]),
    });
    // By id, not name: Docker reports pid_mode as container:<id>, so a name would differ on every plan.
    this.pidMode = `container:${this.container.id}`;
  }

  /** What derper's container sets as `pid_mode` to share this container's process namespace. */
  readonly pidMode: string;
}
