/**
 * Images the kit builds on a Docker engine from rendered files (derper, the DNS helpers): the
 * files go into a folder that becomes a TerraformAsset, one per stack and content (shared by
 * every engine that builds the same image), and a `docker_image` builds it, rebuilt only when the
 * content changes. The folder is in the app's output directory (`<outdir>/build-contexts/`),
 * named by its content, never in the temp dir: synth leaves nothing outside its outdir.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { App, AssetType, TerraformAsset, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { RenderedFile } from "../render/index.js";
import { joinInside } from "../render/escape/path.js";
import { Image, type DockerProvider } from "./providers.js";
import { terraformString } from "./terraform-text.js";

/** What building on an engine needs of it: its provider (a DockerHost is one). */
export interface DockerEngine {
  readonly provider: DockerProvider;
}

/** A build context: the asset, and the SHA-256 of everything in it. */
export interface BuildContext {
  readonly asset: TerraformAsset;
  readonly digest: string;
}

/** The build context holding `files` (by base name; one must be `Dockerfile`). */
export function buildContext(scope: Construct, kind: string, files: readonly RenderedFile[]): BuildContext {
  const names = files.map((f) => f.path.split("/").pop()!);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`cdktf-tailnet: two files of the ${kind} image's build context are named ${JSON.stringify(twice)}`);
  const stack = TerraformStack.of(scope);
  const hash = createHash("sha256");
  for (const f of files) hash.update(f.path).update("\0").update(f.content).update("\0").update(String(f.mode)).update("\0");
  const digest = hash.digest("hex");
  const id = `cdktf-tailnet-${kind}-build-${digest.slice(0, 16)}`;
  const existing = stack.node.tryFindChild(id);
  if (existing) return { asset: existing as TerraformAsset, digest };
  const dir = resolve(App.of(scope).outdir, "build-contexts", id);
  mkdirSync(dir, { recursive: true });
  files.forEach((f, i) => {
    writeFileSync(joinInside(dir, names[i]!), f.content, { mode: f.mode });
  });
  return { asset: new TerraformAsset(stack, id, { path: dir, type: AssetType.DIRECTORY }), digest };
}

/** A `docker_image` built on `host` from `context`, tagged `tag`. */
export function builtImage(scope: Construct, id: string, host: DockerEngine, tag: string, context: BuildContext): Image {
  return new Image(scope, id, {
    provider: host.provider,
    name: terraformString(tag),
    keepLocally: true,
    buildAttribute: { context: context.asset.path, dockerfile: "Dockerfile", tag: [terraformString(tag)], remove: true },
    triggers: { content_sha256: context.digest },
  });
}
