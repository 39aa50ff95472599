/**
 * Hosts as VMs: for a VM target the services as systemd runs them (system user, directories,
 * program, whether a port below 1024 needs a capability) and how each binary gets there (a pinned
 * release file verified by SHA-256, or derper built on the VM from a pinned Go and Tailscale
 * release). The systemd, nftables and cloud-init renderers read only this. Also the rules of VM
 * targets.
 */
import type { CheckContext } from "./context.js";
import { DEFAULTS } from "./defaults.js";
import { DEFAULT_DERPER_VERSION, derperVersionOf } from "./derp.js";
import type { HostElement, VmElement } from "./elements.js";
import { checkFirewallOf, type HostServices } from "./firewall.js";
import { DERPER_PATHS, VM_PATHS } from "./paths.js";
import type { ResolvedDerpNode, ResolvedDerperInstall, ResolvedHeadscale, ResolvedHeadscaleInstall, ResolvedVm, ResolvedVmService } from "./resolved.js";
import type { DerpNodeSpec, VmTargetSpec } from "./spec.js";
import { findTailscaleRelease, goBuilds, goForTailscale } from "./tailscale-releases.js";

export { ANYWHERE } from "./firewall.js";

/** Go release derper is built with on a VM for the default Tailscale release (others: `goForTailscale`). */
export const DEFAULT_GO_VERSION = goForTailscale(DEFAULT_DERPER_VERSION);
/** sshd's port unless the spec says otherwise. */
export const DEFAULT_SSH_PORT: number = DEFAULTS.hosts.firewall.sshPort;

// ---------------------------------------------------------------------------------------------
// first pass

/** `hosts[].vm`, defaulted. */
export function defaultVm(vm: VmTargetSpec): VmElement {
  const d = DEFAULTS.hosts.vm;
  return {
    arch: vm.arch ?? d.arch,
    sshAuthorizedKeys: vm.sshAuthorizedKeys ?? d.sshAuthorizedKeys,
    headscale: vm.headscale && {
      kind: vm.headscale.kind ?? d.headscale.kind,
      url: vm.headscale.url,
      localFile: vm.headscale.localFile,
      sha256: vm.headscale.sha256,
    },
    derper: vm.derper,
  };
}

// ---------------------------------------------------------------------------------------------
// second pass

