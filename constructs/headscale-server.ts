import { basename, dirname } from "node:path";
import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { Container, Image, Volume } from "./providers.js";
import { backupNames, type PreparedTailnet } from "../model/index.js";
import { placeHeadscaleFiles } from "../render/index.js";
import { contentLabels, hardening, oneShotLifecycle, publishedPorts } from "./container-parts.js";
import type { DockerHost } from "./docker-host.js";
import { HeadscaleBackup } from "./headscale-backup.js";
import { SeededVolume } from "./seeded-volume.js";
import { annotateWarnings, warningsOf } from "./warnings.js";
import { checkModelTokens, terraformString } from "./terraform-text.js";

/** Props of a {@link HeadscaleServer}. */
export interface HeadscaleServerProps {
  /** The resolved tailnet (from `loadTailnet(spec)`); headscale's part of it is deployed. */
  readonly tailnet: PreparedTailnet;
  /** The engine headscale runs on: the host `headscale.host` names in the spec. */
  readonly host: DockerHost;
  /**
   * Name of the container and the prefix of its volume.
   * @default "headscale"
   */
  readonly containerName?: string;
  /**
   * Keep headscale's data volume (its keys and database: the whole tailnet's state) out of
   * Terraform's reach to delete: `prevent_destroy`, so `destroy` and any change that would
   * replace the volume stop with an error instead. Set false to allow it (a lab you tear down).
   * @default true
   */
  readonly retainData?: boolean;
}

