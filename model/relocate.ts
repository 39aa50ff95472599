/**
 * Moving a resolved tailnet's headscale onto other paths and listeners: the one step the lab and
 * the real-binary tests take to run the rendered configuration as an unprivileged process in a
 * temporary directory. Everything else about the model stays as resolved.
 */
import type { HeadscalePaths, ResolvedTailnet } from "./resolved.js";

/** What a relocation may change. */
export interface HeadscaleRelocation {
  readonly paths: HeadscalePaths;
  readonly listenAddr?: string;
  readonly metricsListenAddr?: string;
  readonly grpcListenAddr?: string;
}

/** Returns the tailnet with headscale's directories and listeners replaced. */
export function relocateHeadscale(tailnet: ResolvedTailnet, to: HeadscaleRelocation): ResolvedTailnet {
  const hs = tailnet.headscale;
  return {
    ...tailnet,
    headscale: {
      ...hs,
      paths: to.paths,
      listenAddr: to.listenAddr ?? hs.listenAddr,
      metricsListenAddr: to.metricsListenAddr ?? hs.metricsListenAddr,
      grpcListenAddr: to.grpcListenAddr ?? hs.grpcListenAddr,
      derpMapPaths: hs.derpMapPaths.map((p) => p.replace(hs.paths.configDir, to.paths.configDir)),
      policy: { ...hs.policy, path: hs.policy.path.startsWith(`${hs.paths.configDir}/`) ? hs.policy.path.replace(hs.paths.configDir, to.paths.configDir) : hs.policy.path },
    },
  };
}
