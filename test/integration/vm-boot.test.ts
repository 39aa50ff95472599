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
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { loadTailnet, type ResolvedTailnet, type TailnetSpec } from "../../model/index.js";
import { renderTailnet, type RenderedFile } from "../../render/index.js";
import { bootVm, cleanupBoots, nspawnSkipReason, type ImageFile } from "../support/nspawn.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

const skipReason = nspawnSkipReason ?? upstreamSkipReason;
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
}

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
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=hs.example.com",
    "-addext", "subjectAltName=DNS:hs.example.com,IP:127.0.0.1", "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem"),
  ], { stdio: "ignore" });
  const tlsFiles: ImageFile[] = [
    { path: "/etc/headscale/tls/cert.pem", content: readFileSync(join(certDir, "cert.pem")), mode: 0o644 },
    // A throw-away test key; a real one would be 0640 root:headscale.
    { path: "/etc/headscale/tls/key.pem", content: readFileSync(join(certDir, "key.pem")), mode: 0o644 },
  ];
  rmSync(certDir, { recursive: true, force: true });
  return [
    {
      name: "vm-a",
      spec: {
        name: "boot-a",
        ...a,
        // The kit's policy file, which config.yaml names: headscale refuses to start without it.
        users: [{ name: "alice" }],
        policy: { groups: { "group:admins": ["alice"] }, acls: [{ src: ["group:admins"], dst: ["*:*"] }] },
        headscale: { ...a.headscale, listenAddr: "0.0.0.0:8080" },
        derp: { ...a.derp, regions: [{ id: 900, code: "lab", name: "Lab", nodes: [{ name: "lab-1", host: "vm-a", hostname: "127.0.0.1", certName: PIN, certificate: { mode: "manual" } }] }] },
      },
      checks: [
        { key: "headscale-health", url: "http://127.0.0.1:8080/health", status: 200 },
        { key: "derper-probe", url: "https://127.0.0.1/derp/probe", status: 200 },
        { key: "derper-generate-204", url: "http://127.0.0.1/generate_204", status: 204 },
      ],
      privileged: { headscale: false, derper: true },
    },
    {
      name: "vm-b",
      spec: {
        name: "boot-b",
        ...b,
        headscale: { ...b.headscale, tls: { mode: "files", certPath: "/etc/headscale/tls/cert.pem", keyPath: "/etc/headscale/tls/key.pem" } },
        derp: { ...b.derp, regions: [{ id: 900, code: "lab", name: "Lab", nodes: [{ name: "lab-1", host: "vm-b", hostname: "127.0.0.1", derpPort: 8443, certName: PIN, certificate: { mode: "manual" } }] }] },
      },
      checks: [
        { key: "headscale-health", url: "https://127.0.0.1/health", status: 200 },
        { key: "derper-probe", url: "https://127.0.0.1:8443/derp/probe", status: 200 },
      ],
      privileged: { headscale: true, derper: false },
      extraFiles: tlsFiles,
    },
  ];
}

/** The probe: waits for the services, then records what the assertions need as key=value lines. */
function probeScript(checks: Machine["checks"]): string {
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
journalctl -b --no-pager -u headscale -u derper -u nftables > /out/journal.txt 2>&1
# The install script again: nothing is downloaded twice, and it still succeeds.
sh /usr/local/lib/cdktf-tailnet/install.sh > /out/rerun.txt 2>&1; say rerun-exit "$?"
i=0; while [ $i -lt 100 ] && ! { ${waits}; } 2>/dev/null; do sleep 0.1; i=$((i+1)); done
say after-rerun "$(systemctl is-active headscale.service derper.service | tr '\\n' ' ')"
`;
}

function facts(outDir: string): Record<string, string> {
  const text = readFileSync(join(outDir, "facts"), "utf8");
  return Object.fromEntries(text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

describe.skipIf(skipReason !== undefined)("VM artifacts on a booted machine (systemd-nspawn, real cloud-init)", () => {
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
      const tailnet: ResolvedTailnet = loadTailnet(m.spec);
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
        probe: probeScript(m.checks),
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

      const firstRun = readFileSync(join(boot.outDir, "cloud-init-output.log"), "utf8");
      expect(firstRun).toContain("cdktf-tailnet: downloading file:///opt/cdktf-test/headscale");
      const rerun = readFileSync(join(boot.outDir, "rerun.txt"), "utf8");
      expect(f["rerun-exit"], rerun).toBe("0");
      expect(rerun).not.toContain("downloading");
      expect(f["after-rerun"]).toBe("active active ");
    });
  }
});
