/**
 * cloud-init user-data for a VM host: brings a fresh Debian 12+ / Ubuntu 22.04+ VM to the
 * running state. cloud-init creates the services' system users, writes the files (headscale's
 * configuration, the units, nftables.conf, the install script) once the users exist, and runs the
 * install script (templates/vm-install.sh.hbs), which loads the firewall, installs the binaries at
 * pinned versions verified by SHA-256 and starts the services.
 *
 * Built as an object and serialised; file contents are YAML block literals. Nothing secret is in
 * it (user-data is readable through the cloud's metadata service): mesh keys, certificate keys and
 * database passwords are put on the VM by other means, and the script says where.
 */
import { posix } from "node:path";
import { DERPER_PATHS, VM_PATHS, type ResolvedDerperInstall, type ResolvedHeadscaleInstall, type ResolvedHost, type PreparedTailnet } from "../model/index.js";
import { renderDerpYaml } from "./derp-yaml.js";
import { renderHeadscaleConfig } from "./headscale-config.js";
import { renderNftables } from "./nftables.js";
import { renderPolicy } from "./policy.js";
import { renderSystemdUnits } from "./systemd.js";
import { dnsHelperInstall } from "./dns-host-files.js";
import { UnwritableValueError } from "./escape/refuse.js";
import { backupInstall } from "./backup.js";
import { renderTemplate } from "./templates.js";
import { gzipSync } from "node:zlib";
import { BlockLiteral, toYaml } from "./yaml-text.js";
import { nodesOfHost } from "../model/walk.js";

/** A file cloud-init writes on the VM. */
export interface VmFile {
  readonly path: string;
  readonly content: string;
  /** `user:group`. */
  readonly owner: string;
  readonly permissions: string;
}

/** A path on the VM: absolute and normalised (no `..`, `.`, `//`, trailing `/`), so a file lands where it says. */
function vmPath(path: string): string {
  if (!path.startsWith("/") || posix.normalize(path) !== path || path.endsWith("/") || /[\0\n\r]/.test(path)) {
    throw new UnwritableValueError("a VM file path", path, "it is not an absolute, normalised path");
  }
  return path;
}

/** What the operator still has to do by hand (secrets the user-data must not carry). */
export function vmNotes(tailnet: PreparedTailnet, host: ResolvedHost): string[] {
  const notes: string[] = [];
  if (host.runs.headscale) {
    const hs = tailnet.headscale;
    if (hs.tls.mode === "files") notes.push(`headscale reads ${hs.tls.certPath} and ${hs.tls.keyPath}: put them there, readable by the group headscale`);
    if (hs.database.type === "postgres")
      notes.push(`put HEADSCALE_DATABASE_POSTGRES_PASS=<password> into ${hs.paths.configDir}/headscale.env (0640 root:headscale), then restart headscale`);
    if (hs.oidc) notes.push(`headscale reads the OIDC client secret from ${hs.oidc.clientSecretPath}: put it there, readable by the group headscale`);
  }
  const node = nodesOfHost(tailnet, host)[0];
  if (node && host.vm?.services.some((s) => s.program === "derper")) {
    if (node.derper.mesh.length > 0)
      notes.push(`derper restarts until the region's mesh key is in ${DERPER_PATHS.meshKeyFile} (64 hex digits, 0640 root:derper)`);
    const base = `${DERPER_PATHS.certDir}/${node.derper.certFileBase}`;
    const files = `${base}.crt and ${base}.key (owned by derper, the key 0600)`;
    switch (node.derper.certificateSource) {
      case "letsencrypt":
        break;
      case "dns-01":
        notes.push(`derper restarts until the DNS-01 ACME client (hosts/${host.name}/acme/) has put ${files}`);
        break;
      case "self-signed":
        notes.push(`derper restarts until the kit-issued self-signed certificate and key (from the secrets directory) are in ${files}`);
        break;
      default:
        notes.push(
          node.hostnameIsIp && node.derper.certificateFiles === undefined
            ? `derper serves ${base}.crt and .key, and generates a self-signed pair there if both are missing`
            : `derper restarts until ${files} are there: copy them, then restart derper`,
        );
    }
  }
  for (const install of host.vm?.installs ?? []) {
    if ("localFile" in install && install.localFile !== undefined) {
      notes.push(
        `copy ${install.localFile} (SHA-256 ${install.sha256}) from the deploying machine to ${install.staged} (the VmHost construct uploads it over SSH)`,
      );
    }
  }
  notes.push(...dnsHelperInstall(tailnet, host).notes, ...backupInstall(tailnet, host).notes);
  return notes;
}

