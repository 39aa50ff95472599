/**
 * The rendered backup script and its settings, relocated into a scratch directory (headscale's
 * state and the backups there instead of /var/lib), for tests that run the script itself with the
 * real sqlite3 and restic. The spec goes through the normal pipeline; only the paths move.
 */
import { execa } from "execa";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadTailnet, relocateHeadscale, type HeadscaleBackupSpec, type ResolvedTailnet, type TailnetSpec } from "../../model/index.js";
import { renderBackupFiles } from "../../render/index.js";

export interface BackupFixture {
  readonly tailnet: ResolvedTailnet;
  readonly stateDir: string;
  readonly backupDir: string;
  readonly script: string;
  readonly config: string;
  /** Runs `sh script config ...args` (never rejects). */
  run(args: readonly string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** A small tailnet whose headscale runs on host `hs`, with `backup` as its backup settings. */
export function backupSpec(backup: HeadscaleBackupSpec | undefined, version?: string): TailnetSpec {
  return {
    name: "backup-test",
    headscale: {
      ...(version && { version }),
      serverUrl: "https://hs.example.com",
      host: "hs",
      dns: { baseDomain: "tail.example.net" },
      ...(backup && { backup }),
    },
    derp: { regions: [{ id: 900, code: "lab", name: "Lab", nodes: [{ name: "lab-1", hostname: "derp.example.com" }] }] },
    hosts: [{ name: "hs" }],
  };
}

/** Renders the script for `spec` with headscale's state in `root`/state and the backups in `root`/backups. */
export function backupFixture(root: string, spec: TailnetSpec): BackupFixture {
  const stateDir = join(root, "state");
  const backupDir = join(root, "backups");
  const etc = join(root, "etc");
  for (const d of [stateDir, etc]) mkdirSync(d, { recursive: true });
  const tailnet = relocateHeadscale(loadTailnet(spec), { paths: { configDir: etc, stateDir, runDir: join(root, "run") }, backupDir });
  const files = renderBackupFiles(tailnet);
  const script = join(etc, "headscale-backup.sh");
  const config = join(etc, "headscale-backup.env");
  writeFileSync(script, files.find((f) => f.path.endsWith("/headscale-backup.sh"))!.content, { mode: 0o755 });
  writeFileSync(config, files.find((f) => f.path.endsWith("/headscale-backup.env"))!.content);
  return {
    tailnet,
    stateDir,
    backupDir,
    script,
    config,
    async run(args, env = {}) {
      const r = await execa("sh", [script, config, ...args], { reject: false, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, extendEnv: false });
      return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
  };
}
