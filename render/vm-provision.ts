/**
 * SSH provisioning of a VM host, as steps: the same files cloud-init writes (`vmFiles`, with the
 * same owners and modes) and the same install script (templates/vm-install.sh.hbs), split so that
 * each step depends on a small set of inputs and restarts only what consumes them. The VmHost
 * construct turns each step into one Terraform `terraform_data` whose trigger is the hash of the
 * step's inputs: a change re-runs its step alone.
 *
 * | step | inputs | on the VM |
 * | --- | --- | --- |
 * | Installer | install.sh | tools, system users, configuration and state directories |
 * | Firewall | nftables.conf | checked, loaded, enabled |
 * | HeadscaleBinary, DerperBinary | pinned URL/SHA-256, or the uploaded local file | installed; the service restarted if it runs |
 * | HeadscaleConfig | config.yaml, derp.yaml | restart headscale |
 * | HeadscalePolicy | the policy file | `systemctl reload headscale` (SIGHUP: headscale re-reads only the policy) |
 * | DerperSecrets | mesh key, certificate and key (uploaded by path) | restart derper |
 * | HeadscaleBackup | the backup script, settings, units (and, during an upgrade or a rollback, headscale's unit) | the backup timer enabled |
 * | HeadscaleUnit, DerperUnit | the unit file | enabled and (re)started, checked to stay up |
 * | HelperFiles | other files (DNS helpers) | timers enabled |
 *
 * Pure: no file is read here. Files from the deploying machine (binaries, secrets) are named by
 * path and uploaded by path; their bytes never enter the plan or the Terraform JSON.
 */
import { DERPER_PATHS, VM_PATHS, type ResolvedHost, type PreparedTailnet } from "../model/index.js";
import { backupInstall } from "./backup.js";
import { vmFiles, type VmFile } from "./cloud-init.js";
import { shellQuote, shellWords } from "./escape/shell.js";
import { nodesOfHost } from "../model/walk.js";
import { meshPeers } from "./command-lines.js";

/** A file the step uploads into the VM's upload directory. */
export interface ProvisionUpload {
  /** Where the `file` provisioner puts it (under VM_PATHS.uploadDir). */
  readonly staged: string;
  /** Rendered, non-secret text. */
  readonly content?: string;
  /** A file on the deploying machine (a binary, a secret), uploaded by path. */
  readonly localFile?: string;
  /** SHA-256 of `localFile` when the model pins it (binaries); otherwise the construct hashes the file. */
  readonly sha256?: string;
  /** Where it ends up on the VM. */
  readonly target: string;
}

/** One independently re-runnable part of the installation. */
export interface ProvisionStep {
  /** Stable id, the construct id of its resource. */
  readonly id: string;
  readonly description: string;
  /** Shell lines run over SSH before the uploads (they make the upload directory). */
  readonly prepare: readonly string[];
  readonly uploads: readonly ProvisionUpload[];
  /** Shell lines run over SSH after the uploads. */
  readonly commands: readonly string[];
  /** Inputs besides the uploads that the step depends on, e.g. a pinned URL and SHA-256. */
  readonly inputs: readonly string[];
  /** Ids of steps that must have run first. */
  readonly after: readonly string[];
}

/** Options of {@link vmProvisionSteps}. */
export interface ProvisionOptions {
  /** The SSH user is not root: every command runs through `sudo -n`. */
  readonly sudo: boolean;
  /**
   * The region's mesh key on the deploying machine, for a DERP node that meshes.
   * @default - none; a meshing node's step then fails with a message
   */
  readonly meshKeyFile?: string;
}

/** The first lines of every remote script: POSIX sh that stops at the first failing command. */
export const REMOTE_PROLOGUE: readonly string[] = ["#!/bin/sh", "set -eu"];

type StepBody = Omit<ProvisionStep, "prepare">;

function stagedName(target: string): string {
  return `${VM_PATHS.uploadDir}/${target.replace(/^\//, "").replace(/\//g, "_")}`;
}

