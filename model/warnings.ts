/**
 * The model's warnings: legal but risky choices, and what a deployment still needs from its
 * operator. They are decided here and only here: `validate()` returns them, the resolved model
 * carries them, the CLI prints them and the constructs annotate them word for word.
 */
import type { ModelWarning, ValidationIssue, WarningSubject } from "./issues.js";
import type { ResolvedTailnet } from "./resolved.js";
import { nonStandardNodePrefixes } from "./policy.js";
import type { TailnetSpec } from "./spec.js";
import { allNodes, hostNamed } from "./walk.js";
import { DERPER_PATHS, RESTIC_SECRET_FILES } from "./paths.js";

const NODE_PATH = /^derp\.regions\[(\d+)\]\.nodes\[(\d+)\]/;
const HOST_PATH = /^hosts\[(\d+)\]/;

/** What a validation warning at `path` of `spec` is about (its node or host by name). */
export function subjectOfPath(path: string, spec: TailnetSpec): WarningSubject {
  const node = NODE_PATH.exec(path);
  if (node) {
    const name = spec.derp?.regions?.[Number(node[1])]?.nodes?.[Number(node[2])]?.name;
    if (typeof name === "string") return { kind: "derp-node", node: name };
  }
  const host = HOST_PATH.exec(path);
  if (host) {
    const name = spec.hosts?.[Number(host[1])]?.name;
    if (typeof name === "string") return { kind: "host", host: name };
  }
  if (path === "headscale" || path.startsWith("headscale.")) return { kind: "headscale" };
  if (path === "dns" || path.startsWith("dns.")) return { kind: "dns" };
  return { kind: "tailnet" };
}

/** Validation warnings with their subjects. */
export function withSubjects(warnings: readonly ValidationIssue[], spec: TailnetSpec): ModelWarning[] {
  return warnings.map((w) => ({ ...w, subject: subjectOfPath(w.path, spec) }));
}

/**
 * What of headscale's state no backup protects: everything when nothing runs backups (no host, or
 * scheduled backups off), the PostgreSQL database (the kit backs up its keys only), and, without
 * off-host copies, the backups themselves when the host is lost.
 */
function stateWarnings(tailnet: Omit<ResolvedTailnet, "warnings">): ModelWarning[] {
  const hs = tailnet.headscale;
  const subject = { kind: "headscale" } as const;
  const sqlite = hs.database.type === "sqlite";
  const what = sqlite ? "the whole tailnet's state, its private keys and its SQLite database" : "its private keys";
  const backup = hs.backup;
  if (!backup?.schedule) {
    const why = backup ? "scheduled backups are off (headscale.backup.enabled: false)" : "headscale names no host, so the kit deploys nothing that backs it up";
    return [
      {
        path: backup ? "headscale.backup.enabled" : "headscale",
        message: `headscale keeps ${what} in ${hs.paths.stateDir}${hs.host === undefined ? "" : ` on host ${hs.host}`}, and ${why}: losing it means every node registers again`,
        fix: backup
          ? "remove enabled: false (the kit then snapshots the database and keys on a schedule), or back the state up by other means"
          : `back ${hs.paths.stateDir} up on a schedule (the database with sqlite3's .backup or VACUUM INTO, not a file copy of a live database), or set headscale.host`,
        subject,
      },
    ];
  }
  const warnings: ModelWarning[] = [];
  if (!sqlite) {
    warnings.push({
      path: "headscale.database",
      message:
        "the kit backs up headscale's private keys only: nothing of the kit backs up the PostgreSQL database, which holds every node, user, key and route",
      fix: "back the database up with PostgreSQL's own tools (pg_dump or continuous archiving) on its own schedule",
      subject,
    });
  }
  if (!backup.restic) {
    warnings.push({
      path: "headscale.backup.restic",
      message: `headscale's backups stay on host ${hs.host} (${backup.paths.dir}${backup.runs === "container" ? ", a volume on its Docker engine" : ""}): losing the host loses the tailnet's state and every backup of it`,
      fix: `add headscale.backup.restic with a repository off the host, e.g. { repository: "sftp:backup@backup.example.com:/srv/restic/headscale" } (its password in ${RESTIC_SECRET_FILES.password} on the host)`,
      subject,
    });
  }
  return warnings;
}

function unaddressedWarnings(tailnet: Omit<ResolvedTailnet, "warnings">): ModelWarning[] {
  const zone = tailnet.dns;
  if (!zone) return [];
  return zone.unaddressed.map((name) => {
    const hostName = [
      tailnet.headscale.serverHost === name ? tailnet.headscale.host : undefined,
      ...allNodes(tailnet)
        .filter((n) => n.hostname === name)
        .map((n) => n.host),
    ].find((h) => h !== undefined);
    const host = hostNamed(tailnet, hostName);
    return host?.ddns
      ? {
          path: "dns",
          message: `no DNS record for ${name} is created at deploy time: host ${host.name} has no address in the spec; its dynamic-DNS updater creates the record when it first runs`,
          fix: `nothing, if the updater on ${host.name} runs; give the host publicIpv4/publicIpv6 to have the record from the first deploy`,
          subject: { kind: "dns" },
        }
      : {
          path: "dns",
          message: `no DNS record for ${name}: host ${hostName ?? "(none)"} has no address in the spec and nothing updates one`,
          fix: `give host ${hostName ?? "(none)"} publicIpv4/publicIpv6, or dynamicIp: true with ddns`,
          subject: { kind: "dns" },
        };
  });
}

