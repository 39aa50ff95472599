/**
 * The home-lab example as a cdktf stack: the whole tailnet from one spec, deployed to Docker
 * hosts, with Cloudflare DNS records. The spec is validated first: a spec with problems throws a
 * TailnetSpecError listing every one of them before anything is synthesized.
 */
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { Tailnet } from "../../constructs/index.js";

export interface TailnetStackProps {
  /** The tailnet spec (a parsed tailnet.yaml or a TailnetSpec object). */
  readonly spec: unknown;
}

export class TailnetStack extends TerraformStack {
  readonly tailnet: Tailnet;

  constructor(scope: Construct, id: string, props: TailnetStackProps) {
    super(scope, id);
    this.tailnet = new Tailnet(this, "tailnet", { spec: props.spec });
    const model = this.tailnet.model;
    new TerraformOutput(this, "headscale_url", { value: model.headscale.serverUrl });
    new TerraformOutput(this, "derp_regions", { value: model.derp.regions.map((r) => `${r.id} ${r.code}: ${r.nodes.map((n) => n.hostname).join(", ")}`) });
  }
}
