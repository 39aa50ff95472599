import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { Container, Volume, type ContainerUpload } from "./providers.js";
import { DERPER_PATHS, type ResolvedDerpNode, type ResolvedTailnet } from "../model/index.js";
import type { SecretFile } from "../secrets/store.js";
import { contentLabels, hardening, publishedPorts } from "./container-parts.js";
import { AcmeClient } from "./dns-helpers.js";
import type { DockerHost } from "./docker-host.js";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** Props of a {@link DerpNode}. */
export interface DerpNodeProps {
  readonly tailnet: ResolvedTailnet;
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

function fileHash(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * One derper relay as a container, with exactly the flags the model derived: host name,
 * certificate mode and directory, listeners, client verification against headscale's `/verify`
 * (fail closed), and the region's mesh. Secrets (the mesh key, a certificate's private key) are
 * uploaded from their files by path and hash: their bytes never enter cdk.tf.json.
 */
export class DerpNode extends Construct {
  readonly container: Container;
  readonly dataVolume: Volume;
  /** The node's DNS-01 ACME client, when its certificate mode is dns-01. */
  readonly acme: AcmeClient | undefined;

  constructor(scope: Construct, id: string, props: DerpNodeProps) {
    super(scope, id);
    const { tailnet, node, host } = props;
    const derper = node.derper;
    if (derper.meshWith.length > 0 && !props.meshKey) {
      throw new Error(`DERP node ${node.name} meshes with ${derper.meshWith.join(", ")} and needs its region's mesh key (meshKey)`);
    }
    const uploads: ContainerUpload[] = [];
    // Files are readable by derper's non-root user inside the container (docker uploads as root);
    // on the deploying machine they stay 0600.
    if (props.meshKey) uploads.push({ file: DERPER_PATHS.meshKeyFile, source: props.meshKey.path, sourceHash: props.meshKey.sha256, permissions: "0444" });
    if (derper.certificateFiles) {
      const { certFile, keyFile } = derper.certificateFiles;
      uploads.push({ file: `${DERPER_PATHS.certDir}/${derper.certFileBase}.crt`, source: resolve(certFile), sourceHash: fileHash(certFile), permissions: "0444" });
      uploads.push({ file: `${DERPER_PATHS.certDir}/${derper.certFileBase}.key`, source: resolve(keyFile), sourceHash: fileHash(keyFile), permissions: "0444" });
    } else if (derper.acme) {
      // The ACME client below obtains the certificate and installs it under derper's names.
    } else if (derper.certMode === "manual" && !node.hostnameIsIp) {
      Annotations.of(this).addWarning(
        `DERP node ${node.name} serves TLS from certificate files (derper -certmode=manual): put ${derper.certFileBase}.crt and ${derper.certFileBase}.key into ${DERPER_PATHS.certDir} in the volume derper-${node.name}-data on ${host.hostName}, or give certificate.certFile and certificate.keyFile in the spec; derper does not start without them`,
      );
    } else if (derper.certMode === "manual") {
      Annotations.of(this).addWarning(
        `DERP node ${node.name} (${node.hostname}) has no certificate files: derper generates a self-signed certificate at first start, and clients accept it only if certName equals the sha256-raw pin derper prints (or use certificate mode "self-signed" and the kit issues and pins one)`,
      );
    }
    const image = host.derperImage(tailnet);
    this.dataVolume = new Volume(this, "Data", { provider: host.provider, name: `derper-${node.name}-data` });
    this.acme = derper.acme
      ? new AcmeClient(this, "Acme", { tailnet, node, host, derperDataVolume: this.dataVolume, secret: props.dnsSecret })
      : undefined;
    this.container = new Container(this, "Resource", {
      provider: host.provider,
      name: `derper-${node.name}`,
      image: image.imageRef,
      command: [...derper.args],
      ...hardening(),
      capabilities: { drop: ["ALL"] },
      volumes: [{ volumeName: this.dataVolume.name, containerPath: "/var/lib/derper" }],
      ports: publishedPorts(derper.listeners),
      ...(uploads.length > 0 ? { upload: uploads } : {}),
      // The ACME client ends derper after a renewal (Docker restarts it with the new certificate).
      ...(this.acme ? { pidMode: this.acme.pidMode, dependsOn: [this.acme.container] } : {}),
      labels: contentLabels(tailnet.name, `derper ${node.name}`, [
        tailnet.derp.derperImage ?? tailnet.derp.derperVersion,
        ...derper.args,
        ...uploads.map((u) => `${u.file}\n${u.sourceHash ?? ""}`),
      ]),
    });
  }
}
