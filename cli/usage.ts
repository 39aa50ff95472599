/**
 * The usage of the CLI and of each command but `lab` (cli/lab.ts): what `--help` prints, and what
 * a usage error shows. Each command's options are declared here, next to the text that
 * explains them.
 */
import type { CommandSpec, Options } from "./args.js";

const SECRETS_DIR = `    --secrets-dir <dir>   where kit-issued certificates and keys are kept
                          (default: $CDKTF_TAILNET_SECRETS_DIR or ./.cdktf-tailnet-secrets)`;

const SPEC = `<spec> is a tailnet.yaml (or .yml, .json), or a .ts/.js module whose default export is the spec.`;

/** The whole CLI's usage (`cdktf-tailnet --help`). */
export const USAGE = `usage: cdktf-tailnet <command> [options]
  validate <spec>                check a spec, report every problem with its fix
  render <spec> [--out <dir>]    write every rendered file, replacing <dir> whole
  bootstrap <spec> --via <how>   create users and pre-auth keys in the running headscale
  doctor <spec>                  check a running deployment from outside
  restore <spec> --via <how>     list headscale's backups, restore one (verified first)
  lab <spec>                     run the whole tailnet on this machine and check it
  lab down                       stop a running lab, remove what a killed one left
  versions                       headscale and Tailscale releases, defaults, known advisories
  help <command>, <command> --help   that command's options
  --version                      the kit's version
${SPEC}
exit codes: 0 success, 1 the spec has problems or a check failed, 2 usage or file error`;

export const VALIDATE = {
  name: "validate",
  usage: `usage: cdktf-tailnet validate <spec>
  check the spec and report every problem at once, each with its path and fix; writes nothing
${SPEC}
exit codes: 0 valid, 1 the spec has problems, 2 usage or file error`,
  options: {},
} as const satisfies CommandSpec<Options>;

export const RENDER = {
  name: "render",
  usage: `usage: cdktf-tailnet render <spec> [--out <dir>] [--secrets-dir <dir>]
  validate the spec and write every rendered file into <dir>, replacing it whole: a kill at any
  moment leaves the old tree or the new one, and the next render finishes or undoes what a killed
  one left (and says so)
  options:
    -o, --out <dir>       where to write (default: out): a new or empty directory, or one render
                          wrote and nobody changed since; never a symbolic link
${SECRETS_DIR}
${SPEC}
exit codes: 0 written, 1 the spec has problems (nothing written), 2 usage or file error`,
  options: { out: { type: "string", short: "o" }, "secrets-dir": { type: "string" } },
} as const satisfies CommandSpec<Options>;

export const BOOTSTRAP = {
  name: "bootstrap",
  usage: `usage: cdktf-tailnet bootstrap <spec> --via <how> [--rotate-keys] [--show-keys] [--secrets-dir <dir>]
  create the spec's users and pre-auth keys in the running headscale, and print how each device joins
  options:
    --via <how>           how to reach the headscale CLI: local:<headscale binary>[,<config.yaml>],
                          docker:<container>[@ssh://user@host] or ssh:<user@host>
    --rotate-keys         replace the keys created before
    --show-keys           put the keys in the join commands (default: file: references to 0600 files)
${SECRETS_DIR}
${SPEC}
exit codes: 0 done, 1 the spec has problems, 2 usage or file error`,
  options: { via: { type: "string" }, "rotate-keys": { type: "boolean" }, "show-keys": { type: "boolean" }, "secrets-dir": { type: "string" } },
} as const satisfies CommandSpec<Options>;

export const DOCTOR = {
  name: "doctor",
  usage: `usage: cdktf-tailnet doctor <spec> [--json] [--dns-server <ip[:port]>] [--resolve <host>=<address>]...
                            [--ca-file <pem>] [--secrets-dir <dir>] [--via <how>]
  check a running deployment from outside: DNS, headscale /health /key /verify over TLS, each DERP
  node's certificate or pin, /derp/probe, STUN, port 80; with --via, headscale's newest backup
  options:
    --json                print the findings as JSON
    --dns-server <ip[:port]>     resolve names with this server (default: the system's)
    --resolve <host>=<address>   use this address for <host> instead of DNS (repeatable)
    --ca-file <pem>       also trust the CA certificates in this file
    --via <how>           also check headscale's newest backup (its age against the schedule, its
                          integrity), reached as restore reaches it: local:<binary>[,<config>],
                          docker:<container>[@ssh://user@host] or ssh:<user@host>
${SECRETS_DIR}
${SPEC}
exit codes: 0 every check passed, 1 a check failed or the spec has problems, 2 usage or file error`,
  options: {
    json: { type: "boolean" },
    "dns-server": { type: "string" },
    resolve: { type: "string", multiple: true },
    "ca-file": { type: "string" },
    "secrets-dir": { type: "string" },
    via: { type: "string" },
  },
} as const satisfies CommandSpec<Options>;

export const RESTORE = {
  name: "restore",
  usage: `usage: cdktf-tailnet restore <spec> --via <how> [--backup <name>] [--list] [--json]
  restore a backup of headscale's state (its database and keys): list the backups on headscale's
  host and in its restic repository, verify the chosen one (checksums, PRAGMA integrity_check),
  refuse one from a newer headscale than the spec's, then stop headscale, put the files back with
  headscale's owner and mode, start it and wait until it is healthy; nothing is stopped before the
  backup is known to be good
  options:
    --via <how>           where headscale runs: local:<headscale binary>[,<config.yaml>] (this
                          machine, as root), docker:<container>[@ssh://user@host] or ssh:<user@host>
    --backup <name>       the backup to restore (default: the newest)
    --list                only list the backups
    --json                print what was done (or the list) as JSON
${SPEC}
exit codes: 0 restored (or listed), 1 refused (nothing changed) or the spec has problems, 2 usage or file error`,
  options: { via: { type: "string" }, backup: { type: "string" }, list: { type: "boolean" }, json: { type: "boolean" } },
} as const satisfies CommandSpec<Options>;

export const VERSIONS = {
  name: "versions",
  usage: `usage: cdktf-tailnet versions
  list the headscale releases the kit renders for (the oldest Tailscale client each accepts) and the
  Tailscale releases it builds derper from (with the Go each needs), defaults marked, each with its
  known advisories; then what Tailscale clients should run`,
  options: {},
} as const satisfies CommandSpec<Options>;