function installData(host: ResolvedHost) {
  const installs = host.vm?.installs ?? [];
  const hs = installs.find((i): i is ResolvedHeadscaleInstall => i.program === "headscale");
  const derper = installs.find((i): i is ResolvedDerperInstall => i.program === "derper");
  return {
    headscale: hs
      ? {
          version: hs.version,
          deb: hs.kind === "deb",
          url: hs.url ?? false,
          staged: hs.staged ?? false,
          sha256: hs.sha256,
          file: hs.kind === "deb" ? `${VM_PATHS.cacheDir}/headscale_${hs.version}_linux_${host.vm!.arch}.deb` : hs.binaryPath,
          unitDir: VM_PATHS.unitDir,
        }
      : false,
    derperUrl:
      derper?.source === "url" || derper?.source === "local"
        ? {
            url: derper.source === "url" ? derper.url : false,
            staged: derper.source === "local" ? derper.staged : false,
            sha256: derper.sha256,
            binaryPath: derper.binaryPath,
          }
        : false,
    derperBuild:
      derper?.source === "build"
        ? {
            tailscaleVersion: derper.tailscaleVersion,
            goVersion: derper.goVersion,
            goRoot: `${VM_PATHS.libDir}/go${derper.goVersion}`,
            goUrl: derper.goUrl,
            goSha256: derper.goSha256,
            goArchive: `${VM_PATHS.cacheDir}/go${derper.goVersion}.linux-${host.vm!.arch}.tar.gz`,
            binaryPath: derper.binaryPath,
            stamp: `tailscale.com/cmd/derper@v${derper.tailscaleVersion} go${derper.goVersion}`,
            stampFile: `${VM_PATHS.libDir}/derper.built`,
          }
        : false,
  };
}

/** Debian packages the host's helpers run (DNS helpers, backups), sorted. */
function helperPackages(tailnet: PreparedTailnet, host: ResolvedHost): string[] {
  return [...new Set([...dnsHelperInstall(tailnet, host).packages, ...backupInstall(tailnet, host).packages])].sort();
}

/** The install script cloud-init runs. */
export function renderVmInstallScript(tailnet: PreparedTailnet, host: ResolvedHost): string {
  const services = host.vm?.services ?? [];
  return renderTemplate("vm-install.sh", {
    host: host.name,
    tailnet: tailnet.name,
    programList: services.map((s) => s.program).join(" and ") || "nothing",
    programs: (host.vm?.installs ?? []).map((i) => i.program),
    units: services.map((s) => s.unit),
    nftablesConf: VM_PATHS.nftablesConf,
    ...installData(host),
    users: services.map((s) => ({ name: s.user, home: s.workingDirectory })),
    configDirs: services.map((s) => ({ path: s.configDirectory, group: s.user })),
    stateDirs: [
      ...services.flatMap((s) => s.stateDirectories.map((d) => ({ path: `/var/lib/${d}`, user: s.user }))),
      ...backupInstall(tailnet, host).directories.map((d) => ({ path: d.path, user: d.user })),
    ],
    packages: helperPackages(tailnet, host),
    timers: [...dnsHelperInstall(tailnet, host).timers, ...backupInstall(tailnet, host).timers],
    notes: vmNotes(tailnet, host),
  });
}

/** Every file cloud-init writes on the VM, in the order it writes them; each path absolute and normalised. */
export function vmFiles(tailnet: PreparedTailnet, host: ResolvedHost): VmFile[] {
  const files = vmFilesUnchecked(tailnet, host);
  for (const f of files) vmPath(f.path);
  return files;
}

