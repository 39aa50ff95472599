/**
 * Where headscale's backups are, and how headscale is stopped, started and checked there: the
 * same three ways `bootstrap` reaches headscale (cli/headscale-cli.ts), for the backup script the
 * kit installed next to it (render/backup.ts).
 *
 * - `local:<headscale binary>[,<config.yaml>]`: this machine runs the kit's units (run as root);
 *   the script at its installed path, `systemctl stop|start headscale.service`, `headscale health`.
 * - `ssh:<user@host>`: the same on a VM, over ssh with sudo.
 * - `docker:<container>[@ssh://user@host]`: a one-off container of the backup image with headscale's
 *   data volume (read-write) and the backups volume, restic's files of the Docker host bind-mounted
 *   read-only; `docker stop|start <container>`; `docker exec <container> headscale health`.
 */
import { execa } from "execa";
import { backupNames, type ResolvedTailnet } from "../model/index.js";
import { backupSecrets, shellQuote } from "../render/index.js";

/** A command's outcome. */
export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The host that keeps headscale's backups, as the restore and doctor use it. */
export interface BackupHost {
  /** Where, in words (`ssh root@vm`, `docker container headscale`). */
  readonly description: string;
  /** Runs the backup script with `args` (a command and its arguments); never rejects for a non-zero exit. */
  script(args: readonly string[]): Promise<ScriptResult>;
  stopHeadscale(): Promise<void>;
  startHeadscale(): Promise<void>;
  /** headscale answers its health check. */
  healthy(): Promise<boolean>;
}

async function run(file: string, args: readonly string[]): Promise<ScriptResult> {
  const r = await execa(file, [...args], { reject: false, env: { NO_COLOR: "1" } });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function must(what: string, file: string, args: readonly string[]): Promise<void> {
  const r = await run(file, args);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ")}`);
}

/** The backups of `tailnet`'s headscale, reached as `--via` says. */
export function backupHostFor(via: string, tailnet: ResolvedTailnet): BackupHost {
  const backup = tailnet.headscale.backup;
  if (!backup) throw new Error(`headscale runs on no host in the spec (headscale.host), so it has no backups the kit made`);
  const { script, config } = backup.paths;
  const colon = via.indexOf(":");
  const [kind, rest] = [via.slice(0, colon), via.slice(colon + 1)];
  switch (kind) {
    case "local": {
      const [binary, cfg] = rest.split(",");
      return {
        description: "this machine",
        script: (args) => run("sh", [script, config, ...args]),
        stopHeadscale: () => must("systemctl stop headscale.service", "systemctl", ["stop", "headscale.service"]),
        startHeadscale: () => must("systemctl start headscale.service", "systemctl", ["start", "headscale.service"]),
        healthy: async () => (await run(binary || "headscale", [...(cfg ? ["-c", cfg] : []), "health"])).code === 0,
      };
    }
    case "ssh": {
      const ssh = (...words: string[]) => run("ssh", ["-o", "BatchMode=yes", rest, "--", ...words.map(shellQuote)]);
      const sshMust = async (what: string, ...words: string[]) => {
        const r = await ssh(...words);
        if (r.code !== 0) throw new Error(`${what} on ${rest} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ")}`);
      };
      return {
        description: `ssh ${rest}`,
        script: (args) => ssh("sudo", "-n", "sh", script, config, ...args),
        stopHeadscale: () => sshMust("systemctl stop headscale.service", "sudo", "-n", "systemctl", "stop", "headscale.service"),
        startHeadscale: () => sshMust("systemctl start headscale.service", "sudo", "-n", "systemctl", "start", "headscale.service"),
        healthy: async () => (await ssh("sudo", "-n", "headscale", "health")).code === 0,
      };
    }
    case "docker": {
      const at = rest.indexOf("@ssh://");
      const container = at < 0 ? rest : rest.slice(0, at);
      const engine = at < 0 ? [] : ["-H", rest.slice(at + 1)];
      const docker = (...args: string[]) => run("docker", [...engine, ...args]);
      const names = backupNames(container);
      const r = backup.restic;
      let image: string | undefined;
      const backupImage = async () => {
        if (image) return image;
        const inspected = await docker("inspect", "-f", "{{.Config.Image}}", names.container);
        if (inspected.code === 0 && inspected.stdout.trim() !== "") {
          image = inspected.stdout.trim();
          return image;
        }
        const listed = await docker(
          "image",
          "ls",
          "--format",
          "{{.Repository}}:{{.Tag}}",
          "--filter",
          `reference=cdktf-tailnet/headscale-backup-${tailnet.headscale.host}`,
        );
        const newest = listed.stdout.trim().split("\n")[0];
        if (!newest)
          throw new Error(
            `no backup image on the engine: neither container ${names.container} nor an image cdktf-tailnet/headscale-backup-${tailnet.headscale.host}:* (deploy the stack first)`,
          );
        image = newest;
        return image;
      };
      return {
        description: `docker container ${container}${engine.length ? ` on ${engine[1]}` : ""}`,
        script: async (args) =>
          docker(
            "run",
            "--rm",
            "--network",
            r && r.kind !== "local" ? "bridge" : "none",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges:true",
            "-v",
            `${names.dataVolume}:${tailnet.headscale.paths.stateDir}`,
            "-v",
            `${names.volume}:${backup.paths.dir}`,
            ...backupSecrets(backup).flatMap((s) => ["--mount", `type=bind,source=${s.file},target=${s.file},readonly`]),
            ...(r?.kind === "local" ? ["--mount", `type=bind,source=${r.repository},target=${r.repository}`] : []),
            await backupImage(),
            ...args,
          ),
        stopHeadscale: () => must(`docker stop ${container}`, "docker", [...engine, "stop", container]),
        startHeadscale: () => must(`docker start ${container}`, "docker", [...engine, "start", container]),
        healthy: async () => (await docker("exec", container, "headscale", "health")).code === 0,
      };
    }
    default:
      throw new Error(`--via ${JSON.stringify(via)}: use local:<binary>[,<config>], docker:<container>[@ssh://user@host] or ssh:<user@host>`);
  }
}
