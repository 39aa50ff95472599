/**
 * What each derper process runs with, derived once from the model: certificate mode and file
 * names, listeners, client verification against headscale, and the region's mesh. The same
 * derivation feeds the Docker containers and the systemd units.
 */
import type { ResolvedAcme } from "./acme.js";
import type { DerpNodeSpec, DerpRegionSpec, DerperSpec } from "./spec.js";

/**
 * Tailscale release derper is built from unless the spec says otherwise: the newest release whose
 * build the kit's tests run (1.104.x needs Go 1.27, and its `setec` dependency could not be fetched
 * where the tests run; no advisory names derper: advisories.ts). Must be in TAILSCALE_RELEASES.
 */
export const DEFAULT_DERPER_VERSION = "1.102.5";

/** Where derper keeps its files, in its container or on its host. */
export const DERPER_PATHS = {
  /** Node private key (`-c`); derper creates it on first start. */
  keyFile: "/var/lib/derper/derper.key",
  /** ACME cache or manual certificates (`-certdir`). */
  certDir: "/var/lib/derper/certs",
  /** The region's mesh key (`-mesh-psk-file`). */
  meshKeyFile: "/etc/derper/mesh.key",
} as const;

/** A listening socket a service opens on its host. */
export interface ResolvedListener {
  /** What it is for: `derp`, `http`, `stun`, `control`, `metrics`, `grpc`, `acme-http`. */
  readonly role: string;
  readonly protocol: "tcp" | "udp";
  /** Host address it is published on: `0.0.0.0` for every address, `127.0.0.1` for local only. */
  readonly hostIp: string;
  readonly port: number;
  /** Reachable from outside the host. */
  readonly public: boolean;
}

/** How one derper process runs. */
export interface ResolvedDerper {
  /** derper's `-certmode`: self-signed certificates are served from files, as manual ones. */
  readonly certMode: "letsencrypt" | "manual";
  /** Where the certificate comes from. */
  readonly certificateSource: "letsencrypt" | "manual" | "self-signed" | "dns-01";
  /** For a DNS-01 certificate: the ACME client on the host that obtains and renews it (model/acme.ts). */
  readonly acme: ResolvedAcme | undefined;
  /** For a self-signed certificate: how long it is issued for. */
  readonly selfSignedValidityDays: number | undefined;
  /** Base name derper looks for in manual mode: the host name with `[^a-zA-Z0-9-.]` removed. */
  readonly certFileBase: string;
  /** User-provided certificate files to install as `<certFileBase>.crt` / `.key` (manual mode). */
  readonly certificateFiles: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** headscale's `/verify` URL, when client verification is on. */
  readonly verifyClientUrl: string | undefined;
  /** Mesh peers (`-mesh-with`): every other DERP node of the region, `host[:port]`. */
  readonly meshWith: readonly string[];
  readonly listeners: readonly ResolvedListener[];
  /** The full argument list, in a fixed order. */
  readonly args: readonly string[];
}

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