function vmFilesUnchecked(tailnet: PreparedTailnet, host: ResolvedHost): VmFile[] {
  if (!host.vm) return [];
  const files: VmFile[] = [];
  if (host.runs.headscale) {
    const hs = tailnet.headscale;
    files.push({ path: `${hs.paths.configDir}/config.yaml`, content: renderHeadscaleConfig(tailnet), owner: "root:headscale", permissions: "0640" });
    for (const path of hs.derpMapPaths) files.push({ path, content: renderDerpYaml(tailnet), owner: "root:headscale", permissions: "0640" });
    const policy = renderPolicy(tailnet);
    if (policy !== undefined) files.push({ path: hs.policy.path, content: policy, owner: "root:headscale", permissions: "0640" });
  }
  for (const [unit, content] of renderSystemdUnits(tailnet, host)) {
    files.push({ path: `${VM_PATHS.unitDir}/${unit}`, content, owner: "root:root", permissions: "0644" });
  }
  files.push(...dnsHelperInstall(tailnet, host).files, ...backupInstall(tailnet, host).files);
  files.push({ path: VM_PATHS.nftablesConf, content: renderNftables(tailnet, host), owner: "root:root", permissions: "0755" });
  files.push({ path: VM_PATHS.installScript, content: renderVmInstallScript(tailnet, host), owner: "root:root", permissions: "0700" });
  return files;
}

function literal(text: string): BlockLiteral {
  return new BlockLiteral(text);
}

/** The user-data as a plain object (file contents as strings). */
export function cloudInitObject(tailnet: PreparedTailnet, host: ResolvedHost): Record<string, unknown> {
  const vm = host.vm;
  if (!vm) throw new Error(`cdktf-tailnet: host ${host.name} is not a VM target`);
  return {
    users: ["default", ...vm.services.map((s) => ({ name: s.user, system: true, homedir: s.workingDirectory, shell: "/usr/sbin/nologin", lock_passwd: true }))],
    ...(vm.sshAuthorizedKeys.length > 0 && { ssh_authorized_keys: [...vm.sshAuthorizedKeys] }),
    ...(helperPackages(tailnet, host).length > 0 && { package_update: true, packages: helperPackages(tailnet, host) }),
    // Deferred: written in the final stage, once the users (and so the groups) exist.
    write_files: vmFiles(tailnet, host).map((f) => ({ path: f.path, owner: f.owner, permissions: f.permissions, defer: true, content: f.content })),
    runcmd: [["sh", VM_PATHS.installScript]],
  };
}

/** What most clouds accept as user-data, in bytes (EC2 counts them before base64). */
export const USER_DATA_LIMIT = 16 * 1024;

/** Renders cloud-init.yaml (`#cloud-config` user-data). */
export function renderCloudInit(tailnet: PreparedTailnet, host: ResolvedHost): string {
  const object = cloudInitObject(tailnet, host);
  const files = object.write_files as { content: string }[];
  for (const f of files) (f as { content: unknown }).content = literal(f.content);
  const header = [
    "cloud-config",
    ` Rendered by cdktf-tailnet for host "${host.name}" (tailnet "${tailnet.name}"); do not edit.`,
    ` Brings a fresh Debian 12+ / Ubuntu 22.04+ VM to the running state: system users, files,`,
    ` then ${VM_PATHS.installScript} (firewall, binaries verified by SHA-256, services).`,
    ...vmNotes(tailnet, host).map((n) => ` By hand: ${n}.`),
  ].join("\n");
  return toYaml(object, header);
}

/**
 * The user-data gzipped, then base64-encoded (what EC2's `user_data_base64` and most cloud APIs
 * take; cloud-init decompresses it): for a cloud-init.yaml at or above {@link USER_DATA_LIMIT},
 * whose gzip stays far below it. Deterministic (no time stamp in the gzip header).
 */
export function renderCloudInitGzipBase64(userData: string): string {
  return `${gzipSync(Buffer.from(userData, "utf8"), { level: 9 }).toString("base64")}\n`;
}
