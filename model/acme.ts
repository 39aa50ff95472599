/**
 * DNS-01 certificates for DERP nodes, derived once from the model: the ACME client the kit
 * installs on the node's host (lego), what it asks for and from which CA, the DNS provider that
 * answers the challenge, where the certificate must land for derper (its manual-mode names under
 * DERPER_PATHS.certDir), how derper is restarted after a renewal, and when renewals run. Also the
 * validation rules of `certificate: { mode: "dns-01" }` (called by validate.ts).
 */
import { DERPER_PATHS, derperCertFileBase } from "./derper.js";
import { checkDnsProvider, HOST_CONFIG_DIR, resolveDnsProvider, type ResolvedDnsProvider } from "./ddns.js";
import type { IssueList } from "./issues.js";
import { isIp, parseListenAddress } from "./net.js";
import type { Dns01CertificateSpec, DerpNodeSpec, HostSpec, TailnetSpec } from "./spec.js";
import { VM_PATHS } from "./vm.js";

export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
export const DEFAULT_RENEW_DAYS_BEFORE = 30;

/** The ACME client's scripts on a host (shared by every node there) and its per-node files. */
export const ACME_PATHS = {
  /** Obtains the certificate on first run, renews it afterwards. */
  script: `${VM_PATHS.libDir}/acme-renew.sh`,
  /** Installs the files under derper's names: lego's hook in a container, the install unit on a systemd host. */
  hook: `${VM_PATHS.libDir}/acme-install-cert.sh`,
  config: (node: string) => `${HOST_CONFIG_DIR}/acme-${node}.env`,
  /** lego's account and certificate store (`--path`). */
  stateDir: (node: string) => `/var/lib/cdktf-tailnet/acme/${node}`,
  service: (node: string) => `cdktf-tailnet-acme-${node}.service`,
  timer: (node: string) => `cdktf-tailnet-acme-${node}.timer`,
  /** systemd hosts: hands lego's certificate to derper, as derper's user (lego's unit triggers it). */
  install: (node: string) => `cdktf-tailnet-acme-${node}-install.service`,
  /** systemd hosts: watches derper's certificate; starts `installedService` when it is replaced. */
  installedPath: (node: string) => `cdktf-tailnet-acme-${node}-installed.path`,
  /** systemd hosts: starts `restartService` if derper's certificate and key are there (not when they were deleted). */
  installedService: (node: string) => `cdktf-tailnet-acme-${node}-installed.service`,
  /** systemd hosts: restarts derper by its dependencies alone (Conflicts=, then OnSuccess=). */
  restartService: (node: string) => `cdktf-tailnet-acme-${node}-restart.service`,
} as const;

/**
 * How a new certificate reaches derper, which reads certificates only at start.
 * - `hook` (a Docker host's ACME container, which runs as derper's user on derper's volume):
 *   lego's hook installs the files under derper's names and runs `command`.
 * - `units` (a VM or any systemd host): lego, as a transient user of its own, only stages the
 *   files in its state directory. After each successful run systemd starts `paths.install`, which
 *   runs as derper's `user` and installs them when they differ; `paths.installedPath` sees the
 *   new certificate, and through `paths.installedService` `paths.restartService` restarts
 *   derper's `unit`. No step runs as root.
 */
export type ResolvedDerperRestart =
  | { readonly via: "hook"; readonly command: string }
  | { readonly via: "units"; readonly user: string; readonly unit: string };

/** A DERP node's DNS-01 certificate. */
export interface ResolvedAcme {
  readonly client: "lego";
  /** The one name the certificate is for: the node's host name. */
  readonly domain: string;
  readonly email: string;
  readonly acmeUrl: string;
  readonly provider: ResolvedDnsProvider;
  /** ECDSA P-256 keys, as derper's own certificates. */
  readonly keyType: "ec256";
  readonly renewDaysBefore: number;
  /** lego `--dns.resolvers`, `host:port`. */
  readonly resolvers: readonly string[];
  /** false: lego `--dns.disable-cp` (check through the resolvers only). */
  readonly checkAuthoritativeNameservers: boolean;
  /** Where derper loads the certificate and key (`-certmode=manual`). */
  readonly certDir: string;
  readonly certFileBase: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly restart: ResolvedDerperRestart;
  /** When renewals are attempted: a systemd calendar spec and a random delay, or the container's sleep. */
  readonly schedule: { readonly onCalendar: string; readonly randomizedDelaySec: number; readonly intervalSeconds: number };
  readonly paths: {
    readonly script: string;
    readonly hook: string;
    readonly config: string;
    readonly stateDir: string;
    readonly service: string;
    readonly timer: string;
    readonly install: string;
    readonly installedPath: string;
    readonly installedService: string;
    readonly restartService: string;
    /** lego's copies of the certificate (with its chain) and key, in `stateDir`: the staged files. */
    readonly stagedCertFile: string;
    readonly stagedKeyFile: string;
  };
}

