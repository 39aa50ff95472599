import { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { DockerProvider, Image } from "./providers.js";
import type { ResolvedHost, PreparedTailnet } from "../model/index.js";
import { DerperImage } from "./derper-image.js";
import { checkModelTokens, terraformString, terraformValue } from "./terraform-text.js";

/**
 * The helper image of every engine: the official busybox image at a pinned release. The kit's
 * one-shot containers run it: the seeds that put files into volumes for read-only containers,
 * headscale's policy reload and its pre-upgrade backup.
 */
export const HELPER_IMAGE = "docker.io/library/busybox:1.37.0";

/** Props of a {@link DockerHost}. */
export interface DockerHostProps {
  /** The host's name in the model; names the provider alias and the TLS variables. */
  readonly name: string;
  /** Engine address: `ssh://user@host`, `tcp://host:2376` or `unix:///var/run/docker.sock`. May be a token. */
  readonly daemon: string;
  /**
   * Extra ssh options for an `ssh://` daemon.
   * @default []
   */
  readonly sshOpts?: readonly string[];
  /**
   * TLS client material for a `tcp://` daemon, as values from sensitive variables or secrets.
   * @default - for `tcp://` daemons, three sensitive variables `docker_<host>_ca_material`,
   * `docker_<host>_cert_material` and `docker_<host>_key_material` are created; none otherwise
   */
  readonly tls?: { readonly caMaterial: string; readonly certMaterial: string; readonly keyMaterial: string };
}

/**
 * A Docker engine the tailnet deploys to: one `docker` provider alias per host, so every resource
 * names the engine it lives on. TLS material never appears as a literal: it comes from sensitive
 * variables (or values you pass from your own secret store).
 *
 * @example
 * const host = new DockerHost(stack, "hk-1", { name: "hk-1", daemon: "ssh://deploy@198.51.100.11" });
 */
export class DockerHost extends Construct {
  /** Builds a DockerHost for a host of a resolved model (which must have a docker target). */
  static fromModel(scope: Construct, id: string, host: ResolvedHost): DockerHost {
    if (!host.docker) throw new Error(`host ${JSON.stringify(host.name)} has no docker target in the spec; add hosts[].docker.daemon`);
    checkModelTokens(host, `host ${host.name}`);
    return new DockerHost(scope, id, { name: host.name, daemon: host.docker.daemon, sshOpts: host.docker.sshOpts });
  }

  /** The host's name in the model. */
  readonly hostName: string;
  /** The provider every resource on this engine uses. */
  readonly provider: DockerProvider;
  readonly #derperImages = new Map<string, DerperImage>();
  #helperImage: Image | undefined;
  #helperImageId: string | undefined;

  constructor(scope: Construct, id: string, props: DockerHostProps) {
    super(scope, id);
    this.hostName = props.name;
    const tls = props.daemon.startsWith("tcp://") ? (props.tls ?? this.#tlsVariables(props.name)) : props.tls;
    this.provider = new DockerProvider(this, "Provider", {
      alias: terraformString(props.name),
      host: terraformValue(props.daemon),
      ...(props.sshOpts?.length ? { sshOpts: props.sshOpts.map(terraformString) } : {}),
      ...(tls ?? {}),
    });
  }

  #tlsVariables(host: string): { caMaterial: string; certMaterial: string; keyMaterial: string } {
    const variable = (part: string, what: string) =>
      new TerraformVariable(this, `${part}-material`, {
        type: "string",
        sensitive: true,
        description: terraformString(`${what} for the Docker engine on ${host} (PEM)`),
      }).stringValue;
    return {
      caMaterial: variable("ca", "CA certificate"),
      certMaterial: variable("cert", "client certificate"),
      keyMaterial: variable("key", "client private key"),
    };
  }

  /** The {@link HELPER_IMAGE} on this engine (one `docker_image` per engine). */
  helperImage(): Image {
    this.#helperImage ??= new Image(this, "HelperImage", { provider: this.provider, name: HELPER_IMAGE, keepLocally: true });
    return this.#helperImage;
  }

  /**
   * The helper image's id, for a container's `image`: one reference token per engine, shared by
   * every one-shot container (each attribute read makes a new token, with a stack trace: synth time).
   */
  helperImageId(): string {
    this.#helperImageId ??= this.helperImage().imageId;
    return this.#helperImageId;
  }

  /** The derper image on this engine (built once per engine, or the spec's own image). */
  derperImage(tailnet: PreparedTailnet): DerperImage {
    const key = tailnet.derp.derperImage ?? tailnet.derp.derperVersion;
    let image = this.#derperImages.get(key);
    if (!image) {
      image = new DerperImage(this, "DerperImage", { tailnet, host: this });
      this.#derperImages.set(key, image);
    }
    return image;
  }
}
