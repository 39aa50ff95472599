/**
 * Command lines, rendered late from the model's settings: derper's flags from a DERP node's
 * settings, headscale's from where its configuration is. The file paths are parameters, so the
 * VM's unit, the Docker container, the lab and the tests each place files where they need them
 * without parsing flags back.
 */
import { joinHostPort, urlAuthority } from "../model/net.js";
import { DERPER_PATHS, HTTPS_PORT, type DerperFiles, type ResolvedDerpNode, type ResolvedDerper } from "../model/index.js";

/**
 * The peers a derper meshes with, as `-mesh-with` takes them: each becomes the host of the URL
 * `https://<peer>/derp`, so `host`, `host:port` off the HTTPS port, and an IPv6 address in brackets.
 */
export function meshPeers(derper: ResolvedDerper): string[] {
  return derper.mesh.map((p) => urlAuthority(p.hostname, p.port, HTTPS_PORT));
}

/**
 * derper's flags for a node, in a fixed order, with its files at `files` (DERPER_PATHS in the
 * container and on a VM) and its DERP listener on `listenHost` (every address when empty).
 */
export function derperArgs(node: ResolvedDerpNode, files: DerperFiles = DERPER_PATHS, listenHost = ""): string[] {
  const d = node.derper;
  return [
    `-hostname=${node.hostname}`,
    `-a=${joinHostPort(listenHost, node.derpPort)}`,
    `-http-port=${d.httpPort}`,
    ...(node.stunPort > 0 ? ["-stun=true", `-stun-port=${node.stunPort}`] : ["-stun=false"]),
    ...(node.stunOnly ? ["-derp=false"] : []),
    `-c=${files.keyFile}`,
    `-certmode=${d.certMode}`,
    `-certdir=${files.certDir}`,
    ...(d.verifyClientUrl ? [`-verify-client-url=${d.verifyClientUrl}`, "-verify-client-url-fail-open=false"] : []),
    ...(d.mesh.length > 0 ? [`-mesh-with=${meshPeers(d).join(",")}`, `-mesh-psk-file=${files.meshKeyFile}`] : []),
  ];
}

/** headscale's arguments to serve with the configuration at `configFile`. */
export function headscaleArgs(configFile: string): string[] {
  return ["serve", "--config", configFile];
}