/** `/var/lib/<name>` -> `<name>` (systemd's StateDirectory= is relative to /var/lib). */
function underVarLib(path: string): string {
  if (!path.startsWith("/var/lib/")) throw new Error(`cdktf-tailnet: ${path} is not under /var/lib`);
  return path.slice("/var/lib/".length);
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** The GitHub release asset of a headscale version (goreleaser's name template). */
export function headscaleReleaseUrl(version: string, arch: string, kind: "binary" | "deb"): string {
  return `https://github.com/juanfont/headscale/releases/download/v${version}/headscale_${version}_linux_${arch}${kind === "deb" ? ".deb" : ""}`;
}

/** The official Go toolchain archive. */
export function goDownloadUrl(version: string, arch: string): string {
  return `https://go.dev/dl/go${version}.linux-${arch}.tar.gz`;
}

function unvalidated(what: string): never {
  throw new Error(`cdktf-tailnet: resolve() got a VM without ${what}; validate() the spec first`);
}

function headscaleService(hs: ResolvedHeadscale, install: ResolvedHeadscaleInstall): ResolvedVmService {
  const p = hs.paths;
  return {
    unit: "headscale.service",
    program: "headscale",
    description: `headscale ${hs.version.version}, coordination server for ${hs.serverUrl}`,
    user: "headscale",
    binaryPath: install.binaryPath,
    reloadsOnHup: true,
    workingDirectory: p.stateDir,
    // Before an upgrade or a rollback, the backup script runs in the unit (ExecStartPre) and writes its directory.
    stateDirectories: [underVarLib(p.stateDir), ...(hs.backup && hs.backup.beforeStart.length > 0 ? [underVarLib(hs.backup.paths.dir)] : [])],
    runtimeDirectory: p.runDir.replace(/^\/(var\/)?run\//, ""),
    configDirectory: p.configDir,
    environmentFile: hs.database.type === "postgres" ? `${p.configDir}/headscale.env` : undefined,
    bindsPrivilegedPorts: hs.listeners.some((l) => l.port < 1024),
    // AF_UNIX: the CLI's socket, and PostgreSQL over a socket.
    addressFamilies: ["AF_INET", "AF_INET6", "AF_UNIX"],
    listeners: hs.listeners,
  };
}

function derperService(node: ResolvedDerpNode, install: ResolvedDerperInstall, version: string): ResolvedVmService {
  const stateDir = dirname(DERPER_PATHS.keyFile);
  return {
    unit: "derper.service",
    program: "derper",
    description: `derper (Tailscale ${version}), DERP node ${node.name} at ${node.hostname}`,
    user: "derper",
    binaryPath: install.binaryPath,
    reloadsOnHup: false,
    workingDirectory: stateDir,
    stateDirectories: [underVarLib(stateDir), underVarLib(DERPER_PATHS.certDir)],
    runtimeDirectory: undefined,
    configDirectory: dirname(DERPER_PATHS.meshKeyFile),
    environmentFile: undefined,
    bindsPrivilegedPorts: node.derper.listeners.some((l) => l.port < 1024),
    addressFamilies: ["AF_INET", "AF_INET6"],
    listeners: node.derper.listeners,
  };
}

/** A VM target's services and installs; undefined when the host is not a VM target. */
export function resolveVm(host: HostElement, services: HostServices): ResolvedVm | undefined {
  const vm = host.vm;
  if (!vm) return undefined;
  const arch = vm.arch;
  const out: ResolvedVmService[] = [];
  const installs: (ResolvedHeadscaleInstall | ResolvedDerperInstall)[] = [];
  if (services.headscale) {
    const spec = vm.headscale ?? unvalidated("vm.headscale");
    const kind = spec.kind;
    const version = services.headscale.version.version;
    const install: ResolvedHeadscaleInstall = {
      program: "headscale",
      kind,
      version,
      url: spec.localFile === undefined ? (spec.url ?? headscaleReleaseUrl(version, arch, kind)) : undefined,
      localFile: spec.localFile,
      staged: spec.localFile === undefined ? undefined : `${VM_PATHS.uploadDir}/${kind === "deb" ? `headscale_${version}_linux_${arch}.deb` : "headscale"}`,
      sha256: spec.sha256.toLowerCase(),
      binaryPath: kind === "deb" ? "/usr/bin/headscale" : "/usr/local/bin/headscale",
    };
    installs.push(install);
    out.push(headscaleService(services.headscale, install));
  }
  const node = services.derpNodes[0];
  if (node) {
    const spec = vm.derper ?? unvalidated("vm.derper");
    const binaryPath = "/usr/local/bin/derper";
    // Go's release defaults to the one the kit picks for derper's Tailscale release, its URL to go.dev's archive of it.
    const goVersion = spec.source === "build" ? (spec.goVersion ?? goForTailscale(services.derperVersion)) : "";
    const install: ResolvedDerperInstall =
      spec.source === "build"
        ? {
            program: "derper",
            source: "build",
            tailscaleVersion: services.derperVersion,
            goVersion,
            goUrl: spec.goUrl ?? goDownloadUrl(goVersion, arch),
            goSha256: spec.goSha256.toLowerCase(),
            binaryPath,
          }
        : spec.source === "local"
          ? {
              program: "derper",
              source: "local",
              localFile: spec.localFile,
              staged: `${VM_PATHS.uploadDir}/derper`,
              sha256: spec.sha256.toLowerCase(),
              binaryPath,
            }
          : { program: "derper", source: "url", url: spec.url, sha256: spec.sha256.toLowerCase(), binaryPath };
    installs.push(install);
    out.push(derperService(node, install, services.derperVersion));
  }
  return { arch, sshAuthorizedKeys: vm.sshAuthorizedKeys, services: out, installs };
}

// ---------------------------------------------------------------------------------------------
// checks

const SHA256 = /^[0-9a-fA-F]{64}$/;
const DOWNLOAD_URL = /^(https?:\/\/[^/\s]+\/\S*|file:\/\/\/\S+)$/;
const SSH_PUBLIC_KEY = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;

function checkSha(issues: CheckContext["issues"], path: string, value: string | undefined, what: string): void {
  if (value !== undefined && !SHA256.test(value)) {
    issues.add(path, `${JSON.stringify(value)} is not a SHA-256 (64 hex digits)`, `write the SHA-256 of ${what} as 64 hex digits`);
  }
}

function checkUrl(issues: CheckContext["issues"], path: string, value: string | undefined): void {
  if (value !== undefined && !DOWNLOAD_URL.test(value)) {
    issues.add(
      path,
      `${JSON.stringify(value)} is not an https, http or file URL`,
      `write the full URL, e.g. "https://example.com/derper" (the SHA-256 is what is trusted)`,
    );
  }
}

function checkLocalFile(issues: CheckContext["issues"], path: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.trim() === "") issues.add(path, "is empty", `give the file's path on this machine, e.g. "dist/headscale"`);
  else if (value.includes("${")) {
    issues.add(
      path,
      `${JSON.stringify(value)} is a Terraform token; the file is read and hashed when the stack is synthesized`,
      "give a literal path on this machine",
    );
  }
}

/**
 * The rules of every host's firewall (firewall.ts) and of VM targets, host by host: what runs on a
 * VM needs an install section, pinned files, files its sandbox can see. A section the structural
 * check dropped (it was malformed) is not reported missing again.
 */
export function checkVm(ctx: CheckContext): void {
  const { spec, issues, warnings } = ctx;
  const rawHosts = (ctx.input as { hosts?: unknown } | undefined)?.hosts;
  const rawVm = (i: number, key: string): unknown =>
    Array.isArray(rawHosts) ? (rawHosts[i] as { vm?: Record<string, unknown> } | undefined)?.vm?.[key] : undefined;
  const headscaleVm = ctx.hosts.find(([h]) => h.name === spec.headscale?.host && h.vm !== undefined);
  if (headscaleVm) checkHeadscaleFilesOnVm(ctx);
  // derper's Tailscale release; an unknown one is reported by checkDerper, and builds nothing here.
  const tailscale = findTailscaleRelease(derperVersionOf(spec));
  const goDefault = tailscale ? goForTailscale(tailscale.version) : DEFAULT_GO_VERSION;
  const nodesByHost = new Map<string, DerpNodeSpec[]>();
  for (const { node } of ctx.nodes) {
    if (node.host === undefined) continue;
    const list = nodesByHost.get(node.host);
    if (list) list.push(node);
    else nodesByHost.set(node.host, [node]);
  }
  for (const [host, i] of ctx.hosts) {
    const path = `hosts[${i}]`;
    const fw = host.firewall;
    checkFirewallOf(ctx, host, i);
    const vm = host.vm;
    if (!vm) continue;
    if (host.docker) {
      issues.add(
        `${path}.vm`,
        "is set together with docker; a host runs its services either in Docker or under systemd on the VM",
        "remove one of vm and docker",
      );
    }
    if ((fw?.adminCidrs ?? []).length === 0) {
      warnings.add(
        `${path}.firewall.adminCidrs`,
        "is empty, so the VM's firewall closes SSH to everyone (sessions already open stay open)",
        `list the networks you administer the VM from, e.g. ["192.0.2.0/24"]`,
      );
    }
    for (const [key, j] of (vm.sshAuthorizedKeys ?? []).map((k, j) => [k, j] as const)) {
      if (key === undefined) continue;
      const at = `${path}.vm.sshAuthorizedKeys[${j}]`;
      if (/PRIVATE KEY/.test(key))
        issues.add(at, "is a private key; the spec never holds secrets", "give the public key (the .pub file) instead, and keep the private key where it was");
      else if (!SSH_PUBLIC_KEY.test(key.trim()))
        issues.add(
          at,
          `${JSON.stringify(key.length > 40 ? `${key.slice(0, 37)}...` : key)} is not an SSH public key`,
          `paste one line of a .pub file, e.g. "ssh-ed25519 AAAA... admin@laptop"`,
        );
    }
    const version = (spec.headscale?.version ?? "").replace(/^v/, "") || "<version>";
    const arch = vm.arch ?? DEFAULTS.hosts.vm.arch;
    if (spec.headscale?.host === host.name && vm.headscale === undefined && rawVm(i, "headscale") === undefined) {
      issues.add(
        `${path}.vm.headscale`,
        "is required: this VM runs headscale, and the SHA-256 of its release file cannot be defaulted",
        `add headscale: { sha256: "<64 hex digits>" }, taken from https://github.com/juanfont/headscale/releases (checksums.txt of the release, file headscale_<version>_linux_${arch})`,
      );
    }
    if (vm.headscale) {
      if (vm.headscale.url !== undefined && vm.headscale.localFile !== undefined) {
        issues.add(
          `${path}.vm.headscale.localFile`,
          "is set together with url; headscale is either downloaded by the VM or uploaded from this machine",
          "remove url or localFile",
        );
      }
      checkLocalFile(issues, `${path}.vm.headscale.localFile`, vm.headscale.localFile);
      checkUrl(issues, `${path}.vm.headscale.url`, vm.headscale.url);
      checkSha(issues, `${path}.vm.headscale.sha256`, vm.headscale.sha256, `headscale's release file (checksums.txt of release v${version})`);
    }
    const nodes = nodesByHost.get(host.name) ?? [];
    if (nodes.length > 1) {
      issues.add(
        path,
        `runs DERP nodes ${nodes.map((n) => JSON.stringify(n.name)).join(", ")}; a VM runs one derper (they would share /var/lib/derper)`,
        "give each DERP node a host of its own",
      );
    }
    if (nodes.length > 0 && vm.derper === undefined && rawVm(i, "derper") === undefined) {
      issues.add(
        `${path}.vm.derper`,
        `is required: this VM runs DERP node ${JSON.stringify(nodes[0]!.name)}, and derper has no release binary`,
        `add derper: { source: "build", goSha256: "<SHA-256 of go${goDefault}.linux-${arch}.tar.gz from https://go.dev/dl/>" }, or { source: "url", url: "...", sha256: "..." } for a binary of your own`,
      );
    }
    const d = vm.derper;
    if (d?.source === "build") {
      if (d.goVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(d.goVersion)) {
        issues.add(
          `${path}.vm.derper.goVersion`,
          `${JSON.stringify(d.goVersion)} is not a Go release`,
          `write a release such as "${goDefault}" (pinned, never "latest")`,
        );
      } else if (d.goVersion !== undefined && tailscale && !goBuilds(d.goVersion, tailscale)) {
        issues.add(
          `${path}.vm.derper.goVersion`,
          `Go ${d.goVersion} cannot build derper from Tailscale ${tailscale.version}: its go.mod needs go ${tailscale.goMin} (the build runs with GOTOOLCHAIN=local)`,
          `set goVersion to "${goDefault}" (with that archive's goSha256), or remove goVersion and the kit uses ${goDefault}`,
        );
      }
      checkUrl(issues, `${path}.vm.derper.goUrl`, d.goUrl);
      checkSha(issues, `${path}.vm.derper.goSha256`, d.goSha256, `go${d.goVersion ?? goDefault}.linux-${arch}.tar.gz (listed on https://go.dev/dl/)`);
    } else if (d?.source === "url") {
      checkUrl(issues, `${path}.vm.derper.url`, d.url);
      checkSha(issues, `${path}.vm.derper.sha256`, d.sha256, "your derper binary");
    } else if (d?.source === "local") {
      checkLocalFile(issues, `${path}.vm.derper.localFile`, d.localFile);
      checkSha(issues, `${path}.vm.derper.sha256`, d.sha256, "your derper binary");
    }
  }
}

/** Where the units' sandbox hides files from the service: ProtectHome=yes, PrivateTmp=yes. */
const HIDDEN_FROM_SERVICES = /^\/(home|root|run\/user|tmp|var\/tmp)(\/|$)/;

/** Files headscale reads on a VM must be visible inside its sandbox. */
function checkHeadscaleFilesOnVm(ctx: CheckContext): void {
  const issues = ctx.issues;
  const hs = ctx.spec.headscale;
  if (!hs) return;
  const tls = hs.tls?.mode === "files" ? hs.tls : undefined;
  const files: [string, string | undefined][] = [
    ["headscale.tls.certPath", tls?.certPath],
    ["headscale.tls.keyPath", tls?.keyPath],
    ["headscale.oidc.clientSecretPath", hs.oidc?.clientSecretPath],
    ["headscale.policy.path", hs.policy?.path],
    ["headscale.dns.extraRecordsPath", hs.dns?.extraRecordsPath],
  ];
  for (const [path, value] of files) {
    if (value === undefined) continue;
    if (value.includes("${CREDENTIALS_DIRECTORY}")) {
      issues.add(
        path,
        `${JSON.stringify(value)} names systemd credentials, but the kit's headscale unit on a VM loads none`,
        `give the file's absolute path, e.g. "/etc/headscale/${value.split("/").at(-1)}" (readable by the group headscale)`,
      );
    } else if (HIDDEN_FROM_SERVICES.test(value)) {
      issues.add(
        path,
        `${JSON.stringify(value)} is hidden from headscale by its unit's sandbox (ProtectHome=yes, PrivateTmp=yes)`,
        `put the file under /etc/headscale (readable by the group headscale) and give that path`,
      );
    }
  }
}
