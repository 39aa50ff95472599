/**
 * The rendered VM artifacts on a booted machine: systemd as PID 1 (systemd-nspawn over a throw-away
 * overlay of this machine's root, test/support/nspawn.ts), real cloud-init 22.4 running the
 * rendered user-data, the real headscale and derper binaries downloaded from file:// URLs and
 * checked against their real SHA-256.
 *
 * Each boot proves: cloud-init finishes without an error; the system users, the directories and
 * the files are there with the owners and modes the kit chose, byte-identical to what `render`
 * writes; the firewall is loaded; both services run as their own user, never restarted, under the
 * rendered sandbox (seccomp filter, no new privileges, CAP_NET_BIND_SERVICE as the only capability
 * where a port below 1024 is bound, none otherwise); they answer (headscale /health, derper
 * /derp/probe and /generate_204); `systemd-analyze security` of the loaded units (not only of the
 * files) stays at or under 1.5; and running the install script again changes nothing it need not.
 *
 * Two machines cover the four kinds of unit: A runs headscale behind a proxy on 8080 (a user
 * namespace, no capability) and derper on 443/80 (the capability); B runs headscale with its own
 * TLS on 443 (the capability) and derper on 8443 without port 80 (no capability).
 *
 * Machine A also proves headscale's backups: the timer enabled, its service run as the timer starts
 * it (as headscale's user, scoring at most 1.5 as loaded), a checked snapshot and the noise key in
 * the backup directory and copied to a restic repository on the machine; then headscale stopped, its
 * database and key deleted, the backup restored with the script (as `cdktf-tailnet restore` runs it
 * over ssh), and headscale healthy on the restored state with the same key, owner and mode.
 * The machines are offline: their apt has no sources, and the packages the user-data names (sqlite3,
 * restic) are this machine's. DERP nodes are named by a documentation address (derper binds every
 * address; the probes connect to loopback).
 *
 * A third machine, C, runs a DERP node with a DNS-01 certificate and proves the renewal chain on
 * systemd: lego's unit runs as a transient user that sees neither derper's files nor the secret
 * file (only its credential), stages the certificate, and systemd then hands it to derper's user
 * (the install unit), whose new certificate the path unit turns into a restart of derper by
 * dependencies alone; derper then serves it. A renewal that is not due changes nothing and does
 * not restart derper; a due one is served after one more restart; deleting derper's copies does
 * not restart it, and the next check puts them back; every unit of the chain stays at or under
 * 1.5 as loaded. lego itself is a stand-in there that writes a certificate signed by a
 * test CA into its state directory, as lego does (the real lego against pebble and BIND 9 is
 * test/integration/acme-dns01.test.ts). The machine is offline, so its apt has no sources: the
 * user-data's packages (lego, ca-certificates) are this machine's, already installed.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { PreparedTailnet, TailnetSpec } from "../../model/index.js";
import { renderTailnet, type RenderedFile } from "../../render/index.js";
import { bootVm, cleanupBoots, nspawnSkipReason, type ImageFile } from "../support/nspawn.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";
import { prepareTailnet } from "../../secrets/index.js";
import { selfSignedReqArgs } from "../support/openssl.js";

const skipReasonHere = skipReason("vm-boot", nspawnSkipReason, upstreamSkipReason);
const headscaleVersion = upstreamVersions.headscale.at(-1)!.replace(/^v/, "");
const tailscaleVersion = upstreamVersions.tailscale.replace(/^v/, "");
const PIN = `sha256-raw:${"ab".repeat(32)}`;

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

interface Machine {
  readonly name: string;
  readonly spec: TailnetSpec;
  /** URLs the probe waits for and records, with the status each must answer. */
  readonly checks: readonly { key: string; url: string; status: number }[];
  /** Which services bind a port below 1024. */
  readonly privileged: { headscale: boolean; derper: boolean };
  readonly extraFiles?: readonly ImageFile[];
  /** Prove headscale's backups: the timer's service run once, then a restore onto a machine that lost its state. */
  readonly backup?: boolean;
}

/** The machines are offline: `apt-get update` has nothing to fetch, and the packages the user-data names are this machine's, installed already. */
const OFFLINE_APT: ImageFile = { path: "/etc/apt/sources.list.d/debian.sources", content: "# offline test machine: no sources\n", mode: 0o644 };
/** vm-a's restic repository: a directory on the machine (a mounted disk, in real life). */
const RESTIC_REPOSITORY = "/var/backups/headscale-restic";

