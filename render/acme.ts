/**
 * The DNS-01 ACME client of DERP nodes with `certificate: { mode: "dns-01" }` (model/acme.ts):
 * lego, driven by templates/acme-renew.sh.hbs; templates/acme-install-cert.sh.hbs, which installs
 * the certificate under derper's names (the key 0600); a settings file per node (data, no
 * secrets); and how it runs.
 *
 * - Docker host: a container per node (one image per host) as derper's user on derper's volume;
 *   the install script is lego's hook and ends derper, which Docker starts again.
 * - VM or any systemd host, per node, no unit running as root (each scores at most 1.5 in
 *   `systemd-analyze security`): lego in `cdktf-tailnet-acme-<node>.service` (daily `.timer`) as a
 *   transient user, which only stages the certificate in its state directory; then
 *   `-install.service` as derper's user, the staged files handed to it by systemd as credentials;
 *   `-installed.path` sees derper's certificate replaced and starts `-installed.service`, which,
 *   if the certificate and key are there (not deleted), starts `-restart.service`; that restarts
 *   derper.service through its dependencies (Conflicts=, OnSuccess=) and runs nothing.
 *
 * Files, under `hosts/<host>/acme/`: `acme-renew.sh` and `acme-install-cert.sh` (0755),
 * `acme-<node>.env`, and either the units or `Dockerfile`.
 */
import { dirname } from "node:path";
import { joinHostPort } from "../model/net.js";
import { DERPER_PATHS, type ResolvedAcme, type ResolvedDerpNode, type ResolvedDnsProvider, type ResolvedHost, type ResolvedTailnet } from "../model/index.js";
import { HELPER_BASE_IMAGE, providerSecret, scriptFile } from "./ddns.js";
import { renderEnvFile } from "./env-file.js";
import { fileNamePart } from "./escape/path.js";
import { unitName } from "./escape/systemd.js";
import { hostDir, publicFile, type RenderedFile } from "./files.js";
import { renderTemplate } from "./templates.js";
import { nodesOfHost } from "../model/walk.js";

/** lego's names for the TSIG algorithms (miekg/dns: fully qualified, with the trailing dot). */
function legoAlgorithm(algorithm: string): string {
  return algorithm.endsWith(".") ? algorithm : `${algorithm}.`;
}

/** lego's own environment variables for the provider (secrets by file only). */
function legoProviderEntries(provider: ResolvedDnsProvider): [string, string][] {
  if (provider.type === "cloudflare") return [["CF_DNS_API_TOKEN_FILE", provider.tokenFile]];
  return [
    ["RFC2136_NAMESERVER", joinHostPort(provider.nameserver, provider.port)],
    ["RFC2136_TSIG_KEY", provider.tsigKeyName],
    ["RFC2136_TSIG_ALGORITHM", legoAlgorithm(provider.tsigAlgorithm)],
    ["RFC2136_TSIG_SECRET_FILE", provider.tsigSecretFile],
  ];
}

/** A node's settings as name/value pairs, in file order. */
export function acmeSettings(node: ResolvedDerpNode, acme: ResolvedAcme): [string, string | number | boolean][] {
  return [
    ["ACME_NODE", node.name],
    ["ACME_DOMAIN", acme.domain],
    ["ACME_EMAIL", acme.email],
    ["ACME_SERVER", acme.acmeUrl],
    ["ACME_KEY_TYPE", acme.keyType],
    ["ACME_DNS_PROVIDER", acme.provider.type],
    ["ACME_RENEW_DAYS", acme.renewDaysBefore],
    ["ACME_RESOLVERS", acme.resolvers.join(" ")],
    ["ACME_CHECK_AUTHORITATIVE", acme.checkAuthoritativeNameservers],
    ["ACME_PATH", acme.paths.stateDir],
    ["ACME_INTERVAL_SECONDS", acme.schedule.intervalSeconds],
    ["ACME_HANDOFF", acme.restart.via],
    ["DERPER_CERT_DIR", acme.certDir],
    ["DERPER_CERT_BASE", acme.certFileBase],
    ["DERPER_RESTART", acme.restart.via === "hook" ? acme.restart.command : ""],
    ...legoProviderEntries(acme.provider),
  ];
}

/** acme-<node>.env. */
export function renderAcmeEnv(tailnet: ResolvedTailnet, node: ResolvedDerpNode, acme: ResolvedAcme): string {
  return renderEnvFile(
    [
      `Rendered by cdktf-tailnet for DERP node "${node.name}" on host "${node.host ?? ""}" (tailnet "${tailnet.name}"); do not edit.`,
      `Settings of acme-renew.sh and acme-install-cert.sh: lego obtains ${acme.domain} with DNS-01`,
      `through ${acme.provider.type}; it is installed as ${acme.certFile} and .key,`,
      acme.restart.via === "hook"
        ? "then derper restarts (ACME_HANDOFF=hook: lego's hook installs it and runs DERPER_RESTART)."
        : `then derper restarts (ACME_HANDOFF=units: the units ${acme.paths.service.replace(/\.service$/, "")}-*).`,
      `No secrets here: the ${acme.provider.type === "cloudflare" ? "API token" : "TSIG secret"} is read from the file named below (0600 root).`,
    ],
    acmeSettings(node, acme),
  );
}

function templateData(tailnet: ResolvedTailnet, host: ResolvedHost) {
  return { host: host.name, tailnet: tailnet.name };
}

