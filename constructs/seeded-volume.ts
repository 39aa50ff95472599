/**
 * Files for a container with a read-only root file system. The Docker provider uploads files by
 * copying an archive to the container's `/`, which Docker refuses for a read-only root ("container
 * rootfs is marked read-only"), so a hardened container cannot take uploads. Instead the files go
 * into a volume: a one-shot container of the engine's helper image (writable, no network, no
 * capabilities but file ownership) takes the uploads and copies them into the volume, each written
 * beside its target and renamed over it, then deletes its own copies. The consumer mounts the
 * volume (read-only where it only reads) and depends on the seed; a change to a file replaces the
 * seed alone, so it runs again.
 */
import { Construct } from "constructs";
import { contentLabels, oneShotLifecycle } from "./container-parts.js";
import type { DockerHost } from "./docker-host.js";
import { Container, Volume, type ContainerUpload } from "./providers.js";
import { shellQuote } from "../render/escape/shell.js";
import { terraformLiteral, terraformString } from "./terraform-text.js";

/** One file a {@link SeededVolume} holds. */
export interface SeedFile {
  /** Path inside the volume, e.g. `config.yaml` or `certs/derp.example.com.crt`. */
  readonly path: string;
  /** The content, for rendered files (it appears in cdk.tf.json: never a secret). */
  readonly content?: string;
  /** A local file uploaded by path and hash, for secrets (their bytes stay out of cdk.tf.json). */
  readonly source?: { readonly path: string; readonly sha256: string };
  /** Octal mode, e.g. `"0444"`. */
  readonly mode: string;
  /**
   * Owner as `uid:gid`.
   * @default "0:0"
   */
  readonly owner?: string;
}

/** Props of a {@link SeededVolume}. */
export interface SeededVolumeProps {
  readonly host: DockerHost;
  /** The tailnet's name, for the labels. */
  readonly tailnetName: string;
  /** What the files are for, for the labels (e.g. `headscale config`). */
  readonly role: string;
  /** Docker volume name. */
  readonly volumeName: string;
  /** Seed container name. */
  readonly containerName: string;
  readonly files: readonly SeedFile[];
  /**
   * Empty directories to create in the volume (mode 0755), e.g. the mount point of another volume
   * mounted inside this one, which a read-only mount cannot get at container start.
   * @default []
   */
  readonly directories?: readonly string[];
}

const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const MOUNT = "/seed";

/** A volume holding `files`, filled by a one-shot seed container. */
export class SeededVolume extends Construct {
  readonly volume: Volume;
  /** The volume's name as a reference, read once: mount it with this (each attribute read makes a new token). */
  readonly volumeName: string;
  readonly seed: Container;
  /** Inputs of the files (content, or path and hash of a source), for consumers' content labels. */
  readonly inputs: readonly string[];

  constructor(scope: Construct, id: string, props: SeededVolumeProps) {
    super(scope, id);
    const { host, files } = props;
    for (const d of props.directories ?? []) {
      if (!SAFE_PATH.test(d) || d.split("/").includes("..")) throw new Error(`cdktf-tailnet: seed directory ${JSON.stringify(d)} is not a plain relative path`);
    }
    for (const f of files) {
      if (!SAFE_PATH.test(f.path) || f.path.split("/").includes(".."))
        throw new Error(`cdktf-tailnet: seed file path ${JSON.stringify(f.path)} is not a plain relative path`);
      if ((f.content === undefined) === (f.source === undefined)) throw new Error(`cdktf-tailnet: seed file ${f.path} needs exactly one of content and source`);
      if (!/^0[0-7]{3}$/.test(f.mode)) throw new Error(`cdktf-tailnet: seed file ${f.path} has mode ${JSON.stringify(f.mode)}; write it like "0444"`);
    }
    this.volume = new Volume(this, "Volume", { provider: host.provider, name: terraformString(props.volumeName) });
    this.volumeName = this.volume.name;
    const uploads: ContainerUpload[] = files.map((f) =>
      f.source
        ? { file: terraformString(`/in/${f.path}`), source: terraformString(f.source.path), sourceHash: f.source.sha256, permissions: "0400" }
        : { file: terraformString(`/in/${f.path}`), content: terraformLiteral(f.content!), permissions: "0400" },
    );
    const script = [
      "set -e",
      ...(props.directories ?? []).flatMap((d) => [`mkdir -p ${shellQuote(`${MOUNT}/${d}`)}`, `chmod 0755 ${shellQuote(`${MOUNT}/${d}`)}`]),
      // One command a line: `set -e` ends the script at the first that fails (not so in an && list).
      ...files.flatMap((f) => {
        const target = `${MOUNT}/${f.path}`;
        const dir = target.slice(0, target.lastIndexOf("/"));
        return [
          `mkdir -p ${shellQuote(dir)}`,
          `cp ${shellQuote(`/in/${f.path}`)} ${shellQuote(`${target}.new`)}`,
          `chown ${shellQuote(f.owner ?? "0:0")} ${shellQuote(`${target}.new`)}`,
          `chmod ${shellQuote(f.mode)} ${shellQuote(`${target}.new`)}`,
          `mv ${shellQuote(`${target}.new`)} ${shellQuote(target)}`,
        ];
      }),
      "rm -rf /in",
    ].join("\n");
    this.inputs = [
      ...(props.directories ?? []).map((d) => `${d}/`),
      ...files.map((f) => `${f.path} ${f.mode} ${f.owner ?? "0:0"}\n${f.source ? `sha256:${f.source.sha256}` : f.content}`),
    ];
    this.seed = new Container(this, "Seed", {
      provider: host.provider,
      name: terraformString(props.containerName),
      image: host.helperImageId(),
      entrypoint: ["/bin/sh", "-c"],
      command: [terraformString(script)],
      networkMode: "none",
      capabilities: { drop: ["ALL"], add: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"] },
      securityOpts: ["no-new-privileges:true"],
      volumes: [{ volumeName: this.volumeName, containerPath: MOUNT }],
      upload: uploads,
      attach: true,
      mustRun: false,
      restart: "no",
      labels: contentLabels(props.tailnetName, `${props.role} seed`, this.inputs),
      lifecycle: oneShotLifecycle(`copying the ${props.role} files into the volume ${props.volumeName}`),
    });
  }
}
