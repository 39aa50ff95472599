/**
 * What each derper process runs with, derived once from the model: certificate mode and file
 * names, listeners, client verification against headscale, and the region's mesh. The same
 * derivation feeds the Docker containers and the systemd units.
 */
import type { DerpNodeSpec, DerpRegionSpec, DerperSpec } from "./spec.js";
import { DERPER_PATHS } from "./paths.js";
import type { ResolvedAcme, ResolvedDerper, ResolvedListener } from "./resolved.js";

/**
 * Tailscale release derper is built from unless the spec says otherwise: the newest release whose
 * build the kit's tests run (1.104.x needs Go 1.27, and its `setec` dependency could not be fetched
 * where the tests run; no advisory names derper: advisories.ts). Must be in TAILSCALE_RELEASES.
 */
export const DEFAULT_DERPER_VERSION = "1.102.5";

/** derper's manual-mode file name for a host name (cmd/derper/cert.go keyname). */
export function derperCertFileBase(hostname: string): string {
  return hostname.replace(/[^a-zA-Z0-9-.]/g, "");
}

/** Days a kit-issued self-signed certificate is valid unless the spec says otherwise. */
export const DEFAULT_SELF_SIGNED_VALIDITY_DAYS = 1826;

/**
 * The certificate source a node gets when its spec names none: self-signed and pinned for an IP
 * address without a pin of the user's own (or a lab's insecureForTests), Let's Encrypt for a DNS
 * name on 443, else files.
 */
export function defaultCertificateSource(
  node: Pick<DerpNodeSpec, "derpPort" | "certName" | "insecureForTests">,
  hostnameIsIp: boolean,
): "letsencrypt" | "manual" | "self-signed" {
  if (hostnameIsIp) return node.certName === undefined && !node.insecureForTests ? "self-signed" : "manual";
  return (node.derpPort ?? 443) === 443 ? "letsencrypt" : "manual";
}

function meshPeer(n: DerpNodeSpec): string {
  const port = n.derpPort ?? 443;
  return port === 443 ? n.hostname : `${n.hostname}:${port}`;
}

/** Derives one node's derper runtime. */
export function resolveDerper(
  region: DerpRegionSpec,
  node: DerpNodeSpec,
  resolvedNode: { hostnameIsIp: boolean; derpPort: number; stunPort: number; canPort80: boolean },
  derper: DerperSpec | undefined,
  serverUrl: string,
  acme?: ResolvedAcme,
): ResolvedDerper {
  const certificateSource = node.certificate?.mode ?? defaultCertificateSource(node, resolvedNode.hostnameIsIp);
  const certMode = certificateSource === "letsencrypt" ? "letsencrypt" : "manual";
  const manual = node.certificate?.mode === "manual" ? node.certificate : undefined;
  const selfSignedValidityDays =
    certificateSource === "self-signed" ? ((node.certificate?.mode === "self-signed" ? node.certificate.validityDays : undefined) ?? DEFAULT_SELF_SIGNED_VALIDITY_DAYS) : undefined;
  const verify = derper?.verifyClients ?? true;
  const verifyClientUrl = verify ? `${serverUrl.replace(/\/+$/, "")}/verify` : undefined;
  const meshWith = region.nodes.length > 1 ? region.nodes.filter((n) => n !== node && !n.stunOnly).map(meshPeer) : [];
  // Port 80 serves captive-portal checks (CanPort80) and Let's Encrypt's HTTP-01 challenge.
  const httpPort = resolvedNode.canPort80 || certMode === "letsencrypt" ? 80 : -1;
  const listeners: ResolvedListener[] = [
    ...(node.stunOnly ? [] : [{ role: "derp", protocol: "tcp" as const, hostIp: "0.0.0.0", port: resolvedNode.derpPort, public: true }]),
    ...(httpPort > 0 && !node.stunOnly ? [{ role: "http", protocol: "tcp" as const, hostIp: "0.0.0.0", port: httpPort, public: true }] : []),
    ...(resolvedNode.stunPort > 0 ? [{ role: "stun", protocol: "udp" as const, hostIp: "0.0.0.0", port: resolvedNode.stunPort, public: true }] : []),
  ];
  const args = [
    `-hostname=${node.hostname}`,
    `-a=:${resolvedNode.derpPort}`,
    `-http-port=${httpPort}`,
    ...(resolvedNode.stunPort > 0 ? [`-stun=true`, `-stun-port=${resolvedNode.stunPort}`] : [`-stun=false`]),
    ...(node.stunOnly ? [`-derp=false`] : []),
    `-c=${DERPER_PATHS.keyFile}`,
    `-certmode=${certMode}`,
    `-certdir=${DERPER_PATHS.certDir}`,
    ...(verifyClientUrl ? [`-verify-client-url=${verifyClientUrl}`, `-verify-client-url-fail-open=false`] : []),
    ...(meshWith.length > 0 ? [`-mesh-with=${meshWith.join(",")}`, `-mesh-psk-file=${DERPER_PATHS.meshKeyFile}`] : []),
  ];
  return {
    certMode,
    certificateSource,
    acme,
    selfSignedValidityDays,
    certFileBase: derperCertFileBase(node.hostname),
    certificateFiles: manual?.certFile && manual.keyFile ? { certFile: manual.certFile, keyFile: manual.keyFile } : undefined,
    verifyClientUrl,
    meshWith,
    listeners,
    args,
  };
}