/**
 * A node's units on a systemd host, as `[file name, text]`: lego's service and timer, the hand-off
 * to derper's user, and derper's restart (a path unit, its gate, the restart). Only for a `units`
 * hand-off.
 */
export function renderAcmeUnits(tailnet: ResolvedTailnet, host: ResolvedHost, node: ResolvedDerpNode, acme: ResolvedAcme): [string, string][] {
  const restart = acme.restart;
  if (restart.via !== "units")
    throw new Error(`cdktf-tailnet: DERP node ${node.name}'s certificate reaches derper through lego's hook (a container), not systemd units`);
  const secret = providerSecret(acme.provider);
  const underVarLib = (path: string) => path.replace(/^\/var\/lib\//, "");
  const data = {
    ...templateData(tailnet, host),
    node: node.name,
    domain: acme.domain,
    acmeUrl: acme.acmeUrl,
    renewDays: acme.renewDaysBefore,
    certFile: acme.certFile,
    keyFile: acme.keyFile,
    certDir: acme.certDir,
    service: acme.paths.service,
    timer: acme.paths.timer,
    install: acme.paths.install,
    installedPath: acme.paths.installedPath,
    installedService: acme.paths.installedService,
    restartService: acme.paths.restartService,
    script: acme.paths.script,
    hook: acme.paths.hook,
    config: acme.paths.config,
    stateDir: acme.paths.stateDir,
    stateDirectory: underVarLib(acme.paths.stateDir),
    stagedCertFile: acme.paths.stagedCertFile,
    stagedKeyFile: acme.paths.stagedKeyFile,
    credential: secret.credential,
    secretFile: secret.file,
    secretName: acme.provider.type === "cloudflare" ? "Cloudflare API token" : "TSIG secret",
    derperUser: restart.user,
    derperUnit: restart.unit,
    // derper's own state directories, as its unit declares them: the same owner and mode.
    derperStateDirectories: [underVarLib(dirname(acme.certDir)), underVarLib(acme.certDir)],
    onCalendar: acme.schedule.onCalendar,
    randomizedDelaySec: acme.schedule.randomizedDelaySec,
  };
  // File names are the unit names as the units refer to each other: escaped (escape/systemd.ts).
  return [
    [unitName(acme.paths.service), renderTemplate("cdktf-tailnet-acme.service", data)],
    [unitName(acme.paths.timer), renderTemplate("cdktf-tailnet-acme.timer", data)],
    [unitName(acme.paths.install), renderTemplate("cdktf-tailnet-acme-install.service", data)],
    [unitName(acme.paths.installedPath), renderTemplate("cdktf-tailnet-acme-installed.path", data)],
    [unitName(acme.paths.installedService), renderTemplate("cdktf-tailnet-acme-installed.service", data)],
    [unitName(acme.paths.restartService), renderTemplate("cdktf-tailnet-acme-restart.service", data)],
  ];
}

/** The name of a node's settings file in the output tree and the image's build context: `acme-<node>.env`. */
function acmeEnvFileName(node: ResolvedDerpNode): string {
  return `acme-${fileNamePart(node.name)}.env`;
}

/** The nodes of a host that have a DNS-01 certificate. */
export function acmeNodesOf(tailnet: ResolvedTailnet, host: ResolvedHost): (ResolvedDerpNode & { derper: { acme: ResolvedAcme } })[] {
  return nodesOfHost(tailnet, host).filter((n): n is ResolvedDerpNode & { derper: { acme: ResolvedAcme } } => n.derper.acme !== undefined);
}

/** The ACME client's container image, for a Docker host. */
export function renderAcmeDockerfile(tailnet: ResolvedTailnet, host: ResolvedHost): string {
  const nodes = acmeNodesOf(tailnet, host);
  const first = nodes[0]!.derper.acme;
  return renderTemplate("acme.Dockerfile", {
    ...templateData(tailnet, host),
    nodes: nodes.map((n) => n.name).join(", "),
    baseImage: HELPER_BASE_IMAGE,
    script: first.paths.script,
    hook: first.paths.hook,
    derperDataDir: dirname(DERPER_PATHS.certDir),
    certDir: DERPER_PATHS.certDir,
    configs: nodes.map((n) => ({ file: acmeEnvFileName(n), path: n.derper.acme.paths.config, stateDir: n.derper.acme.paths.stateDir })),
  });
}

/** Every ACME file of every host, under `hosts/<host>/acme/`. */
export function renderAcmeFiles(tailnet: ResolvedTailnet): RenderedFile[] {
  return tailnet.hosts.flatMap((host) => {
    const nodes = acmeNodesOf(tailnet, host);
    if (nodes.length === 0) return [];
    const dir = `${hostDir(host.name)}/acme`;
    const files = [
      scriptFile(`${dir}/acme-renew.sh`, renderTemplate("acme-renew.sh", templateData(tailnet, host))),
      scriptFile(`${dir}/acme-install-cert.sh`, renderTemplate("acme-install-cert.sh", templateData(tailnet, host))),
    ];
    for (const node of nodes) {
      files.push(publicFile(`${dir}/${acmeEnvFileName(node)}`, renderAcmeEnv(tailnet, node, node.derper.acme)));
      if (!host.docker) for (const [name, text] of renderAcmeUnits(tailnet, host, node, node.derper.acme)) files.push(publicFile(`${dir}/${name}`, text));
    }
    if (host.docker) files.push(publicFile(`${dir}/Dockerfile`, renderAcmeDockerfile(tailnet, host)));
    return files;
  });
}
