import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { Container, Image, Volume } from "./providers.js";
import type { ResolvedTailnet } from "../model/index.js";
import { placeHeadscaleFiles } from "../render/index.js";
import { contentLabels, hardening, publishedPorts } from "./container-parts.js";
import { terraformLiteral } from "./terraform-text.js";
import type { DockerHost } from "./docker-host.js";

/** Props of a {@link HeadscaleServer}. */
export interface HeadscaleServerProps {
  /** The resolved tailnet (from `loadTailnet(spec)`); headscale's part of it is deployed. */
  readonly tailnet: ResolvedTailnet;
  /** The engine headscale runs on: the host `headscale.host` names in the spec. */
  readonly host: DockerHost;
  /**
   * Name of the container and the prefix of its volume.
   * @default "headscale"
   */
  readonly containerName?: string;
}

/**
 * The headscale coordination server as a container: the official image at the model's version,
 * `serve`, a read-only root file system with a tmpfs for the socket, a named volume for keys and
 * the database, the rendered config.yaml and derp.yaml uploaded, `headscale health` as the
 * health check, and ports published exactly as the model decides (metrics and gRPC on 127.0.0.1).
 * The policy lives in a volume of its own: a changed policy is copied in and headscale reloads it
 * on SIGHUP, without a restart (config.yaml changes do restart it).
 *
 * @example
 * const tailnet = loadTailnet(spec);
 * const host = DockerHost.fromModel(stack, "cloud", tailnet.hosts.find((h) => h.name === "cloud")!);
 * new HeadscaleServer(stack, "headscale", { tailnet, host });
 */
export class HeadscaleServer extends Construct {
  readonly container: Container;
  readonly image: Image;
  readonly dataVolume: Volume;
  /** The one-shot backup container of an upgrade, if one is in progress. */
  readonly backup: Container | undefined;
  /** The one-shot container that makes a running headscale reload a changed policy (SIGHUP). */
  readonly policyReload: Container | undefined;

