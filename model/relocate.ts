/**
 * Moving a resolved tailnet's headscale elsewhere (its directories and listeners): the one step
 * the lab and the real-binary tests take to run the rendered configuration as a process in a
 * temporary directory. Every path that follows from headscale's directories is derived again from
 * the new ones, the way resolve derives it; nothing is parsed back out of rendered text. derper
 * needs no relocation: its command line is rendered with the file paths as parameters
 * (render/command-lines.ts).
 */
import { derpMapPath, renderedPolicyPath } from "./headscale.js";
import type { HeadscalePaths, ResolvedTailnet } from "./resolved.js";

/** What a relocation may change. */
export interface HeadscaleRelocation {
  readonly paths: HeadscalePaths;
  readonly listenAddr?: string;
  readonly metricsListenAddr?: string;
  readonly grpcListenAddr?: string;
  /** Where the backups go instead (the lab keeps them in its run directory). */
  readonly backupDir?: string;
}

/** Returns the tailnet with headscale's directories and listeners replaced. */
export function relocateHeadscale<T extends ResolvedTailnet>(tailnet: T, to: HeadscaleRelocation): T {
  const hs = tailnet.headscale;
  return {
    ...tailnet,
    headscale: {
      ...hs,
      paths: to.paths,
      listenAddr: to.listenAddr ?? hs.listenAddr,
      metricsListenAddr: to.metricsListenAddr ?? hs.metricsListenAddr,
      grpcListenAddr: to.grpcListenAddr ?? hs.grpcListenAddr,
      derpMapPaths: hs.derpMapPaths.length > 0 ? [derpMapPath(to.paths)] : [],
      policy: { ...hs.policy, path: tailnet.policy ? renderedPolicyPath(to.paths, hs.containerized) : hs.policy.path },
      backup: hs.backup && to.backupDir !== undefined ? { ...hs.backup, paths: { ...hs.backup.paths, dir: to.backupDir } } : hs.backup,
    },
  };
}