function certificateWarnings(tailnet: Omit<ResolvedTailnet, "warnings">): ModelWarning[] {
  return allNodes(tailnet).flatMap((node): ModelWarning[] => {
    const d = node.derper;
    if (d.certificateSource !== "manual" || d.certificateFiles !== undefined || node.insecureForTests) return [];
    const at = `host ${node.host ?? "(none)"}`;
    const path = `${node.specPath}.certificate`;
    return [
      node.hostnameIsIp
        ? {
            path,
            message: `DERP node ${node.name} (${node.hostname}) has no certificate files in the spec: unless ${d.certFileBase}.crt and .key are in ${DERPER_PATHS.certDir} on ${at}, derper generates a new self-signed certificate at its first start, which clients refuse unless certName is its sha256-raw pin`,
            fix: `give certificate.certFile and certificate.keyFile (the certificate certName pins), or use certificate mode "self-signed" (the kit issues and pins one)`,
            subject: { kind: "derp-node", node: node.name },
          }
        : {
            path,
            message: `DERP node ${node.name} serves TLS from certificate files (derper -certmode=manual) that the spec does not give: derper does not start until ${d.certFileBase}.crt and ${d.certFileBase}.key are in ${DERPER_PATHS.certDir} on ${at} (on a Docker host, in the node's data volume)`,
            fix: `give certificate.certFile and certificate.keyFile, or use certificate mode "letsencrypt" (DERP on 443) or "dns-01"`,
            subject: { kind: "derp-node", node: node.name },
          },
    ];
  });
}

/**
 * Routes and exit nodes nothing auto-approves: the spec has no policy and headscale's is the
 * user's own (in its database, or a file the spec names), so the kit derives none (model/policy.ts).
 */
function approvalWarnings(tailnet: Omit<ResolvedTailnet, "warnings">): ModelWarning[] {
  if (tailnet.policy) return [];
  const advertised = tailnet.devices.flatMap((d) => [...d.advertiseRoutes.map((r) => `${r} of ${d.name}`), ...(d.exitNode ? [`exit node ${d.name}`] : [])]);
  if (advertised.length === 0) return [];
  const hs = tailnet.headscale;
  const where = hs.policy.mode === "database" ? 'the policy in headscale\'s database (headscale.policy.mode "database")' : `your policy file ${hs.policy.path}`;
  const shown = advertised.length > 5 ? `${advertised.slice(0, 5).join(", ")} and ${advertised.length - 5} more` : advertised.join(", ");
  return [
    {
      path: "policy",
      message: `${shown} wait for \`headscale nodes approve-routes\` unless ${where} auto-approves them: the kit renders no policy beside yours`,
      fix: `add them to the autoApprovers of ${where}, or give the spec a policy (the kit then renders it with those autoApprovers derived from the devices)`,
      subject: { kind: "tailnet" },
    },
  ];
}

/**
 * `*` in the spec's ACLs on headscale 0.29, whose `*` no longer holds a non-standard node prefix:
 * rules meant for every node leave these nodes out (the kit's own allow-all names the prefixes).
 */
function wildcardWarnings(tailnet: Omit<ResolvedTailnet, "warnings">): ModelWarning[] {
  const hs = tailnet.headscale;
  const extra = nonStandardNodePrefixes(hs.prefixes);
  if (tailnet.policy?.origin !== "spec" || extra.length === 0 || !hs.version.minor.features.wildcardIsTailscaleRanges) return [];
  return tailnet.policy.acls.flatMap((rule, i): ModelWarning[] => {
    const src = rule.src.includes("*") && !extra.every((p) => rule.src.includes(p));
    const dst = rule.dst.some((d) => d.startsWith("*:")) && !extra.every((p) => rule.dst.some((d) => d.startsWith(`${p}:`)));
    if (!src && !dst) return [];
    return [
      {
        path: `policy.acls[${i}]`,
        message: `headscale ${hs.version.version} reads "*" as 100.64.0.0/10, fd7a:115c:a1e0::/48 and the approved routes, which do not hold this tailnet's nodes (${extra.join(", ")}): the rule leaves them out`,
        fix: `name ${extra.join(" and ")} beside "*"${dst ? ` (in dst as ${extra.map((p) => `"${p}:<ports>"`).join(", ")})` : ""}, or use the standard prefixes`,
        subject: { kind: "tailnet" },
      },
    ];
  });
}

/** The warnings that follow from the resolved model itself, in a fixed order. */
export function deriveWarnings(tailnet: Omit<ResolvedTailnet, "warnings">): ModelWarning[] {
  return [
    ...stateWarnings(tailnet),
    ...certificateWarnings(tailnet),
    ...unaddressedWarnings(tailnet),
    ...approvalWarnings(tailnet),
    ...wildcardWarnings(tailnet),
  ];
}

/** Whether two subjects are the same part of the tailnet. */
export function sameSubject(a: WarningSubject, b: WarningSubject): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "derp-node") return a.node === (b as typeof a).node;
  if (a.kind === "host") return a.host === (b as typeof a).host;
  return true;
}
