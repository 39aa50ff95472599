import { Construct } from "constructs";
import type { ResolvedDerpRegion, PreparedTailnet } from "../model/index.js";
import { SecretStore } from "../secrets/store.js";
import { DerpNode } from "./derp-node.js";
import type { DockerHost } from "./docker-host.js";
import { checkModelTokens } from "./terraform-text.js";

/** Props of a {@link DerpRegion}. */
export interface DerpRegionProps {
  readonly tailnet: PreparedTailnet;
  /** The region's id in the model (900-999). */
  readonly regionId: number;
  /**
   * Engines by host name: every node whose host is listed is deployed there (sugar for
   * {@link DerpRegion.addNode}).
   * @default {} (add nodes with addNode)
   */
  readonly hosts?: Readonly<Record<string, DockerHost>>;
  /**
   * Root of the local secrets directory holding the region's mesh key.
   * @default - `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`
   */
  readonly secretsDir?: string;
}

/**
 * A DERP region: its nodes as derper containers, meshed with one key per region when the region
 * has more than one node. The key is generated once into the local secrets directory (0600) and
 * reused on every synth; Terraform only sees its path and hash.
 *
 * @example
 * const region = new DerpRegion(stack, "hkg", { tailnet, regionId: 901 });
 * region.addNode("hkg-1", hk1);
 * region.addNode("hkg-2", hk2);
 */
export class DerpRegion extends Construct {
  readonly region: ResolvedDerpRegion;
  readonly #tailnet: PreparedTailnet;
  readonly #store: SecretStore;
  readonly #nodes = new Map<string, DerpNode>();

  constructor(scope: Construct, id: string, props: DerpRegionProps) {
    super(scope, id);
    checkModelTokens(props.tailnet);
    const region = props.tailnet.derp.regions.find((r) => r.id === props.regionId);
    if (!region) {
      throw new Error(`the tailnet has no DERP region ${props.regionId}; it has ${props.tailnet.derp.regions.map((r) => r.id).join(", ") || "none"}`);
    }
    this.region = region;
    this.#tailnet = props.tailnet;
    this.#store = new SecretStore(props.tailnet.name, props.secretsDir);
    for (const node of region.nodes) {
      const host = node.host === undefined ? undefined : props.hosts?.[node.host];
      if (host) this.addNode(node.name, host);
    }
  }

  /** Deploys the region's node `name` (as the model describes it) to `host`. */
  addNode(name: string, host: DockerHost): DerpNode {
    const node = this.region.nodes.find((n) => n.name === name);
    if (!node)
      throw new Error(`DERP region ${this.region.code} has no node ${JSON.stringify(name)}; it has ${this.region.nodes.map((n) => n.name).join(", ")}`);
    if (this.#nodes.has(name)) throw new Error(`DERP node ${name} is already deployed in region ${this.region.code}`);
    if (node.host !== undefined && node.host !== host.hostName) {
      throw new Error(`DERP node ${name} runs on host ${JSON.stringify(node.host)} in the spec, not on ${JSON.stringify(host.hostName)}`);
    }
    const meshKey = node.derper.mesh.length > 0 ? this.#store.meshKey(this.region.code) : undefined;
    const deployed = new DerpNode(this, name, { tailnet: this.#tailnet, node, host, meshKey });
    this.#nodes.set(name, deployed);
    return deployed;
  }

  /** The nodes deployed so far, by name. */
  get nodes(): ReadonlyMap<string, DerpNode> {
    return this.#nodes;
  }
}
