import { Construct } from "constructs";
import type { PreparedTailnet } from "../model/index.js";
import { derperImageTag, publicFile, renderDerperDockerfile } from "../render/index.js";
import { buildContext, builtImage, type DockerEngine } from "./build-context.js";
import { Image } from "./providers.js";
import { checkModelTokens, terraformString } from "./terraform-text.js";

/** Props of a {@link DerperImage}. */
export interface DerperImageProps {
  readonly tailnet: PreparedTailnet;
  /** The engine the image is built on or pulled to (a DockerHost). */
  readonly host: DockerEngine;
}

/**
 * derper's image on one engine: built from the kit's Dockerfile at the pinned Tailscale release
 * (a `docker_image` build from a TerraformAsset), or pulled when the spec names an image.
 * Use `DockerHost.derperImage` to get the one per engine.
 */
export class DerperImage extends Construct {
  /** The image reference containers use. */
  readonly imageRef: string;
  readonly resource: Image;

  constructor(scope: Construct, id: string, props: DerperImageProps) {
    super(scope, id);
    const { tailnet, host } = props;
    checkModelTokens(tailnet);
    if (tailnet.derp.derperImage !== undefined) {
      this.resource = new Image(this, "Resource", { provider: host.provider, name: terraformString(tailnet.derp.derperImage), keepLocally: true });
    } else {
      const context = buildContext(this, "derper", [publicFile("Dockerfile", renderDerperDockerfile(tailnet))]);
      this.resource = builtImage(this, "Resource", host, derperImageTag(tailnet), context);
    }
    this.imageRef = this.resource.imageId;
  }
}
