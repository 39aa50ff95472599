import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { Container, Image, Volume } from "./providers.js";
import type { ResolvedTailnet } from "../model/index.js";
import { renderHeadscaleFiles } from "../render/index.js";
import { contentLabels, hardening, publishedPorts } from "./container-parts.js";
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
    const files = renderHeadscaleFiles(tailnet);
    const uploads = files.map((f) => ({ file: `${hs.paths.configDir}/${f.path.slice("headscale/".length)}`, content: f.content, permissions: "0444" }));

    this.image = new Image(this, "Image", { provider: host.provider, name: hs.image, keepLocally: true });
    this.dataVolume = new Volume(this, "Data", { provider: host.provider, name: `${name}-data` });
    // Before a new version starts on the database, a one-shot container copies it (with its WAL
    // files) into backups/ in the same volume, named after both versions; it is kept there.
    this.backup = hs.upgradeFrom && this.#backupBeforeUpgrade(tailnet.name, host, name, hs.upgradeFrom.version, hs.version.version, hs.paths.stateDir);
    this.container = new Container(this, "Resource", {
      ...(this.backup ? { dependsOn: [this.backup] } : {}),
      provider: host.provider,
      name,
      image: this.image.imageId,
      command: ["serve"],
      ...hardening(),
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "CHOWN"] },
      tmpfs: { [hs.paths.runDir]: "rw,noexec,nosuid,size=16m" },
      volumes: [{ volumeName: this.dataVolume.name, containerPath: hs.paths.stateDir }],
      upload: uploads,
      ports: publishedPorts(hs.listeners),
      healthcheck: { test: ["CMD", "headscale", "health"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "15s" },
      labels: contentLabels(tailnet.name, "headscale", [hs.image, ...uploads.map((u) => `${u.file}\n${u.content}`)]),
    });
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
}
