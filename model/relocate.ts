/**
 * Moving a resolved tailnet's headscale (paths and listeners) and derpers (file paths) elsewhere:
 * the one step the lab and the real-binary tests take to run the rendered configuration as
 * processes in a temporary directory. Everything else about the model stays as resolved.
 */
import type { HeadscalePaths, ResolvedTailnet } from "./resolved.js";
import { DERPER_PATHS } from "./paths.js";

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
      backup: hs.backup && to.backupDir !== undefined ? { ...hs.backup, paths: { ...hs.backup.paths, dir: to.backupDir } } : hs.backup,
    },
  };
}

/** Where one derper keeps its files instead of DERPER_PATHS. */
export interface DerperRelocation {
  readonly keyFile: string;
  readonly certDir: string;
  readonly meshKeyFile: string;
}

/**
 * A node's derper flags with the three that carry DERPER_PATHS (`-c`, `-certdir`,
 * `-mesh-psk-file`) pointing at `to`; every other flag stays as it is. Refuses flags that do not
 * hold the path the model puts there.
 */
export function relocateDerperArgs(args: readonly string[], to: DerperRelocation): string[] {
  const moves: Record<string, [string, string]> = {
    "-c": [DERPER_PATHS.keyFile, to.keyFile],
    "-certdir": [DERPER_PATHS.certDir, to.certDir],
    "-mesh-psk-file": [DERPER_PATHS.meshKeyFile, to.meshKeyFile],
  };
  return args.map((arg) => {
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const move = moves[flag];
    if (!move) return arg;
    const value = arg.slice(eq + 1);
    if (value !== move[0]) throw new Error(`derper flag ${arg}: expected the rendered path ${move[0]}`);
    return `${flag}=${move[1]}`;
  });
}

/**
 * Returns the tailnet with the derper of every node `to` gives paths for moved onto them (the lab
 * and tests run derper as a process in a temporary directory); other nodes stay as resolved.
 */
export function relocateDerper(tailnet: ResolvedTailnet, to: (nodeName: string) => DerperRelocation | undefined): ResolvedTailnet {
  return {
    ...tailnet,
    derp: {
      ...tailnet.derp,
      regions: tailnet.derp.regions.map((region) => ({
        ...region,
        nodes: region.nodes.map((node) => {
          const paths = to(node.name);
          return paths ? { ...node, derper: { ...node.derper, args: relocateDerperArgs(node.derper.args, paths) } } : node;
        }),
      })),
    },
  };
}