/** The provisioning steps of a VM host, in an order that satisfies `after`. */
export function vmProvisionSteps(tailnet: PreparedTailnet, host: ResolvedHost, options: ProvisionOptions): ProvisionStep[] {
  const vm = host.vm;
  if (!vm) throw new Error(`cdktf-tailnet: host ${host.name} is not a VM target (no vm in the spec)`);
  const sudo = options.sudo ? "sudo -n " : "";
  const script = (...args: string[]) => `${sudo}sh ${VM_PATHS.installScript} ${shellWords(args)}`;
  const put = (u: ProvisionUpload, owner: string, mode: string) => script("put", owner, mode, u.staged, u.target);
  const steps: StepBody[] = [];
  const files = vmFiles(tailnet, host);
  const taken = new Set<VmFile>();
  const take = (pred: (f: VmFile) => boolean): VmFile[] => {
    const found = files.filter((f) => !taken.has(f) && pred(f));
    for (const f of found) taken.add(f);
    return found;
  };
  const upload = (f: VmFile): ProvisionUpload => ({ staged: stagedName(f.path), content: f.content, target: f.path });
  const putFiles = (list: VmFile[]) => list.map((f) => put(upload(f), f.owner, f.permissions));

  const [installer] = take((f) => f.path === VM_PATHS.installScript);
  if (!installer) throw new Error("cdktf-tailnet: the VM files have no install script");
  const installerUpload = upload(installer);
  steps.push({
    id: "Installer",
    description: `install script ${VM_PATHS.installScript}; tools, system users, configuration and state directories`,
    uploads: [installerUpload],
    commands: [
      `${sudo}install -D -m ${installer.permissions} -o root -g root ${shellQuote(installerUpload.staged)} ${shellQuote(installer.path)}`,
      `${sudo}rm -f ${shellQuote(installerUpload.staged)}`,
      script("tools"),
      script("users"),
    ],
    inputs: [],
    after: [],
  });

  const firewall = take((f) => f.path === VM_PATHS.nftablesConf);
  steps.push({
    id: "Firewall",
    description: `nftables ruleset ${VM_PATHS.nftablesConf}, checked before it is loaded`,
    uploads: firewall.map(upload),
    commands: [...putFiles(firewall), script("firewall")],
    inputs: [],
    after: ["Installer"],
  });

  // headscale's backups: the script, its settings and units, and the timer enabled. During an
  // upgrade or a rollback, headscale's new unit (its ExecStartPre runs the script) is put in place
  // here too, before any step restarts headscale.
  const backup = backupInstall(tailnet, host);
  const backupFiles = take((f) => backup.files.some((b) => b.path === f.path));
  const beforeStart = host.runs.headscale && (tailnet.headscale.backup?.beforeStart.length ?? 0) > 0;
  if (backupFiles.length > 0) {
    const unit = beforeStart ? files.filter((f) => f.path === `${VM_PATHS.unitDir}/headscale.service`) : [];
    steps.push({
      id: "HeadscaleBackup",
      description: `headscale's backups: the script, its settings${backup.timers.length > 0 ? ", the timer" : ""}${beforeStart ? ", and headscale's unit that runs it before headscale starts" : ""}`,
      uploads: [...backupFiles, ...unit].map(upload),
      commands: [
        ...putFiles([...backupFiles, ...unit]),
        `${sudo}systemctl daemon-reload`,
        ...backup.timers.map((t) => `${sudo}systemctl enable --now ${shellQuote(t)}`),
      ],
      inputs: [],
      after: ["Installer"],
    });
  }
  const serviceSteps: StepBody[] = [];
  for (const service of vm.services) {
    const Name = service.program === "headscale" ? "Headscale" : "Derper";
    const unit = service.unit;
    const own: string[] = [];
    const add = (step: StepBody) => {
      serviceSteps.push(step);
      own.push(step.id);
    };
    const install = vm.installs.find((i) => i.program === service.program)!;
    const local =
      "localFile" in install && install.localFile !== undefined ? { localFile: install.localFile, staged: install.staged!, sha256: install.sha256 } : undefined;
    const pins =
      install.program === "headscale"
        ? [install.kind, install.version, install.url ?? "", install.sha256]
        : install.source === "build"
          ? [install.source, install.tailscaleVersion, install.goVersion, install.goUrl, install.goSha256]
          : install.source === "url"
            ? [install.source, install.url, install.sha256]
            : [install.source, install.sha256];
    add({
      id: `${Name}Binary`,
      description: local
        ? `${service.program} from ${local.localFile}, checked against its SHA-256 on the VM`
        : `${service.program}, pinned and checked against its SHA-256`,
      uploads: local ? [{ staged: local.staged, localFile: local.localFile, sha256: local.sha256, target: install.binaryPath }] : [],
      commands: [script("binary", service.program), script("refresh", unit)],
      inputs: pins,
      after: ["Installer", ...(service.program === "headscale" && beforeStart ? ["HeadscaleBackup"] : [])],
    });
    if (service.program === "headscale") {
      const hs = tailnet.headscale;
      const policy = take((f) => f.path === hs.policy.path && f.path.startsWith(`${service.configDirectory}/`) && hs.policy.mode === "file");
      const config = take((f) => f.path.startsWith(`${service.configDirectory}/`) || hs.derpMapPaths.includes(f.path));
      add({
        id: "HeadscaleConfig",
        description: "headscale's config.yaml and DERP map; restarts headscale",
        uploads: config.map(upload),
        commands: [...putFiles(config), script("refresh", unit)],
        inputs: [],
        after: ["Installer", ...(beforeStart ? ["HeadscaleBackup"] : [])],
      });
      if (policy.length > 0) {
        add({
          id: "HeadscalePolicy",
          description: "headscale's policy; reloads headscale (SIGHUP re-reads only the policy)",
          uploads: policy.map(upload),
          commands: [...putFiles(policy), script("reload", unit)],
          inputs: [],
          after: ["Installer"],
        });
      }
    } else {
      const node = nodesOfHost(tailnet, host)[0]!;
      const secrets: { upload: ProvisionUpload; owner: string; mode: string }[] = [];
      if (node.derper.mesh.length > 0) {
        if (!options.meshKeyFile)
          throw new Error(
            `cdktf-tailnet: DERP node ${node.name} meshes with ${meshPeers(node.derper).join(", ")}; give its region's mesh key file (meshKeyFile)`,
          );
        secrets.push({
          upload: { staged: stagedName(DERPER_PATHS.meshKeyFile), localFile: options.meshKeyFile, target: DERPER_PATHS.meshKeyFile },
          owner: `root:${service.user}`,
          mode: "0640",
        });
      }
      const files = node.derper.certificateFiles;
      if (files) {
        const base = `${DERPER_PATHS.certDir}/${node.derper.certFileBase}`;
        secrets.push({
          upload: { staged: stagedName(`${base}.crt`), localFile: files.certFile, target: `${base}.crt` },
          owner: `${service.user}:${service.user}`,
          mode: "0644",
        });
        secrets.push({
          upload: { staged: stagedName(`${base}.key`), localFile: files.keyFile, target: `${base}.key` },
          owner: `${service.user}:${service.user}`,
          mode: "0600",
        });
      }
      if (secrets.length > 0) {
        add({
          id: "DerperSecrets",
          description: "derper's mesh key and certificate files, uploaded by path; restarts derper",
          uploads: secrets.map((s) => s.upload),
          commands: [...secrets.map((s) => put(s.upload, s.owner, s.mode)), script("refresh", unit)],
          inputs: [],
          after: ["Installer"],
        });
      }
    }
    const unitFiles = take((f) => f.path === `${VM_PATHS.unitDir}/${unit}`);
    add({
      id: `${Name}Unit`,
      description: `${unit}: enabled, (re)started and checked to stay up`,
      uploads: unitFiles.map(upload),
      commands: [...putFiles(unitFiles), script("start", unit)],
      inputs: [],
      after: ["Installer", "Firewall", ...own, ...(service.program === "headscale" && backupFiles.length > 0 ? ["HeadscaleBackup"] : [])],
    });
  }
  steps.push(...serviceSteps);

  const rest = take(() => true);
  if (rest.length > 0) {
    steps.push({
      id: "HelperFiles",
      description: "the helpers' scripts, settings and timers (DNS helpers, headscale's backups)",
      uploads: rest.map(upload),
      commands: [...putFiles(rest), script("timers")],
      inputs: [],
      after: ["Installer"],
    });
  }
  // The upload directory belongs to the SSH user (the file provisioner writes as that user).
  const prepare = [`${sudo}install -d -m 0700 -o "$(id -u)" -g "$(id -g)" ${VM_PATHS.uploadDir}`];
  return steps.map((s) => ({ ...s, prepare: s.uploads.length > 0 ? prepare : [] }));
}