/** Resolvers as lego takes them: `host:port`, with port 53 added to a bare address. */
function resolverAddress(r: string): string {
  if (parseListenAddress(r)) return r;
  return r.includes(":") ? `[${r}]:53` : `${r}:53`;
}

/**
 * derper's restart after a renewal. On a VM (or any systemd host) systemd units hand the files to
 * derper's user (the user and unit of the VM's derper service) and restart its unit, with no step
 * running as root. In a Docker host's ACME container (which runs as derper's user; derper's
 * container joins its process namespace) the hook ends derper, and Docker's restart policy starts
 * it again with the new files.
 */
function restartOf(host: HostSpec | undefined): ResolvedDerperRestart {
  // pkill exits 1 when no derper runs (it cannot start before the first certificate): fine.
  if (host?.docker) return { via: "hook", command: "pkill -TERM -x derper; [ $? -le 1 ]" };
  return { via: "units", user: "derper", unit: "derper.service" };
}

/** A node's DNS-01 certificate; undefined unless its certificate mode is dns-01. */
export function resolveAcme(node: DerpNodeSpec, host: HostSpec | undefined, spec: TailnetSpec): ResolvedAcme | undefined {
  const cert = node.certificate;
  if (cert?.mode !== "dns-01") return undefined;
  const base = derperCertFileBase(node.hostname);
  const domain = node.hostname.toLowerCase();
  return {
    client: "lego",
    domain,
    email: cert.email,
    acmeUrl: cert.acmeUrl ?? LETS_ENCRYPT_DIRECTORY,
    provider: resolveDnsProvider(cert.provider, spec),
    keyType: "ec256",
    renewDaysBefore: cert.renewDaysBefore ?? DEFAULT_RENEW_DAYS_BEFORE,
    resolvers: (cert.resolvers ?? []).map(resolverAddress),
    checkAuthoritativeNameservers: cert.checkAuthoritativeNameservers ?? true,
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
// validation

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkDns01(spec: TailnetSpec, node: DerpNodeSpec, cert: Dns01CertificateSpec, path: string, issues: IssueList): void {
  const at = `${path}.certificate`;
  if (node.hostname !== undefined && isIp(node.hostname)) {
    issues.add(`${at}.mode`, `DNS-01 proves control of a DNS name, and ${JSON.stringify(node.hostname)} is an IP address`, `use certificate mode "self-signed" (pinned) for an IP-only node, or give the node a DNS host name`);
  } else if (node.hostname !== undefined) {
    checkDnsProvider(spec, cert.provider, `${at}.provider`, [{ name: node.hostname, purpose: `derp node ${node.name}` }], "the ACME client", issues);
  }
  if (node.certName?.startsWith("sha256-raw:")) {
    issues.add(`${path}.certName`, "pins one certificate, but a DNS-01 certificate is replaced at every renewal", "remove certName: clients verify the CA-issued certificate by the node's host name");
  }
  if (cert.email !== undefined && !EMAIL.test(cert.email)) {
    issues.add(`${at}.email`, `${JSON.stringify(cert.email)} is not an e-mail address`, `write the ACME account's contact address, e.g. "admin@example.com"`);
  }
  if (cert.acmeUrl !== undefined && !/^https:\/\/[^/\s]+(\/\S*)?$/.test(cert.acmeUrl)) {
    issues.add(`${at}.acmeUrl`, `${JSON.stringify(cert.acmeUrl)} is not an https URL`, `write the CA's ACME directory URL, e.g. "${LETS_ENCRYPT_DIRECTORY}"`);
  }
  if (cert.renewDaysBefore !== undefined && (!Number.isInteger(cert.renewDaysBefore) || cert.renewDaysBefore < 1 || cert.renewDaysBefore > 60)) {
    issues.add(`${at}.renewDaysBefore`, `${cert.renewDaysBefore} is outside 1-60 days`, "use a whole number of days from 1 to 60 (30 suits Let's Encrypt's 90-day certificates)");
  }
  (cert.resolvers ?? []).forEach((r, i) => {
    if (r !== undefined && !isIp(r) && !parseListenAddress(r)) {
      issues.add(`${at}.resolvers[${i}]`, `${JSON.stringify(r)} is not a resolver address`, `write an IP address, optionally with a port, e.g. "1.1.1.1" or "192.0.2.53:5353"`);
    }
  });
}

/** The rules of DNS-01 certificates, for every node of the (structurally sanitized) spec. */
export function checkAcme(spec: TailnetSpec, issues: IssueList): void {
  (spec.derp?.regions ?? []).forEach((region, i) => {
    (region?.nodes ?? []).forEach((node, j) => {
      if (node?.certificate?.mode === "dns-01") checkDns01(spec, node, node.certificate, `derp.regions[${i}].nodes[${j}]`, issues);
    });
  });
}
