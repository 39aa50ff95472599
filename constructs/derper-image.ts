import { mkdirSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssetType, TerraformAsset, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { Image } from "./providers.js";
import type { ResolvedTailnet } from "../model/index.js";
import { derperImageTag, renderDerperDockerfile } from "../render/index.js";
import type { DockerHost } from "./docker-host.js";

/**
 * The build context: a folder holding only the rendered Dockerfile. One asset per stack and
 * Dockerfile, shared by every engine's image; TerraformAsset copies it into cdktf.out under a
 * content hash, so the same Dockerfile always gives the same asset path.
 */
function buildContext(scope: Construct, dockerfile: string): TerraformAsset {
  const stack = TerraformStack.of(scope);
  const digest = createHash("sha256").update(dockerfile).digest("hex").slice(0, 16);
  const id = `cdktf-tailnet-derper-build-${digest}`;
  const existing = stack.node.tryFindChild(id);
  if (existing) return existing as TerraformAsset;
  const dir = join(tmpdir(), id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  return new TerraformAsset(stack, id, { path: dir, type: AssetType.DIRECTORY });
}

/** Props of a {@link DerperImage}. */
export interface DerperImageProps {
  readonly tailnet: ResolvedTailnet;
  /** The engine the image is built on or pulled to. */
  readonly host: DockerHost;
}

/**
 * derper's image on one engine: built from the kit's Dockerfile at the pinned Tailscale release
 * (a `docker_image` build from a TerraformAsset), or pulled when the spec names an image.
 * Use {@link DockerHost.derperImage} to get the one per engine.
 */
export class DerperImage extends Construct {
  /** The image reference containers use. */
  readonly imageRef: string;
  readonly resource: Image;

  constructor(scope: Construct, id: string, props: DerperImageProps) {
    super(scope, id);
    const { tailnet, host } = props;
    if (tailnet.derp.derperImage !== undefined) {
      this.resource = new Image(this, "Resource", { provider: host.provider, name: tailnet.derp.derperImage, keepLocally: true });
    } else {
      const dockerfile = renderDerperDockerfile(tailnet);
      const context = buildContext(this, dockerfile);
      const tag = derperImageTag(tailnet);
      this.resource = new Image(this, "Resource", {
        provider: host.provider,
        name: tag,
        keepLocally: true,
        buildAttribute: { context: context.path, dockerfile: "Dockerfile", tag: [tag], remove: true },
        triggers: { dockerfile_sha256: createHash("sha256").update(dockerfile).digest("hex") },
      });
    }
    this.imageRef = this.resource.imageId;
  }
}