function machines(binaries: { headscale: string; derper: string }): Machine[] {
  const vm = {
    headscale: { url: "file:///opt/cdktf-test/headscale", sha256: sha256(binaries.headscale) },
    derper: { source: "url" as const, url: "file:///opt/cdktf-test/derper", sha256: sha256(binaries.derper) },
  };
  const base = (name: string) => ({
    headscale: { version: headscaleVersion, serverUrl: "https://hs.example.com", host: name, dns: { baseDomain: "tail.example.net" } },
    derp: { derper: { version: tailscaleVersion } },
    hosts: [{ name, firewall: { adminCidrs: ["10.0.0.0/8"] }, vm }],
  });
  const a = base("vm-a");
  const b = base("vm-b");
  const certDir = mkdtempSync(join(tmpdir(), "cdktf-boot-tls-"));
  let tlsFiles: ImageFile[];
  try {
    execFileSync(
      "openssl",
      selfSignedReqArgs({
        subject: "/CN=hs.example.com",
        days: 2,
        sans: ["DNS:hs.example.com", "IP:127.0.0.1"],
        keyOut: join(certDir, "key.pem"),
        certOut: join(certDir, "cert.pem"),
      }),
      { stdio: "ignore" },
    );
    tlsFiles = [
      { path: "/etc/headscale/tls/cert.pem", content: readFileSync(join(certDir, "cert.pem")), mode: 0o644 },
      // A throw-away test key; a real one would be 0640 root:headscale.
      { path: "/etc/headscale/tls/key.pem", content: readFileSync(join(certDir, "key.pem")), mode: 0o644 },
    ];
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
  return [
    {
      name: "vm-a",
      spec: {
        name: "boot-a",
        ...a,
        // The kit's policy file, which config.yaml names: headscale refuses to start without it.
        users: [{ name: "alice" }],
        policy: { groups: { "group:admins": ["alice"] }, acls: [{ src: ["group:admins"], dst: ["*:*"] }] },
        headscale: { ...a.headscale, listenAddr: "0.0.0.0:8080", backup: { restic: { repository: RESTIC_REPOSITORY } } },
        derp: {
          ...a.derp,
          regions: [
            {
              id: 900,
              code: "lab",
              name: "Lab",
              nodes: [{ name: "lab-1", host: "vm-a", hostname: "192.0.2.10", certName: PIN, certificate: { mode: "manual" } }],
            },
          ],
        },
      },
      checks: [
        { key: "headscale-health", url: "http://127.0.0.1:8080/health", status: 200 },
        { key: "derper-probe", url: "https://127.0.0.1/derp/probe", status: 200 },
        { key: "derper-generate-204", url: "http://127.0.0.1/generate_204", status: 204 },
      ],
      privileged: { headscale: false, derper: true },
      backup: true,
      // What the operator puts there by hand: the repository's password (0600 root).
      extraFiles: [OFFLINE_APT, { path: "/etc/cdktf-tailnet/restic-password", content: "boot test repository password\n", mode: 0o600 }],
    },
    {
      name: "vm-b",
      spec: {
        name: "boot-b",
        ...b,
        headscale: { ...b.headscale, tls: { mode: "files", certPath: "/etc/headscale/tls/cert.pem", keyPath: "/etc/headscale/tls/key.pem" } },
        derp: {
          ...b.derp,
          regions: [
            {
              id: 900,
              code: "lab",
              name: "Lab",
              nodes: [{ name: "lab-1", host: "vm-b", hostname: "192.0.2.10", derpPort: 8443, certName: PIN, certificate: { mode: "manual" } }],
            },
          ],
        },
      },
      checks: [
        { key: "headscale-health", url: "https://127.0.0.1/health", status: 200 },
        { key: "derper-probe", url: "https://127.0.0.1:8443/derp/probe", status: 200 },
      ],
      privileged: { headscale: true, derper: false },
      extraFiles: [...tlsFiles, OFFLINE_APT],
    },
  ];
}

/**
 * headscale's backups on the booted machine: the timer enabled, its service started as the timer
 * does, the backup listed and copied to the restic repository; then a disaster (headscale stopped,
 * its database and noise key deleted) and the restore with the script, as `cdktf-tailnet restore`
 * runs it over ssh, and headscale healthy again on the restored state.
 */
function backupProbe(waits: string): string {
  const script = "sh /usr/local/lib/cdktf-tailnet/headscale-backup.sh /etc/cdktf-tailnet/headscale-backup.env";
  return `
say backup-timer "$(systemctl is-enabled cdktf-tailnet-headscale-backup.timer) $(systemctl is-active cdktf-tailnet-headscale-backup.timer)"
systemctl start cdktf-tailnet-headscale-backup.service; say backup-exit "$?"
say backup-result "$(systemctl show -p Result --value cdktf-tailnet-headscale-backup.service)"
say backup-uids "$(journalctl _SYSTEMD_UNIT=cdktf-tailnet-headscale-backup.service -o verbose --no-pager | sed -n 's/^ *_UID=//p' | sort -u | tr '\\n' ' ')"
say headscale-uid "$(id -u headscale)"
say backup-list "$(${script} list | tr '\\n' ' ')"
name=$(${script} list | sed -n 's/^local //p' | head -n 1)
say backup-files "$(ls /var/lib/headscale-backup/$name | tr '\\n' ' ')"
say backup-verify "$(${script} verify "$name" | grep -E '^(integrity|files)=' | tr '\\n' ' ')"
say backup-exposure "$(systemd-analyze security --no-pager cdktf-tailnet-headscale-backup.service 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \\([0-9.]*\\).*/\\1/p')"
say backup-journal "$(journalctl -u cdktf-tailnet-headscale-backup.service -o cat --no-pager | grep '^backup:' | tr '\\n' '|')"
say restic-repository "$(ls ${RESTIC_REPOSITORY} | tr '\\n' ' ')"
for p in /var/lib/headscale-backup /var/lib/headscale-backup/$name /var/lib/headscale-backup/$name/db.sqlite ${RESTIC_REPOSITORY}; do say "stat:$p" "$(stat -c '%U:%G %a' $p 2>&1)"; done
key=$(sha256sum /var/lib/headscale/noise_private.key | cut -d' ' -f1)
systemctl stop headscale.service
rm -f /var/lib/headscale/db.sqlite /var/lib/headscale/db.sqlite-wal /var/lib/headscale/db.sqlite-shm /var/lib/headscale/noise_private.key
${script} restore "$name" > /out/restore.txt 2>&1; say restore-exit "$?"
systemctl start headscale.service
i=0; while [ $i -lt 150 ] && ! { ${waits}; } 2>/dev/null; do sleep 0.1; i=$((i+1)); done
say after-restore "$(systemctl is-active headscale.service) $(curl -ks -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/health)"
say key-kept "$([ "$(sha256sum /var/lib/headscale/noise_private.key | cut -d' ' -f1)" = "$key" ] && echo yes || echo no)"
for p in /var/lib/headscale/db.sqlite /var/lib/headscale/noise_private.key; do say "stat:$p" "$(stat -c '%U:%G %a' $p 2>&1)"; done
`;
}

/** The probe: waits for the services, then records what the assertions need as key=value lines. */
function probeScript(checks: Machine["checks"], backup = false): string {
  const waits = checks.map((c) => `curl -ksf -o /dev/null ${c.url}`).join(" && ");
  return `#!/bin/sh
out=/out/facts
say() { printf '%s=%s\\n' "$1" "$2" >> $out; }
i=0; while [ $i -lt 150 ] && ! { ${waits}; } 2>/dev/null; do sleep 0.1; i=$((i+1)); done
say cloud-init-status "$(cloud-init status 2>&1 | head -1)"
say cloud-init-errors "$(python3 -c 'import json;r=json.load(open("/run/cloud-init/result.json"))["v1"];print(len(r["errors"]))' 2>&1)"
${checks.map((c) => `say ${c.key} "$(curl -ks -o /dev/null -w '%{http_code}' ${c.url})"`).join("\n")}
say nft-tables "$(nft list tables | tr '\\n' ' ')"
for u in headscale derper; do
  pid=$(systemctl show -p MainPID --value $u.service)
  say $u-active "$(systemctl is-active $u.service)"
  say $u-restarts "$(systemctl show -p NRestarts --value $u.service)"
  say $u-user "$(ps -o user= -p $pid)"
  for f in CapEff CapPrm CapBnd CapAmb NoNewPrivs Seccomp; do say $u-$f "$(awk -v k=$f: '$1==k{print $2}' /proc/$pid/status)"; done
  say $u-exposure "$(systemd-analyze security --no-pager $u.service 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \\([0-9.]*\\).*/\\1/p')"
done
for p in /var/lib/headscale /run/headscale /etc/headscale /etc/headscale/config.yaml /var/lib/derper /var/lib/derper/certs /etc/derper /usr/local/bin/headscale /usr/local/bin/derper /etc/nftables.conf; do
  say "stat:$p" "$(stat -c '%U:%G %a' $p 2>&1)"
done
say users "$(getent passwd headscale derper | cut -d: -f1,6,7 | tr '\\n' ' ')"
mkdir -p /out/files
cp /etc/headscale/config.yaml /etc/headscale/policy.json /etc/systemd/system/headscale.service /etc/systemd/system/derper.service /etc/nftables.conf /out/files/ 2>/dev/null
cp /var/log/cloud-init-output.log /out/ 2>/dev/null
${backup ? backupProbe(waits) : ""}
journalctl -b --no-pager -u headscale -u derper -u nftables -u cdktf-tailnet-headscale-backup > /out/journal.txt 2>&1
# The install script again: nothing is downloaded twice, and it still succeeds.
sh /usr/local/lib/cdktf-tailnet/install.sh > /out/rerun.txt 2>&1; say rerun-exit "$?"
i=0; while [ $i -lt 100 ] && ! { ${waits}; } 2>/dev/null; do sleep 0.1; i=$((i+1)); done
say after-rerun "$(systemctl is-active headscale.service derper.service | tr '\\n' ' ')"
`;
}

const DNS01_NODE = "lab-1";
const DNS01_HOSTNAME = "derp.example.test";
const DNS01_PORT = 8443;

/** vm-c: derper on 8443 with a DNS-01 certificate (RFC 2136; no server needed, lego is a stand-in). */
function dns01Spec(derperSha256: string): TailnetSpec {
  return {
    name: "boot-c",
    headscale: { version: headscaleVersion, serverUrl: "https://hs.example.com", host: "hs", dns: { baseDomain: "tail.example.net" } },
    derp: {
      derper: { version: tailscaleVersion },
      regions: [
        {
          id: 900,
          code: "lab",
          name: "Lab",
          nodes: [
            {
              name: DNS01_NODE,
              host: "vm-c",
              hostname: DNS01_HOSTNAME,
              derpPort: DNS01_PORT,
              certificate: {
                mode: "dns-01",
                email: "admin@example.test",
                provider: { type: "rfc2136", nameserver: "127.0.0.1", zone: "example.test", tsigKeyName: "acme" },
              },
            },
          ],
        },
      ],
    },
    hosts: [
      { name: "hs" },
      { name: "vm-c", firewall: { adminCidrs: ["10.0.0.0/8"] }, vm: { derper: { source: "url", url: "file:///opt/cdktf-test/derper", sha256: derperSha256 } } },
    ],
  };
}

/**
 * Stand-in for lego at /usr/local/bin/lego (acme-renew.sh's PATH finds it before Debian's): `run`
 * issues, `renew` issues only when /etc/cdktf-test/renew-due exists; each issuance is a fresh key
 * and a certificate for --domains signed by the test CA, written where lego writes them
 * (--path/certificates/<domain>.crt with the chain, .key). It also records what it could do in
 * --path/standin.facts.
 */
const STANDIN_LEGO = `#!/bin/sh
set -eu
path= domain= cmd= prev=
for a in "$@"; do
  case $prev in --path) path=$a ;; --domains) domain=$a ;; esac
  case $a in run | renew) cmd=$a ;; esac
  prev=$a
done
facts=$path/standin.facts
{
  echo "cmd=$cmd"
  echo "uid=$(id -u)"
  for f in CapEff CapBnd NoNewPrivs Seccomp; do echo "$f=$(awk -v k=$f: '$1==k{print $2}' /proc/self/status)"; done
  if ls /var/lib/derper/certs >/dev/null 2>&1; then echo "sees-derper=yes"; else echo "sees-derper=no"; fi
  if cat /etc/cdktf-tailnet/tsig.secret >/dev/null 2>&1; then echo "reads-secret-file=yes"; else echo "reads-secret-file=no"; fi
  echo "secret-via=\${RFC2136_TSIG_SECRET_FILE#"\${CREDENTIALS_DIRECTORY:-none}"/}:$(wc -c < "\${RFC2136_TSIG_SECRET_FILE}")"
} > "$facts"
if [ "$cmd" = renew ] && [ ! -e /etc/cdktf-test/renew-due ]; then echo "stand-in lego: $domain not due"; exit 0; fi
mkdir -p "$path/certificates"
c=$path/certificates/$domain
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \\
  -CA /opt/cdktf-test/ca.pem -CAkey /opt/cdktf-test/ca.key -keyout "$c.key.new" -out "$c.crt.new" 2>/dev/null
cat /opt/cdktf-test/ca.pem >> "$c.crt.new"
mv "$c.key.new" "$c.key"
mv "$c.crt.new" "$c.crt"
echo "stand-in lego: $cmd: issued $domain"
`;

/** vm-c's probe: issuance, a renewal that is not due, a due one, each as the timer would start it. */
function dns01Probe(): string {
  const acme = `cdktf-tailnet-acme-${DNS01_NODE}`;
  return `#!/bin/sh
out=/out/facts
say() { printf '%s=%s\\n' "$1" "$2" >> $out; }
host=${DNS01_HOSTNAME}; port=${DNS01_PORT}
crt=/var/lib/derper/certs/$host.crt; key=/var/lib/derper/certs/$host.key
show() { systemctl show -p "$2" --value "$1"; }
served() { openssl s_client -connect 127.0.0.1:$port -servername $host </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
installed() { openssl x509 -in $crt -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
# until derper serves the certificate installed in its directory (or 10 s)
wait_served() { i=0; while [ $i -lt 100 ]; do f=$(installed); if [ -n "$f" ] && [ "$(served)" = "$f" ]; then return 0; fi; sleep 0.1; i=$((i+1)); done; return 1; }
# until UNIT has run once more since its exit timestamp OLD, and is no longer active (or 10 s)
wait_ran() { i=0; while [ $i -lt 100 ]; do t=$(show $1 ExecMainExitTimestampMonotonic); if [ "$t" != "$2" ] && [ "$(systemctl is-active $1)" != activating ]; then return 0; fi; sleep 0.1; i=$((i+1)); done; return 1; }
# renew LABEL: starts lego's unit as its timer does; waits for the hand-off unit; records what happened
renew() {
  before_install=$(show ${acme}-install.service ExecMainExitTimestampMonotonic)
  before_derper=$(show derper.service InvocationID)
  systemctl start ${acme}.service; say $1-exit "$?"
  wait_ran ${acme}-install.service "$before_install"; say $1-install-ran "$?"
  say $1-install-result "$(show ${acme}-install.service Result)"
  sleep 0.3
  wait_served; say $1-served "$?"
  say $1-fingerprint "$(installed)"
  say $1-derper-restarted "$([ "$(show derper.service InvocationID)" = "$before_derper" ] && echo no || echo yes)"
  say $1-derper "$(systemctl is-active derper.service) $(show derper.service NRestarts)"
  say $1-probe "$(curl -s -o /dev/null -w '%{http_code}' --cacert /opt/cdktf-test/ca.pem --resolve $host:$port:127.0.0.1 https://$host:$port/derp/probe)"
}
say cloud-init-status "$(cloud-init status 2>&1 | head -1)"
say cloud-init-errors "$(python3 -c 'import json;r=json.load(open("/run/cloud-init/result.json"))["v1"];print(len(r["errors"]))' 2>&1)"
say enabled "$(systemctl is-enabled ${acme}.timer ${acme}-installed.path | tr '\\n' ' ')"
say active "$(systemctl is-active ${acme}.timer ${acme}-installed.path | tr '\\n' ' ')"
say derper-without-certificate "$(systemctl is-active derper.service)"
renew issue
say issue-standin "$(tr '\\n' ' ' < /var/lib/private/cdktf-tailnet/acme/${DNS01_NODE}/standin.facts)"
say restart-result "$(show ${acme}-restart.service Result)"
say staged-owner "$(stat -c '%u %a' /var/lib/private/cdktf-tailnet/acme/${DNS01_NODE})"
renew fresh
mkdir -p /etc/cdktf-test && touch /etc/cdktf-test/renew-due
renew due
rm /etc/cdktf-test/renew-due
# derper's copies deleted: the path unit fires, its gate skips the restart, derper keeps serving.
before_derper=$(show derper.service InvocationID)
rm $crt $key; sleep 1
say lost-derper "$(systemctl is-active derper.service) $([ "$(show derper.service InvocationID)" = "$before_derper" ] && echo same || echo restarted)"
say lost-gate "$(journalctl -u ${acme}-installed.service -o cat --no-pager | grep -c 'skipped because of an unmet condition')"
# the next check (not due) puts them back, and derper restarts with them
renew restore
for f in $crt $key /var/lib/derper/certs; do say "stat:$f" "$(stat -c '%U:%G %a' $f 2>&1)"; done
say derper-uid "$(id -u derper)"
say install-uids "$(journalctl _SYSTEMD_UNIT=${acme}-install.service -o verbose --no-pager | sed -n 's/^ *_UID=//p' | sort -u | tr '\\n' ' ')"
say install-log "$(journalctl -u ${acme}-install.service -o cat --no-pager | grep '^acme:' | tr '\\n' '|')"
say restart-runs "$(journalctl -u ${acme}-restart.service -o cat --no-pager | grep -c '^Finished')"
for u in ${acme}.service ${acme}-install.service ${acme}-installed.service ${acme}-restart.service derper.service; do
  say "exposure:$u" "$(systemd-analyze security --no-pager $u 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \\([0-9.]*\\).*/\\1/p')"
done
journalctl -b --no-pager -u derper -u '${acme}*' > /out/journal.txt 2>&1
cp /var/log/cloud-init-output.log /out/ 2>/dev/null
`;
}

function facts(outDir: string): Record<string, string> {
  const text = readFileSync(join(outDir, "facts"), "utf8");
  return Object.fromEntries(
    text
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe.skipIf(skipReasonHere !== undefined)("VM artifacts on a booted machine (systemd-nspawn, real cloud-init)", () => {
  let all: Machine[] = [];
  let binaries: { headscale: string; derper: string };
  beforeAll(() => {
    binaries = { headscale: upstreamBinary("headscale", headscaleVersion), derper: upstreamBinary("derper", tailscaleVersion) };
    all = machines(binaries);
  });
  afterAll(() => cleanupBoots());

  for (const name of ["vm-a", "vm-b"]) {
    it.concurrent(`${name}: cloud-init brings the machine to the running state under the rendered sandbox`, async ({ expect }) => {
      const m = all.find((x) => x.name === name)!;
      const tailnet: PreparedTailnet = prepareTailnet(m.spec);
      const rendered = renderTailnet(tailnet);
      const file = (path: string): RenderedFile => rendered.find((f) => f.path === path)!;
      const boot = await bootVm({
        name,
        userData: file(`hosts/${name}/cloud-init.yaml`).content,
        files: [
          { path: "/opt/cdktf-test/headscale", copyFrom: binaries.headscale },
          { path: "/opt/cdktf-test/derper", copyFrom: binaries.derper },
          ...(m.extraFiles ?? []),
        ],
        probe: probeScript(m.checks, m.backup),
      });
      const f = (() => {
        try {
          return facts(boot.outDir);
        } catch {
          throw new Error(`the machine wrote no facts (exit ${boot.exitCode}); console:\n${boot.console.slice(-4000)}`);
        }
      })();
      const context = () => `facts: ${JSON.stringify(f, null, 1)}\njournal:\n${readFileSync(join(boot.outDir, "journal.txt"), "utf8").slice(-3000)}`;

      expect(f["cloud-init-status"], context()).toBe("status: done");
      expect(f["cloud-init-errors"]).toBe("0");
      for (const c of m.checks) expect(f[c.key], `${c.url}\n${context()}`).toBe(String(c.status));
      expect(f["nft-tables"]).toContain("table inet cdktf_tailnet");
      expect(f.users).toBe("headscale:/var/lib/headscale:/usr/sbin/nologin derper:/var/lib/derper:/usr/sbin/nologin ");

      for (const unit of ["headscale", "derper"] as const) {
        expect(f[`${unit}-active`], context()).toBe("active");
        expect(f[`${unit}-restarts`]).toBe("0");
        expect(f[`${unit}-user`]).toBe(unit);
        expect(f[`${unit}-NoNewPrivs`]).toBe("1");
        expect(f[`${unit}-Seccomp`]).toBe("2");
        // CAP_NET_BIND_SERVICE is bit 10: 0x400, and nothing else; none at all without a low port.
        const caps = m.privileged[unit] ? "0000000000000400" : "0000000000000000";
        for (const set of ["CapEff", "CapPrm", "CapBnd", "CapAmb"]) expect(f[`${unit}-${set}`], `${unit} ${set}`).toBe(caps);
        expect(Number(f[`${unit}-exposure`])).toBeLessThanOrEqual(1.5);
      }

      expect(f["stat:/var/lib/headscale"]).toBe("headscale:headscale 750");
      expect(f["stat:/run/headscale"]).toBe("headscale:headscale 750");
      expect(f["stat:/etc/headscale"]).toBe("root:headscale 750");
      expect(f["stat:/etc/headscale/config.yaml"]).toBe("root:headscale 640");
      expect(f["stat:/var/lib/derper"]).toBe("derper:derper 750");
      expect(f["stat:/var/lib/derper/certs"]).toBe("derper:derper 750");
      expect(f["stat:/etc/derper"]).toBe("root:derper 750");
      expect(f["stat:/usr/local/bin/headscale"]).toBe("root:root 755");
      expect(f["stat:/usr/local/bin/derper"]).toBe("root:root 755");

      // What cloud-init wrote is byte for byte what `render` writes.
      const onVm = (name: string) => readFileSync(join(boot.outDir, "files", name), "utf8");
      expect(onVm("config.yaml")).toBe(file("headscale/config.yaml").content);
      if (name === "vm-a") expect(onVm("policy.json")).toBe(file("headscale/policy.json").content);
      expect(onVm("headscale.service")).toBe(file(`hosts/${name}/systemd/headscale.service`).content);
      expect(onVm("derper.service")).toBe(file(`hosts/${name}/systemd/derper.service`).content);
      expect(onVm("nftables.conf")).toBe(file(`hosts/${name}/nftables.conf`).content);

      if (m.backup) {
        // The timer's service: headscale's user, a checked snapshot and the key, copied to restic.
        expect(f["backup-timer"]).toBe("enabled active");
        expect(f["backup-exit"], context()).toBe("0");
        expect(f["backup-result"]).toBe("success");
        expect(f["backup-uids"]).toBe(`${f["headscale-uid"]} `);
        expect(f["backup-list"]).toMatch(new RegExp(`^local (\\d{8}T\\d{6}Z-${headscaleVersion.replace(/\./g, "\\.")}) restic \\1 $`));
        expect(f["backup-files"]).toBe("SHA256SUMS db.sqlite manifest noise_private.key ");
        expect(f["backup-verify"]).toBe("files=db.sqlite noise_private.key integrity=ok ");
        expect(f["backup-journal"]).toMatch(
          /backup: took \d{8}T\d{6}Z-[\d.]+: db\.sqlite noise_private\.key \(integrity ok, database last used by headscale v[\d.]+\)\|.*backup: copied /,
        );
        expect(Number(f["backup-exposure"])).toBeLessThanOrEqual(1.5);
        expect(f["restic-repository"]).toBe("config data index keys locks snapshots ");
        expect(f["stat:/var/lib/headscale-backup"]).toBe("headscale:headscale 700");
        expect(f[`stat:${RESTIC_REPOSITORY}`]).toMatch(/^headscale:headscale 7[05]0$/);
        // The restore: back on the state it had, the same noise key, owner and mode as headscale keeps them.
        expect(f["restore-exit"], readFileSync(join(boot.outDir, "restore.txt"), "utf8")).toBe("0");
        expect(f["after-restore"], context()).toBe("active 200");
        expect(f["key-kept"]).toBe("yes");
        expect(f["stat:/var/lib/headscale/db.sqlite"]).toBe("headscale:headscale 600");
        expect(f["stat:/var/lib/headscale/noise_private.key"]).toBe("headscale:headscale 600");
      }

      const firstRun = readFileSync(join(boot.outDir, "cloud-init-output.log"), "utf8");
      expect(firstRun).toContain("cdktf-tailnet: downloading file:///opt/cdktf-test/headscale");
      const rerun = readFileSync(join(boot.outDir, "rerun.txt"), "utf8");
      expect(f["rerun-exit"], rerun).toBe("0");
      expect(rerun).not.toContain("downloading");
      expect(f["after-rerun"]).toBe("active active ");
    });
  }

  it.concurrent("vm-c: DNS-01 renewal on systemd: lego unprivileged, the hand-off as derper, derper restarted by its dependencies", async ({ expect }) => {
    const tailnet = prepareTailnet(dns01Spec(sha256(binaries.derper)));
    const rendered = renderTailnet(tailnet);
    const file = (path: string): RenderedFile => rendered.find((f) => f.path === path)!;
    const ca = mkdtempSync(join(tmpdir(), "cdktf-boot-ca-"));
    let caFiles: ImageFile[];
    try {
      execFileSync(
        "openssl",
        selfSignedReqArgs({ subject: "/CN=cdktf-tailnet boot test CA", days: 2, keyOut: join(ca, "ca.key"), certOut: join(ca, "ca.pem") }),
        { stdio: "ignore" },
      );
      caFiles = [
        { path: "/opt/cdktf-test/ca.pem", content: readFileSync(join(ca, "ca.pem")), mode: 0o644 },
        // A throw-away test CA: the stand-in lego (a transient user) signs with it.
        { path: "/opt/cdktf-test/ca.key", content: readFileSync(join(ca, "ca.key")), mode: 0o644 },
      ];
    } finally {
      rmSync(ca, { recursive: true, force: true }); // the CA's private key must not stay behind
    }
    const boot = await bootVm({
      name: "vm-c",
      userData: file("hosts/vm-c/cloud-init.yaml").content,
      files: [
        { path: "/opt/cdktf-test/derper", copyFrom: binaries.derper },
        { path: "/usr/local/bin/lego", content: STANDIN_LEGO, mode: 0o755 },
        // Offline: `apt-get update` has nothing to fetch, and the packages are there already.
        { path: "/etc/apt/sources.list.d/debian.sources", content: "# offline test machine: no sources\n", mode: 0o644 },
        // What the operator puts there by hand (a dummy: the stand-in only reads it).
        { path: "/etc/cdktf-tailnet/tsig.secret", content: "dGVzdA==\n", mode: 0o600 },
        ...caFiles,
      ],
      probe: dns01Probe(),
    });
    const f = (() => {
      try {
        return facts(boot.outDir);
      } catch {
        throw new Error(`the machine wrote no facts (exit ${boot.exitCode}); console:\n${boot.console.slice(-4000)}`);
      }
    })();
    const context = () => `facts: ${JSON.stringify(f, null, 1)}\njournal:\n${readFileSync(join(boot.outDir, "journal.txt"), "utf8").slice(-4000)}`;
    const acme = tailnet.derp.regions[0]!.nodes[0]!.derper.acme!;

    expect(f["cloud-init-status"], context()).toBe("status: done");
    expect(f["cloud-init-errors"]).toBe("0");
    expect(f.enabled).toBe("enabled enabled ");
    expect(f.active).toBe("active active ");
    // derper cannot start before the first certificate: systemd keeps restarting it.
    expect(f["derper-without-certificate"]).toBe("activating");

    // First issuance: lego's unit stages it, the install unit hands it over, derper restarts and serves it.
    expect(f["issue-exit"], context()).toBe("0");
    expect(f["issue-install-ran"]).toBe("0");
    expect(f["issue-install-result"]).toBe("success");
    expect(f["issue-served"], context()).toBe("0");
    expect(f["issue-probe"]).toBe("200"); // verified against the test CA for the node's host name
    expect(f["issue-derper-restarted"]).toBe("yes");
    expect(f["restart-result"]).toBe("success");
    // lego's unit: a transient user, no capability, no new privileges, seccomp; derper's files and
    // the secret file out of its reach, the secret only as its credential.
    const standin = Object.fromEntries(
      f["issue-standin"]!.trim()
        .split(" ")
        .map((kv) => kv.split("=") as [string, string]),
    );
    expect(standin.cmd).toBe("run");
    expect(Number(standin.uid)).toBeGreaterThanOrEqual(61184); // systemd's DynamicUser= range
    expect(standin).toMatchObject({
      CapEff: "0000000000000000",
      CapBnd: "0000000000000000",
      NoNewPrivs: "1",
      Seccomp: "2",
      "sees-derper": "no",
      "reads-secret-file": "no",
      "secret-via": "tsig-secret:9",
    });
    expect(f["staged-owner"]).toBe(`${standin.uid} 700`); // lego's state, its own and private

    // Not due: the install unit runs and finds nothing to do; derper is left alone.
    expect(f["fresh-exit"]).toBe("0");
    expect(f["fresh-install-ran"]).toBe("0");
    expect(f["fresh-install-result"]).toBe("success");
    expect(f["fresh-fingerprint"]).toBe(f["issue-fingerprint"]);
    expect(f["fresh-derper-restarted"]).toBe("no");

    // Due: a new certificate, handed over, derper restarted once more and serving it.
    expect(f["due-exit"]).toBe("0");
    expect(f["due-install-result"]).toBe("success");
    expect(f["due-served"], context()).toBe("0");
    expect(f["due-fingerprint"]).not.toBe(f["issue-fingerprint"]);
    expect(f["due-derper-restarted"]).toBe("yes");
    expect(f["due-probe"]).toBe("200");
    expect(f["due-derper"]).toMatch(/^active \d+$/);

    // derper's copies deleted: no restart (it keeps serving what it loaded); the next check puts
    // them back and derper restarts with them.
    expect(f["lost-derper"]).toBe("active same");
    expect(f["lost-gate"]).toBe("1");
    expect(f["restore-exit"]).toBe("0");
    expect(f["restore-served"], context()).toBe("0");
    expect(f["restore-fingerprint"]).toBe(f["due-fingerprint"]);
    expect(f["restore-derper-restarted"]).toBe("yes");
    expect(f["restart-runs"]).toBe("3");

    // The hand-off ran as derper (never root): derper's files, the key 0600, nothing chowned.
    expect(f["install-uids"]).toBe(`${f["derper-uid"]} `);
    expect(f["install-log"]).toContain(`acme: installed ${acme.certFile} and ${acme.keyFile} (0600)`);
    expect(f["install-log"]).toContain(`acme: ${acme.certFile} is already current`);
    expect(f["install-log"]!.split("|").filter((l) => l.startsWith("acme: installed"))).toHaveLength(3);
    expect(f[`stat:${acme.certFile}`]).toBe("derper:derper 644");
    expect(f[`stat:${acme.keyFile}`]).toBe("derper:derper 600");
    expect(f["stat:/var/lib/derper/certs"]).toBe("derper:derper 750");
    for (const unit of [acme.paths.service, acme.paths.install, acme.paths.installedService, acme.paths.restartService, "derper.service"]) {
      expect(Number(f[`exposure:${unit}`]), unit).toBeLessThanOrEqual(1.5);
    }
  });
});
