/**
 * DNS-01 certificates for DERP nodes, derived once from the model: the ACME client the kit
 * installs on the node's host (lego), what it asks for and from which CA, the DNS provider that
 * answers the challenge, where the certificate must land for derper (its manual-mode names under
 * DERPER_PATHS.certDir), how derper is restarted after a renewal, and when renewals run. Also the
 * rules of `certificate: { mode: "dns-01" }`.
 */
import type { CheckContext } from "./context.js";
import { DEFAULTS, LETS_ENCRYPT_DIRECTORY } from "./defaults.js";
import { checkDnsProvider, resolveDnsProvider } from "./ddns.js";
import type { CertificateElement, DnsZoneElement, HostElement, NodeElement } from "./elements.js";
import { isIp, joinHostPort, parseListenAddress } from "./net.js";
import { ACME_PATHS, DERPER_PATHS, derperCertFileBase } from "./paths.js";
import type { ResolvedAcme, ResolvedDerperRestart } from "./resolved.js";
import type { Dns01CertificateSpec, DerpNodeSpec } from "./spec.js";

export { LETS_ENCRYPT_DIRECTORY } from "./defaults.js";
/** Days before expiry a DNS-01 certificate is renewed unless the spec says otherwise. */
export const DEFAULT_RENEW_DAYS_BEFORE: number = DEFAULTS.derp.regions.nodes.certificate.renewDaysBefore;

/** Resolvers as lego takes them: `host:port`, with port 53 added to a bare address. */
function resolverAddress(r: string): string {
  if (parseListenAddress(r)) return r;
  return joinHostPort(r, 53);
}

/**
 * derper's restart after a renewal. On a VM (or any systemd host) systemd units hand the files to
 * derper's user (the user and unit of the VM's derper service) and restart its unit, with no step
 * running as root. In a Docker host's ACME container (which runs as derper's user; derper's
 * container joins its process namespace) the hook ends derper, and Docker's restart policy starts
 * it again with the new files.
 */
function restartOf(host: HostElement | undefined): ResolvedDerperRestart {
  // pkill exits 1 when no derper runs (it cannot start before the first certificate): fine.
  if (host?.docker) return { via: "hook", command: "pkill -TERM -x derper; [ $? -le 1 ]" };
  return { via: "units", user: "derper", unit: "derper.service" };
}

/** A node's DNS-01 certificate: the ACME client on its host, from the defaulted node, its certificate and its host. */
export function resolveAcme(
  node: NodeElement,
  cert: Extract<CertificateElement, { source: "dns-01" }>,
  host: HostElement | undefined,
  zone: DnsZoneElement | undefined,
): ResolvedAcme {
  const base = derperCertFileBase(node.hostname);
  const domain = node.hostname.toLowerCase();
  return {
    client: "lego",
    domain,
    email: cert.email,
    acmeUrl: cert.acmeUrl,
    provider: resolveDnsProvider(cert.provider, zone),
    keyType: "ec256",
    renewDaysBefore: cert.renewDaysBefore,
    resolvers: cert.resolvers.map(resolverAddress),
    checkAuthoritativeNameservers: cert.checkAuthoritativeNameservers,
    certDir: DERPER_PATHS.certDir,
    certFileBase: base,
    certFile: `${DERPER_PATHS.certDir}/${base}.crt`,
    keyFile: `${DERPER_PATHS.certDir}/${base}.key`,
    restart: restartOf(host),
    schedule: { onCalendar: "daily", randomizedDelaySec: 3600, intervalSeconds: 86_400 },
    paths: {
      script: ACME_PATHS.script,
      hook: ACME_PATHS.hook,
      config: ACME_PATHS.config(node.name),
      stateDir: ACME_PATHS.stateDir(node.name),
      service: ACME_PATHS.service(node.name),
      timer: ACME_PATHS.timer(node.name),
      install: ACME_PATHS.install(node.name),
      installedPath: ACME_PATHS.installedPath(node.name),
      installedService: ACME_PATHS.installedService(node.name),
      restartService: ACME_PATHS.restartService(node.name),
      // lego's file names: the domain, with "*" as "_" (a node's host name has none).
      stagedCertFile: `${ACME_PATHS.stateDir(node.name)}/certificates/${domain}.crt`,
      stagedKeyFile: `${ACME_PATHS.stateDir(node.name)}/certificates/${domain}.key`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// checks

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkDns01(ctx: CheckContext, node: DerpNodeSpec, cert: Dns01CertificateSpec, path: string): void {
  const issues = ctx.issues;
  const at = `${path}.certificate`;
  if (node.hostname !== undefined && isIp(node.hostname)) {
    issues.add(
      `${at}.mode`,
      `DNS-01 proves control of a DNS name, and ${JSON.stringify(node.hostname)} is an IP address`,
      `use certificate mode "self-signed" (pinned) for an IP-only node, or give the node a DNS host name`,
    );
  } else if (node.hostname !== undefined) {
    checkDnsProvider(ctx, cert.provider, `${at}.provider`, [{ name: node.hostname, purpose: `derp node ${node.name}` }], "the ACME client");
  }
  if (node.certName?.startsWith("sha256-raw:")) {
    issues.add(
      `${path}.certName`,
      "pins one certificate, but a DNS-01 certificate is replaced at every renewal",
      "remove certName: clients verify the CA-issued certificate by the node's host name",
    );
  }
  if (cert.email !== undefined && !EMAIL.test(cert.email)) {
    issues.add(`${at}.email`, `${JSON.stringify(cert.email)} is not an e-mail address`, `write the ACME account's contact address, e.g. "admin@example.com"`);
  }
  if (cert.acmeUrl !== undefined && !/^https:\/\/[^/\s]+(\/\S*)?$/.test(cert.acmeUrl)) {
    issues.add(`${at}.acmeUrl`, `${JSON.stringify(cert.acmeUrl)} is not an https URL`, `write the CA's ACME directory URL, e.g. "${LETS_ENCRYPT_DIRECTORY}"`);
  }
  if (cert.renewDaysBefore !== undefined && (!Number.isInteger(cert.renewDaysBefore) || cert.renewDaysBefore < 1 || cert.renewDaysBefore > 60)) {
    issues.add(
      `${at}.renewDaysBefore`,
      `${cert.renewDaysBefore} is outside 1-60 days`,
      "use a whole number of days from 1 to 60 (30 suits Let's Encrypt's 90-day certificates)",
    );
  }
  (cert.resolvers ?? []).forEach((r, i) => {
    if (r !== undefined && !isIp(r) && !parseListenAddress(r)) {
      issues.add(
        `${at}.resolvers[${i}]`,
        `${JSON.stringify(r)} is not a resolver address`,
        `write an IP address, optionally with a port, e.g. "1.1.1.1" or "192.0.2.53:5353"`,
      );
    }
  });
}

/** The rules of DNS-01 certificates, for every node of the (structurally sanitized) spec. */
export function checkAcme(ctx: CheckContext): void {
  for (const { node, path } of ctx.nodes) {
    if (node.certificate?.mode === "dns-01") checkDns01(ctx, node, node.certificate, path);
  }
}