  constructor(scope: Construct, id: string, props: HeadscaleServerProps) {
    super(scope, id);
    const { tailnet, host } = props;
    const hs = tailnet.headscale;
    if (hs.host !== host.hostName) {
      throw new Error(`headscale runs on host ${JSON.stringify(hs.host)} in the spec, not on ${JSON.stringify(host.hostName)}; set headscale.host`);
    }
    if (!hs.containerized) {
      throw new Error(`host ${JSON.stringify(host.hostName)} has no docker target in the spec, so headscale's listeners were not resolved for a container; add hosts[].docker`);
    }
    const name = props.containerName ?? "headscale";
    const placed = placeHeadscaleFiles(tailnet);
    const policy = placed.find((p) => p.file.path === "headscale/policy.json")?.file;
    const uploads = placed.filter((p) => p.file !== policy).map((p) => ({ file: p.hostPath, content: terraformLiteral(p.file.content), permissions: "0444" }));

    this.image = new Image(this, "Image", { provider: host.provider, name: hs.image, keepLocally: true });
    this.dataVolume = new Volume(this, "Data", { provider: host.provider, name: `${name}-data` });
    const policyDir = hs.policy.path.slice(0, hs.policy.path.lastIndexOf("/"));
    const policyParts = policy && this.#policyVolume(tailnet, host, name, policyDir, policy.content);
    // Before a new version starts on the database, a one-shot container copies it (with its WAL
    // files) into backups/ in the same volume, named after both versions; it is kept there.
    this.backup = hs.upgradeFrom && this.#backupBeforeUpgrade(tailnet.name, host, name, hs.upgradeFrom.version, hs.version.version, hs.paths.stateDir);
    const before = [...(this.backup ? [this.backup] : []), ...(policyParts ? [policyParts.seed] : [])];
    this.container = new Container(this, "Resource", {
      ...(before.length > 0 ? { dependsOn: before } : {}),
      provider: host.provider,
      name,
      image: this.image.imageId,
      command: ["serve"],
      ...hardening(),
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "CHOWN"] },
      tmpfs: { [hs.paths.runDir]: "rw,noexec,nosuid,size=16m" },
      volumes: [
        { volumeName: this.dataVolume.name, containerPath: hs.paths.stateDir },
        ...(policyParts ? [{ volumeName: policyParts.volume.name, containerPath: policyDir, readOnly: true }] : []),
      ],
      upload: uploads,
      ports: publishedPorts(hs.listeners),
      healthcheck: { test: ["CMD", "headscale", "health"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "15s" },
      labels: contentLabels(tailnet.name, "headscale", [hs.image, ...uploads.map((u) => `${u.file}\n${u.content}`)]),
    });
    if (policyParts) this.policyReload = this.#policyReload(tailnet, host, name, policy!.content, policyParts.seed);
    if (this.backup) {
      Annotations.of(this).addInfo(
        `upgrading headscale ${hs.upgradeFrom!.version} -> ${hs.version.version}: the database is copied to ${hs.paths.stateDir}/backups/ (volume ${name}-data) before ${hs.version.version} starts; remove headscale.upgradeFrom once deployed`,
      );
    }
    Annotations.of(this).addWarning(
      `headscale keeps its keys and SQLite database in the volume ${name}-data on ${host.hostName}; back it up (a single coordination server holds the whole tailnet's state)`,
    );
  }

  #backupBeforeUpgrade(tailnetName: string, host: DockerHost, name: string, from: string, to: string, stateDir: string): Container {
    // The -debug variant of the old release's image carries busybox (the normal image has no shell).
    const image = new Image(this, "BackupImage", { provider: host.provider, name: `docker.io/headscale/headscale:${from}-debug`, keepLocally: false });
    const target = `${stateDir}/backups/before-${to}-from-${from}`;
    return new Container(this, "Backup", {
      provider: host.provider,
      name: `${name}-backup-${from}-to-${to}`,
      image: image.imageId,
      entrypoint: ["/busybox/sh", "-c"],
      command: [`mkdir -p ${target} && for f in db.sqlite db.sqlite-wal db.sqlite-shm noise_private.key derp_server_private.key; do if [ -f ${stateDir}/$f ]; then cp -a ${stateDir}/$f ${target}/; fi; done && ls -l ${target}`],
      volumes: [{ volumeName: this.dataVolume.name, containerPath: stateDir }],
      attach: true,
      logs: true,
      mustRun: false,
      restart: "no",
      labels: contentLabels(tailnetName, "headscale backup", [from, to]),
    });
  }

  /** The -debug variant of the image carries busybox, which the one-shot helpers need. */
  #debugImage(host: DockerHost, version: string): Image {
    return (this.node.tryFindChild("DebugImage") as Image | undefined) ?? new Image(this, "DebugImage", { provider: host.provider, name: `docker.io/headscale/headscale:${version}-debug`, keepLocally: true });
  }

  /**
   * The policy's volume, and the one-shot container that copies the rendered policy into it
   * before headscale starts (and again whenever the policy changes; headscale is not replaced).
   */
  #policyVolume(tailnet: ResolvedTailnet, host: DockerHost, name: string, dir: string, content: string): { volume: Volume; seed: Container } {
    const volume = new Volume(this, "Policy", { provider: host.provider, name: `${name}-policy` });
    const seed = new Container(this, "PolicySeed", {
      provider: host.provider,
      name: `${name}-policy-seed`,
      image: this.#debugImage(host, tailnet.headscale.version.version).imageId,
      entrypoint: ["/busybox/sh", "-c"],
      command: [`cp /in/policy.json ${dir}/policy.json.new && chmod 0444 ${dir}/policy.json.new && mv ${dir}/policy.json.new ${dir}/policy.json`],
      volumes: [{ volumeName: volume.name, containerPath: dir }],
      upload: [{ file: "/in/policy.json", content: terraformLiteral(content), permissions: "0444" }],
      attach: true,
      mustRun: false,
      restart: "no",
      labels: contentLabels(tailnet.name, "headscale policy", [content]),
    });
    return { volume, seed };
  }

  /**
   * headscale reloads only its policy on SIGHUP. This one-shot container joins headscale's
   * process namespace and signals it (PID 1 there); a new policy replaces it, so it runs again.
   */
  #policyReload(tailnet: ResolvedTailnet, host: DockerHost, name: string, content: string, seed: Container): Container {
    return new Container(this, "PolicyReload", {
      provider: host.provider,
      name: `${name}-policy-reload`,
      image: this.#debugImage(host, tailnet.headscale.version.version).imageId,
      pidMode: `container:${this.container.name}`,
      entrypoint: ["/busybox/sh", "-c"],
      command: ["kill -HUP 1"],
      attach: true,
      mustRun: false,
      restart: "no",
      dependsOn: [this.container, seed],
      labels: contentLabels(tailnet.name, "headscale policy reload", [content]),
    });
  }
}
