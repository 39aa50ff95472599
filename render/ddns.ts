/**
 * The dynamic-DNS updater of a host with `ddns` (model/ddns.ts): a POSIX sh script
 * (templates/ddns-update.sh.hbs; curl and jq for Cloudflare's API, dig and nsupdate for RFC 2136),
 * its settings file (data, no secrets), and how it runs: a systemd service and timer on a VM or any
 * systemd host, a small Debian container on a Docker host.
 *
 * Files, under `hosts/<host>/ddns/`: `ddns-update.sh` (0755), `ddns.env`, and either
 * `cdktf-tailnet-ddns.service` + `.timer` or `Dockerfile`. On the host they go to
 * DDNS_PATHS (script and settings) and /etc/systemd/system (units).
 */
import {
  DNS_SECRET_ENV,
  type ResolvedAddressSource,
  type ResolvedDdns,
  type ResolvedDnsProvider,
  type ResolvedHost,
  type ResolvedTailnet,
} from "../model/index.js";
import { renderEnvFile } from "./env-file.js";
import { hostDir, publicFile, type RenderedFile } from "./files.js";
import { renderTemplate } from "./templates.js";

/** Base image of the kit's helper containers (Debian's curl/jq/bind9-dnsutils and lego). */
export const HELPER_BASE_IMAGE = "docker.io/library/debian:bookworm-slim";

/** A script: executable. */
export function scriptFile(path: string, content: string): RenderedFile {
  return { path, content, mode: 0o755 };
}

function sourceText(source: ResolvedAddressSource | undefined): string {
  if (!source) return "";
  return source.kind === "url" ? `url:${source.url}` : `interface:${source.interface}`;
}

/** The secret a provider needs: systemd credential name, and the file on the host. */
export function providerSecret(provider: ResolvedDnsProvider): { credential: string; file: string; env: string } {
  return provider.type === "cloudflare"
    ? { credential: "cloudflare-token", file: provider.tokenFile, env: DNS_SECRET_ENV.cloudflareToken }
    : { credential: "tsig-secret", file: provider.tsigSecretFile, env: DNS_SECRET_ENV.tsigSecret };
}

function providerEntries(provider: ResolvedDnsProvider): [string, string | number][] {
  if (provider.type === "cloudflare") {
    return [
      ["CLOUDFLARE_API_URL", provider.apiUrl],
      ["CLOUDFLARE_ZONE_ID", provider.zoneId ?? ""],
      ["CLOUDFLARE_ZONE_NAME", provider.zoneName ?? ""],
      ["CLOUDFLARE_API_TOKEN_FILE", provider.tokenFile],
    ];
  }
  return [
    ["RFC2136_NAMESERVER", provider.nameserver],
    ["RFC2136_PORT", provider.port],
    ["RFC2136_ZONE", provider.zone],
    ["RFC2136_TSIG_KEY", provider.tsigKeyName],
    ["RFC2136_TSIG_ALGORITHM", provider.tsigAlgorithm],
    ["RFC2136_TSIG_SECRET_FILE", provider.tsigSecretFile],
  ];
}

/** The updater's settings as name/value pairs, in file order. */
export function ddnsSettings(host: ResolvedHost, ddns: ResolvedDdns): [string, string | number][] {
  const names = (type: "A" | "AAAA") =>
    ddns.records
      .filter((r) => r.type === type)
      .map((r) => r.name)
      .join(" ");
  return [
    ["DDNS_HOST", host.name],
    ["DDNS_PROVIDER", ddns.provider.type],
    ["DDNS_A_RECORDS", names("A")],
    ["DDNS_AAAA_RECORDS", names("AAAA")],
    ["DDNS_IPV4_SOURCE", sourceText(ddns.ipv4)],
    ["DDNS_IPV6_SOURCE", sourceText(ddns.ipv6)],
    ["DDNS_TTL", ddns.ttl],
    ["DDNS_INTERVAL_SECONDS", ddns.intervalSeconds],
    ["DDNS_RECHECK_SECONDS", ddns.recheckSeconds],
    ["DDNS_STATE_DIR", ddns.paths.stateDir],
    ...providerEntries(ddns.provider),
  ];
}

