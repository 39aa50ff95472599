/**
 * Where the kit puts things on the hosts it deploys to: derper's and headscale's files, the kit's
 * scripts, units and helper configuration, the default files holding secrets on a host. One
 * place, so every feature, renderer and construct names the same paths.
 */
import type { HeadscalePaths } from "./resolved.js";

/** Where secrets and the kit's helper configuration live on a host (root-owned). */
export const HOST_CONFIG_DIR = "/etc/cdktf-tailnet";

/** Where the kit puts things on a VM. */
export const VM_PATHS = {
  /** The install script and the marker of what derper was built from. */
  libDir: "/usr/local/lib/cdktf-tailnet",
  installScript: "/usr/local/lib/cdktf-tailnet/install.sh",
  /** Downloads and builds that may be reused on the next run. */
  cacheDir: "/var/cache/cdktf-tailnet",
  /**
   * Where files from the deploying machine land before the install script puts them in place
   * (0700, owned by the SSH user); binaries from `localFile` are expected here.
   */
  uploadDir: "/var/cache/cdktf-tailnet/upload",
  /** systemd units of the administrator (they take precedence over a package's). */
  unitDir: "/etc/systemd/system",
  /** What Debian's and Ubuntu's nftables.service loads. */
  nftablesConf: "/etc/nftables.conf",
} as const;

/** derper's manual-mode file name for a host name (cmd/derper/cert.go keyname): `<base>.crt` and `<base>.key` in its certificate directory. */
export function derperCertFileBase(hostname: string): string {
  return hostname.replace(/[^a-zA-Z0-9-.]/g, "");
}

/** Where one derper process keeps its files: its command line is rendered with these as parameters. */
export interface DerperFiles {
  /** Node private key (`-c`); derper creates it on first start. */
  readonly keyFile: string;
  /** ACME cache or manual certificates (`-certdir`). */
  readonly certDir: string;
  /** The region's mesh key (`-mesh-psk-file`). */
  readonly meshKeyFile: string;
}

/** Where derper keeps its files, in its container or on its host. */
export const DERPER_PATHS = {
  /** Node private key (`-c`); derper creates it on first start. */
  keyFile: "/var/lib/derper/derper.key",
  /** ACME cache or manual certificates (`-certdir`). */
  certDir: "/var/lib/derper/certs",
  /** The region's mesh key (`-mesh-psk-file`). */
  meshKeyFile: "/etc/derper/mesh.key",
} as const;

/** Where the official package and image keep headscale's files. */
export const DEFAULT_HEADSCALE_PATHS: HeadscalePaths = {
  configDir: "/etc/headscale",
  stateDir: "/var/lib/headscale",
  runDir: "/var/run/headscale",
};

/** headscale's files in its state directory (the names config.yaml gives them). */
export const HEADSCALE_STATE_FILES = {
  database: "db.sqlite",
  noiseKey: "noise_private.key",
  derpKey: "derp_server_private.key",
} as const;

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

/** The updater's files and units on a host. */
export const DDNS_PATHS = {
  script: `${VM_PATHS.libDir}/ddns-update.sh`,
  config: `${HOST_CONFIG_DIR}/ddns.env`,
  /** The last address published per record, so an unchanged address sends nothing. */
  stateDir: "/var/lib/cdktf-tailnet-ddns",
  service: "cdktf-tailnet-ddns.service",
  timer: "cdktf-tailnet-ddns.timer",
} as const;

/** Default files on the host holding the DNS secrets (0600 root); the spec can name others. */
export const DNS_SECRET_FILES = {
  cloudflareToken: `${HOST_CONFIG_DIR}/cloudflare-token`,
  tsigSecret: `${HOST_CONFIG_DIR}/tsig.secret`,
} as const;

/** Where the kit keeps the backup script, its settings, the backups and the units on a host. */
export const BACKUP_PATHS = {
  script: `${VM_PATHS.libDir}/headscale-backup.sh`,
  config: `${HOST_CONFIG_DIR}/headscale-backup.env`,
  /** One directory per backup (and, in a container, a volume of its own). */
  dir: "/var/lib/headscale-backup",
  service: "cdktf-tailnet-headscale-backup.service",
  timer: "cdktf-tailnet-headscale-backup.timer",
} as const;

/** Default files on the host holding restic's secrets (0600 root); the spec can name others. */
export const RESTIC_SECRET_FILES = {
  password: `${HOST_CONFIG_DIR}/restic-password`,
  sshKey: `${HOST_CONFIG_DIR}/restic-ssh-key`,
  sshKnownHosts: `${HOST_CONFIG_DIR}/restic-known-hosts`,
} as const;
