/**
 * The home-lab example as a cdktf stack. Validation runs first: a spec with problems throws a
 * TailnetSpecError listing every one of them before anything is synthesized.
 */
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { loadTailnet } from "../../model/index.js";

export interface TailnetStackProps {
  /** The tailnet spec (a parsed tailnet.yaml or a TailnetSpec object). */
  readonly spec: unknown;
}

export class TailnetStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: TailnetStackProps) {
    super(scope, id);
    const tailnet = loadTailnet(props.spec);
    new TerraformOutput(this, "headscale_version", { value: tailnet.headscale.version.version });
    new TerraformOutput(this, "derp_regions", { value: tailnet.derp.regions.map((r) => r.code) });
  }
}
