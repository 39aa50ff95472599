/**
 * Starting the real derper for one node of a resolved model, on loopback: exactly the model's
 * flags, with its paths moved into a temp dir, its listener bound to 127.0.0.1, and the node's
 * certificate files copied under the names derper loads. Client verification is left out (derper
 * would resolve the coordination server's name itself); the lab tests it end to end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DERPER_PATHS, type ResolvedDerpNode } from "../../model/index.js";
import { upstreamBinary, upstreamVersions } from "./upstream.js";
import { derperArgs } from "../../render/command-lines.js";

/**
 * The node's derper arguments as run here, with its certificate files copied into `dir`: the
 * model's flags, the paths moved into `dir` (the mesh key at `meshKeyFile`), the listener on
 * 127.0.0.1, client verification left out.
 */
export function derperRunArgs(node: ResolvedDerpNode, dir: string, meshKeyFile: string = DERPER_PATHS.meshKeyFile): string[] {
  const certDir = join(dir, "certs");
  mkdirSync(certDir, { recursive: true });
  const files = node.derper.certificateFiles;
  if (files) {
    copyFileSync(files.certFile, join(certDir, `${node.derper.certFileBase}.crt`));
    copyFileSync(files.keyFile, join(certDir, `${node.derper.certFileBase}.key`));
  }
  const unverified = { ...node, derper: { ...node.derper, verifyClientUrl: undefined } };
  return derperArgs(unverified, { keyFile: join(dir, "derper.key"), certDir, meshKeyFile }, "127.0.0.1");
}

/** The node's derper arguments as run here ({@link derperRunArgs}), and the process. */
export function startDerper(node: ResolvedDerpNode, dir: string): { args: string[]; process: ChildProcess } {
  const args = derperRunArgs(node, dir);
  return { args, process: spawn(upstreamBinary("derper", upstreamVersions.tailscale), args, { stdio: "ignore" }) };
}
