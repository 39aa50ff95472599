/**
 * headscale's backups on a Docker host (render/backup.ts): an image the kit builds from the
 * rendered Dockerfile, script and settings; the backups in a volume of their own; a container
 * that takes one every interval with headscale's data volume mounted read-only; and, during an
 * upgrade or a rollback, one-shot containers that run before headscale starts (a backup of the old
 * version's state; the restore of that backup). restic's secrets are files of the Docker host,
 * bind-mounted read-only: they are in no rendered file, no Terraform variable and no state.
 */
import { Construct } from "constructs";
import { backupNames, beforeStartArgs, type ResolvedBackup, type PreparedTailnet } from "../model/index.js";
import { backupSecrets, renderBackupFiles } from "../render/index.js";
import { buildContext, builtImage } from "./build-context.js";
import { contentLabels, hardening, oneShotLifecycle } from "./container-parts.js";
import type { DockerHost } from "./docker-host.js";
import { Container, type Image, Volume } from "./providers.js";
import { checkModelTokens, terraformString } from "./terraform-text.js";

/** Props of a {@link HeadscaleBackup}. */
export interface HeadscaleBackupProps {
  readonly tailnet: PreparedTailnet;
  /** headscale's engine. */
  readonly host: DockerHost;
  /** headscale's container name (the backup resources are named after it). */
  readonly containerName: string;
  /** headscale's data volume. */
  readonly dataVolume: Volume;
}

/**
 * The backups of headscale's state on a Docker host. Create it before headscale's container (the
 * one-shots of an upgrade or a rollback must run first), then call {@link HeadscaleBackup.schedule}
 * with that container.
 */
export class HeadscaleBackup extends Construct {
  readonly image: Image;
  /** The image's tag (it names the content it was built from). */
  readonly tag: string;
  /** The backups, mounted at the backup directory. */
  readonly volume: Volume;
  /** What runs before headscale starts: a backup before an upgrade, the restore of a rollback. */
  readonly beforeStart: readonly Container[];
  /** The scheduled backups (after {@link HeadscaleBackup.schedule}; none when they are off). */
  container: Container | undefined;
  readonly #props: HeadscaleBackupProps;
  readonly #backup: ResolvedBackup;

  constructor(scope: Construct, id: string, props: HeadscaleBackupProps) {
    super(scope, id);
    const { tailnet, host } = props;
    checkModelTokens(tailnet);
    const backup = tailnet.headscale.backup;
    if (backup?.runs !== "container")
      throw new Error(`headscale's backups on host ${JSON.stringify(host.hostName)} do not run in a container (the host has no docker target)`);
    this.#props = props;
    this.#backup = backup;
    const files = renderBackupFiles(tailnet).filter((f) => f.path.startsWith(`hosts/${host.hostName}/backup/`));
    const context = buildContext(this, "headscale-backup", files);
    this.tag = terraformString(`cdktf-tailnet/headscale-backup-${host.hostName}:${context.digest.slice(0, 12)}`);
    this.image = builtImage(this, "Image", host, this.tag, context);
    const names = backupNames(props.containerName);
    this.volume = new Volume(this, "Volume", { provider: host.provider, name: terraformString(names.volume), lifecycle: { preventDestroy: true } });
    this.beforeStart = backup.beforeStart.map(
      (step) =>
        new Container(this, step.step === "pre-upgrade" ? "PreUpgrade" : "Rollback", {
          ...this.#common(step.step === "rollback"),
          name: terraformString(names.oneShot(step)),
          command: beforeStartArgs(step).map(terraformString),
          attach: true,
          logs: true,
          mustRun: false,
          restart: "no",
          labels: contentLabels(tailnet.name, `headscale backup ${step.step}`, [step.from, step.to, context.digest]),
          lifecycle: oneShotLifecycle(
            step.step === "pre-upgrade"
              ? `backing headscale ${step.from}'s state up before ${step.to} starts`
              : `restoring the backup taken before headscale ${step.from} was deployed, before ${step.to} starts`,
          ),
        }),
    );
  }

  /** What every container of the backups shares: the image, the volumes, restic's files, no capabilities. */
  #common(writesState: boolean) {
    const { tailnet, host, dataVolume } = this.#props;
    const backup = this.#backup;
    const r = backup.restic;
    const mounts = [
      ...backupSecrets(backup).map((s) => ({ type: "bind", source: terraformString(s.file), target: terraformString(s.file), readOnly: true })),
      ...(r?.kind === "local" ? [{ type: "bind", source: terraformString(r.repository), target: terraformString(r.repository) }] : []),
    ];
    return {
      provider: host.provider,
      image: this.image.imageId,
      ...hardening(),
      // Root without capabilities: headscale's files in its volume are root's, 0600.
      capabilities: { drop: ["ALL"] },
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
      networkMode: r && r.kind !== "local" ? "bridge" : "none",
      volumes: [
        { volumeName: dataVolume.name, containerPath: terraformString(tailnet.headscale.paths.stateDir), readOnly: !writesState },
        { volumeName: this.volume.name, containerPath: terraformString(backup.paths.dir) },
      ],
      // Files of the Docker host; a missing one fails the container's start (a bind mount, not a volume).
      ...(mounts.length > 0 && { mounts }),
    };
  }

  /** The container that takes a backup every interval, started after headscale's; none when scheduled backups are off. */
  schedule(headscale: Container): Container | undefined {
    const { tailnet, containerName } = this.#props;
    if (!this.#backup.schedule) return undefined;
    this.container = new Container(this, "Resource", {
      ...this.#common(false),
      name: terraformString(backupNames(containerName).container),
      dependsOn: [headscale],
      labels: contentLabels(tailnet.name, "headscale backup", [this.tag]),
    });
    return this.container;
  }
}