/**
 * The headscale coordination server as a container: the official image at the model's version,
 * `serve`, a read-only root file system with a tmpfs for the socket, a named volume for keys and
 * the database, the rendered config.yaml and derp.yaml in a volume mounted read-only (a read-only
 * container cannot take uploads: see {@link SeededVolume}), `headscale health` as the health
 * check, and ports published exactly as the model decides (metrics and gRPC on 127.0.0.1).
 * The policy lives in a volume of its own: a changed policy is copied in and headscale reloads it
 * on SIGHUP, without a restart (config.yaml changes do restart it). The one-shot helpers run the
 * engine's pinned busybox image ({@link DockerHost.helperImage}).
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
  /**
   * headscale's backups (see {@link HeadscaleBackup}): scheduled, and the one-shots of an upgrade
   * or a rollback, which run before headscale starts.
   */
  readonly backup: HeadscaleBackup | undefined;
  /** config.yaml and derp.yaml, in a volume mounted read-only at headscale's config directory. */
  readonly config: SeededVolume;
  /** The policy, in a volume of its own (when the spec has a policy). */
  readonly policy: SeededVolume | undefined;
  /** The one-shot container that makes a running headscale reload a changed policy (SIGHUP). */
  readonly policyReload: Container | undefined;

  constructor(scope: Construct, id: string, props: HeadscaleServerProps) {
    super(scope, id);
    const { tailnet, host } = props;
    checkModelTokens(tailnet);
    const hs = tailnet.headscale;
    if (hs.host !== host.hostName) {
      throw new Error(`headscale runs on host ${JSON.stringify(hs.host)} in the spec, not on ${JSON.stringify(host.hostName)}; set headscale.host`);
    }
    if (!hs.containerized) {
      throw new Error(
        `host ${JSON.stringify(host.hostName)} has no docker target in the spec, so headscale's listeners were not resolved for a container; add hosts[].docker`,
      );
    }
    const name = props.containerName ?? "headscale";
    const placed = placeHeadscaleFiles(tailnet);
    const policy = placed.find((p) => p.file.path === "headscale/policy.json");
    const configDir = hs.paths.configDir;
    const policyDir = dirname(hs.policy.path);
    const inConfigDir = (path: string) => {
      if (!path.startsWith(`${configDir}/`)) throw new Error(`cdktf-tailnet: ${path} is not in headscale's config directory ${configDir}`);
      return path.slice(configDir.length + 1);
    };
    // A read-only root file system cannot take uploads: config.yaml and derp.yaml go into a volume
    // of their own, mounted read-only where headscale reads them (see SeededVolume).
    this.config = new SeededVolume(this, "Config", {
      host,
      tailnetName: tailnet.name,
      role: "headscale config",
      volumeName: `${name}-config`,
      containerName: `${name}-config-seed`,
      files: placed.filter((p) => p !== policy).map((p) => ({ path: inConfigDir(p.hostPath), content: p.file.content, mode: "0444" })),
      // The policy volume is mounted inside this one: its mount point must exist in it.
      directories: policy ? [inConfigDir(policyDir)] : [],
    });

    this.image = new Image(this, "Image", { provider: host.provider, name: terraformString(hs.image), keepLocally: true });
    this.dataVolume = new Volume(this, "Data", {
      provider: host.provider,
      name: terraformString(backupNames(name).dataVolume),
      ...(props.retainData === false ? {} : { lifecycle: { preventDestroy: true } }),
    });
    // The policy has a volume of its own, so a changed policy replaces only its seed and the reload.
    this.policy = policy
      ? new SeededVolume(this, "Policy", {
          host,
          tailnetName: tailnet.name,
          role: "headscale policy",
          volumeName: `${name}-policy`,
          containerName: `${name}-policy-seed`,
          files: [{ path: basename(policy.hostPath), content: policy.file.content, mode: "0444" }],
        })
      : undefined;
    // Before a new version starts on the database, a one-shot backs the old one up (kept for a
    // rollback); before a rollback starts the old version, a one-shot restores that backup.
    this.backup =
      hs.backup && (hs.backup.schedule || hs.backup.beforeStart.length > 0)
        ? new HeadscaleBackup(this, "Backup", { tailnet, host, containerName: name, dataVolume: this.dataVolume })
        : undefined;
    const before = [...(this.backup?.beforeStart ?? []), this.config.seed, ...(this.policy ? [this.policy.seed] : [])];
    this.container = new Container(this, "Resource", {
      dependsOn: before,
      provider: host.provider,
      name: terraformString(name),
      image: this.image.imageId,
      command: ["serve"],
      ...hardening(),
      // Capability names as Docker stores them (CAP_...), so a plan reads back what it wrote.
      capabilities: { drop: ["ALL"], add: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"] },
      tmpfs: { [terraformString(hs.paths.runDir)]: "rw,noexec,nosuid,size=16m" },
      volumes: [
        { volumeName: this.dataVolume.name, containerPath: terraformString(hs.paths.stateDir) },
        { volumeName: this.config.volumeName, containerPath: terraformString(configDir), readOnly: true },
        ...(this.policy ? [{ volumeName: this.policy.volumeName, containerPath: terraformString(policyDir), readOnly: true }] : []),
      ],
      ports: publishedPorts(hs.listeners),
      healthcheck: { test: ["CMD", "headscale", "health"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "15s" },
      // The config's content is in the labels, so a config change replaces (restarts) headscale;
      // the policy's is not: a policy change is reloaded in place.
      labels: contentLabels(tailnet.name, "headscale", [hs.image, ...this.config.inputs]),
    });
    if (this.policy) this.policyReload = this.#policyReload(tailnet, host, name, policy!.file.content, this.policy.seed);
    this.backup?.schedule(this.container);
    for (const step of hs.backup?.beforeStart ?? []) {
      Annotations.of(this).addInfo(
        step.step === "pre-upgrade"
          ? `upgrading headscale ${step.from} -> ${step.to}: headscale ${step.from}'s database and keys are backed up into volume ${backupNames(name).volume} before ${step.to} starts (kept for a rollback); remove headscale.upgradeFrom once deployed`
          : `rolling headscale back ${step.from} -> ${step.to}: the backup taken before ${step.from} was deployed is restored before ${step.to} starts; nodes and users registered since are lost; remove headscale.rollbackFrom once deployed`,
      );
    }
    annotateWarnings(this, warningsOf(tailnet.warnings, { kind: "headscale" }));
  }

  /**
   * headscale reloads only its policy on SIGHUP. This one-shot container joins headscale's
   * process namespace and signals it (PID 1 there); a new policy replaces it, so it runs again.
   */
  #policyReload(tailnet: PreparedTailnet, host: DockerHost, name: string, content: string, seed: Container): Container {
    return new Container(this, "PolicyReload", {
      provider: host.provider,
      name: terraformString(`${name}-policy-reload`),
      image: host.helperImageId(),
      // By id, not name: Docker reports pid_mode as container:<id>, so a name would differ on every
      // plan. A replaced headscale has a new id, so the reload runs again (a harmless SIGHUP).
      pidMode: `container:${this.container.id}`,
      networkMode: "none",
      entrypoint: ["/bin/sh", "-c"],
      command: ["kill -HUP 1"],
      attach: true,
      mustRun: false,
      restart: "no",
      dependsOn: [this.container, seed],
      labels: contentLabels(tailnet.name, "headscale policy reload", [content]),
      lifecycle: oneShotLifecycle("signalling headscale to reload its policy"),
    });
  }
}
