import { Construct } from "constructs";
import { Container, Volume } from "./providers.js";
import { DERPER_PATHS, type ResolvedDerpNode, type PreparedTailnet } from "../model/index.js";
import { DERPER_IMAGE_USER } from "../render/index.js";
import type { SecretFile } from "../secrets/store.js";
import { contentLabels, hardening, publishedPorts } from "./container-parts.js";
import { AcmeClient } from "./dns-helpers.js";
import type { DockerHost } from "./docker-host.js";
import { SeededVolume, type SeedFile } from "./seeded-volume.js";
import { annotateWarnings, warningsOf } from "./warnings.js";
import { checkModelTokens, terraformString } from "./terraform-text.js";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { derperArgs, meshPeers } from "../render/command-lines.js";

/** Props of a {@link DerpNode}. */
export interface DerpNodeProps {
  readonly tailnet: PreparedTailnet;
  /** The node, as resolved in the model. */
  readonly node: ResolvedDerpNode;
  /** The engine the node runs on. */
  readonly host: DockerHost;
  /**
   * The region's mesh key file, required when the region has more than one node.
   * @default - none (a one-node region needs no mesh)
   */
  readonly meshKey?: SecretFile;
  /**
   * For a node with a DNS-01 certificate: the DNS provider's secret (Cloudflare API token or TSIG
   * secret) as a sensitive variable's value or your secret store's.
   * @default - the sensitive variable `dns_secret_<host>_<file>` (see dnsSecretVariable)
   */
  readonly dnsSecret?: string;
}

/** derper's state directory in its image: the data volume's mount point. */
const DERPER_DATA_DIR = dirname(DERPER_PATHS.keyFile);

function fileHash(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * One derper relay as a container, with exactly the flags the model derived: host name,
 * certificate mode and directory, listeners, client verification against headscale's `/verify`
 * (fail closed), and the region's mesh. Secrets (the mesh key, a certificate's private key) are
 * uploaded from their files by path and hash (their bytes never enter cdk.tf.json) into volumes
 * the read-only container mounts ({@link SeededVolume}).
 */
export class DerpNode extends Construct {
  readonly container: Container;
  readonly dataVolume: Volume;
  /** The node's DNS-01 ACME client, when its certificate mode is dns-01. */
  readonly acme: AcmeClient | undefined;

  constructor(scope: Construct, id: string, props: DerpNodeProps) {
    super(scope, id);
    const { tailnet, node, host } = props;
    checkModelTokens(tailnet);
    const derper = node.derper;
    if (derper.mesh.length > 0 && !props.meshKey) {
      throw new Error(`DERP node ${node.name} meshes with ${meshPeers(derper).join(", ")} and needs its region's mesh key (meshKey)`);
    }
    // A read-only container cannot take uploads, so secrets and certificates are seeded into
    // volumes of their own (see SeededVolume), uploaded from their files by path and hash. With the kit's own
    // image derper's uid is known: keys are 0400 and its own; an image of yours gets them 0444.
    const ownImage = tailnet.derp.derperImage === undefined;
    const owner = ownImage ? DERPER_IMAGE_USER : "0:0";
    const keyMode = ownImage ? "0400" : "0444";
    const meshDir = dirname(DERPER_PATHS.meshKeyFile);
    const secrets = props.meshKey
      ? new SeededVolume(this, "Secrets", {
          host,
          tailnetName: tailnet.name,
          role: `derper ${node.name} secrets`,
          volumeName: `derper-${node.name}-secrets`,
          containerName: `derper-${node.name}-secrets-seed`,
          files: [
            {
              path: DERPER_PATHS.meshKeyFile.slice(meshDir.length + 1),
              source: { path: resolve(props.meshKey.path), sha256: props.meshKey.sha256 },
              mode: keyMode,
              owner,
            },
          ],
        })
      : undefined;
    const certFiles: SeedFile[] = [];
    // (With DNS-01, the ACME client below obtains the certificate and installs it under derper's names.)
    if (derper.certificateFiles) {
      const { certFile, keyFile } = derper.certificateFiles;
      certFiles.push({ path: `${derper.certFileBase}.crt`, source: { path: resolve(certFile), sha256: fileHash(certFile) }, mode: "0444", owner });
      certFiles.push({ path: `${derper.certFileBase}.key`, source: { path: resolve(keyFile), sha256: fileHash(keyFile) }, mode: keyMode, owner });
    }
    annotateWarnings(this, warningsOf(tailnet.warnings, { kind: "derp-node", node: node.name }));
    const image = host.derperImage(tailnet);
    this.dataVolume = new Volume(this, "Data", { provider: host.provider, name: terraformString(`derper-${node.name}-data`) });
    const certs =
      certFiles.length > 0
        ? new SeededVolume(this, "Certificates", {
            host,
            tailnetName: tailnet.name,
            role: `derper ${node.name} certificate`,
            volumeName: `derper-${node.name}-certificates`,
            containerName: `derper-${node.name}-certificates-seed`,
            files: certFiles,
          })
        : undefined;
    const seeds = [...(secrets ? [secrets] : []), ...(certs ? [certs] : [])];
    this.acme = derper.acme ? new AcmeClient(this, "Acme", { tailnet, node, host, derperDataVolume: this.dataVolume, secret: props.dnsSecret }) : undefined;
    const args = derperArgs(node);
    this.container = new Container(this, "Resource", {
      provider: host.provider,
      name: terraformString(`derper-${node.name}`),
      image: image.imageRef,
      command: args.map(terraformString),
      ...hardening(),
      capabilities: { drop: ["ALL"] },
      volumes: [
        { volumeName: this.dataVolume.name, containerPath: terraformString(DERPER_DATA_DIR) },
        ...(secrets ? [{ volumeName: secrets.volumeName, containerPath: terraformString(meshDir), readOnly: true }] : []),
        // Mounted inside the data volume, which derper mounts first: Docker then fills the fresh
        // data volume from the image, so derper's user owns it (a seed must not create it).
        ...(certs ? [{ volumeName: certs.volumeName, containerPath: terraformString(DERPER_PATHS.certDir), readOnly: true }] : []),
      ],
      ports: publishedPorts(derper.listeners),
      // The ACME client ends derper after a renewal (Docker restarts it with the new certificate).
      ...(this.acme ? { pidMode: this.acme.pidMode } : {}),
      ...(this.acme || seeds.length > 0 ? { dependsOn: [...(this.acme ? [this.acme.container] : []), ...seeds.map((v) => v.seed)] } : {}),
      // What derper reads is in the labels: a new key or certificate restarts (replaces) it.
      labels: contentLabels(tailnet.name, `derper ${node.name}`, [
        tailnet.derp.derperImage ?? tailnet.derp.derperVersion,
        ...args,
        ...seeds.flatMap((v) => v.inputs),
      ]),
    });
  }
}
