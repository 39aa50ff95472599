/**
 * What a systemd host (a VM target, or any Debian/Ubuntu machine set up by hand) needs for its
 * DNS helpers, by absolute path on the host: the DDNS updater (render/ddns.ts) and the DNS-01 ACME
 * clients of its DERP nodes (render/acme.ts), with the Debian packages they use, the timers (and
 * path units) to enable, and what an operator must still put there (the secret files). cloud-init
 * wiring: write `files` (after the packages are installed), then `systemctl enable --now` every
 * one of `timers`.
 */
import { VM_PATHS, type ResolvedHost, type ResolvedTailnet } from "../model/index.js";
import { acmeNodesOf, renderAcmeEnv, renderAcmeUnits } from "./acme.js";
import { providerSecret, renderDdnsEnv, renderDdnsScript, renderDdnsUnits } from "./ddns.js";
import { renderTemplate } from "./templates.js";

/** A file for the host. */
export interface HostHelperFile {
  readonly path: string;
  readonly content: string;
  readonly owner: string;
  readonly permissions: string;
}

/** The DNS helpers of one host, ready to install. */
export interface DnsHelperInstall {
  readonly files: readonly HostHelperFile[];
  /** Debian packages the scripts run (sorted). */
  readonly packages: readonly string[];
  /** Units that start the helpers, to `systemctl enable --now`: timers, and the ACME clients' path units. */
  readonly timers: readonly string[];
  /** What the operator must do by hand: the secrets, which no rendered file carries. */
  readonly notes: readonly string[];
}

const file = (path: string, content: string, permissions: string): HostHelperFile => ({ path, content, owner: "root:root", permissions });

/** The host's DNS helpers; empty when it has none. Only for hosts that are not Docker targets. */
export function dnsHelperInstall(tailnet: ResolvedTailnet, host: ResolvedHost): DnsHelperInstall {
  const files: HostHelperFile[] = [];
  const packages = new Set<string>();
  const timers: string[] = [];
  const secrets = new Map<string, string>();
  const ddns = host.ddns;
  if (ddns) {
    files.push(file(ddns.paths.script, renderDdnsScript(tailnet, host), "0755"), file(ddns.paths.config, renderDdnsEnv(tailnet, host, ddns), "0644"));
    for (const [unit, text] of renderDdnsUnits(tailnet, host, ddns)) files.push(file(`${VM_PATHS.unitDir}/${unit}`, text, "0644"));
    timers.push(ddns.paths.timer);
    for (const p of ddns.provider.type === "cloudflare" ? ["curl", "jq", "ca-certificates"] : ["bind9-dnsutils"]) packages.add(p);
    if (ddns.ipv4?.kind === "url" || ddns.ipv6?.kind === "url") packages.add("curl").add("ca-certificates");
    if (ddns.ipv4?.kind === "interface" || ddns.ipv6?.kind === "interface") packages.add("iproute2");
    const s = providerSecret(ddns.provider);
    secrets.set(s.file, ddns.provider.type === "cloudflare" ? "the Cloudflare API token" : `the TSIG secret of key ${ddns.provider.tsigKeyName}`);
  }
  const nodes = acmeNodesOf(tailnet, host);
  if (nodes.length > 0) {
    const acme = nodes[0]!.derper.acme;
    const data = { host: host.name, tailnet: tailnet.name };
    files.push(
      file(acme.paths.script, renderTemplate("acme-renew.sh", data), "0755"),
      file(acme.paths.hook, renderTemplate("acme-install-cert.sh", data), "0755"),
    );
    packages.add("lego").add("ca-certificates");
    for (const node of nodes) {
      const a = node.derper.acme;
      files.push(file(a.paths.config, renderAcmeEnv(tailnet, node, a), "0644"));
      for (const [unit, text] of renderAcmeUnits(tailnet, host, node, a)) files.push(file(`${VM_PATHS.unitDir}/${unit}`, text, "0644"));
      // The path unit first: it must watch derper's certificate before the first issuance.
      timers.push(a.paths.installedPath, a.paths.timer);
      const s = providerSecret(a.provider);
      secrets.set(s.file, a.provider.type === "cloudflare" ? "the Cloudflare API token" : `the TSIG secret of key ${a.provider.tsigKeyName}`);
    }
  }
  const notes = [...secrets].map(([path, what]) => `put ${what} into ${path} (0600 root:root); the DNS helpers read it from there`);
  return { files, packages: [...packages].sort(), timers, notes };
}