/** ddns.env: what the script reads. */
export function renderDdnsEnv(tailnet: ResolvedTailnet, host: ResolvedHost, ddns: ResolvedDdns): string {
  const secret = providerSecret(ddns.provider);
  return renderEnvFile(
    [
      `Rendered by cdktf-tailnet for host "${host.name}" (tailnet "${tailnet.name}"); do not edit.`,
      `Settings of ${ddns.paths.script}. No secrets: the ${ddns.provider.type} secret is read from`,
      `${secret.file} (0600 root), or from $${secret.env} when that is set.`,
    ],
    ddnsSettings(host, ddns),
  );
}

/** The script. */
export function renderDdnsScript(tailnet: ResolvedTailnet, host: ResolvedHost): string {
  return renderTemplate("ddns-update.sh", { host: host.name, tailnet: tailnet.name });
}

function describeRecords(ddns: ResolvedDdns): string {
  return ddns.records.map((r) => `${r.name} ${r.type}`).join(", ");
}

function describeProvider(provider: ResolvedDnsProvider): string {
  return provider.type === "cloudflare"
    ? `Cloudflare zone ${provider.zoneName ?? provider.zoneId ?? ""}`.trim()
    : `RFC 2136 to ${provider.nameserver} port ${provider.port}, zone ${provider.zone}, TSIG key ${provider.tsigKeyName}`;
}

/** `cdktf-tailnet-ddns.service` and `.timer`, as `[file name, text]`. */
export function renderDdnsUnits(tailnet: ResolvedTailnet, host: ResolvedHost, ddns: ResolvedDdns): [string, string][] {
  const secret = providerSecret(ddns.provider);
  const data = {
    host: host.name,
    tailnet: tailnet.name,
    records: describeRecords(ddns),
    provider: describeProvider(ddns.provider),
    timer: ddns.paths.timer,
    credential: secret.credential,
    secretFile: secret.file,
    script: ddns.paths.script,
    config: ddns.paths.config,
    stateDirectory: ddns.paths.stateDir.replace(/^\/var\/lib\//, ""),
    interval: ddns.interval,
    intervalSeconds: ddns.intervalSeconds,
  };
  return [
    [ddns.paths.service, renderTemplate("cdktf-tailnet-ddns.service", data)],
    [ddns.paths.timer, renderTemplate("cdktf-tailnet-ddns.timer", data)],
  ];
}

/** The updater's container image, for a Docker host. */
export function renderDdnsDockerfile(tailnet: ResolvedTailnet, host: ResolvedHost, ddns: ResolvedDdns): string {
  return renderTemplate("ddns.Dockerfile", {
    host: host.name,
    tailnet: tailnet.name,
    provider: ddns.provider.type,
    secretFile: providerSecret(ddns.provider).file,
    interval: ddns.interval,
    baseImage: HELPER_BASE_IMAGE,
    stateDir: ddns.paths.stateDir,
    script: ddns.paths.script,
    config: ddns.paths.config,
  });
}

/** Every updater file of every host, under `hosts/<host>/ddns/`. */
export function renderDdnsFiles(tailnet: ResolvedTailnet): RenderedFile[] {
  return tailnet.hosts.flatMap((host) => {
    const ddns = host.ddns;
    if (!ddns) return [];
    const dir = `${hostDir(host.name)}/ddns`;
    const files = [scriptFile(`${dir}/ddns-update.sh`, renderDdnsScript(tailnet, host)), publicFile(`${dir}/ddns.env`, renderDdnsEnv(tailnet, host, ddns))];
    if (host.docker) files.push(publicFile(`${dir}/Dockerfile`, renderDdnsDockerfile(tailnet, host, ddns)));
    else for (const [name, text] of renderDdnsUnits(tailnet, host, ddns)) files.push(publicFile(`${dir}/${name}`, text));
    return files;
  });
}
