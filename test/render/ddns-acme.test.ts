/**
 * The DDNS updater's and the DNS-01 ACME client's files, without servers: what the model derives
 * (records, certificate paths, restart, schedule), what each host gets (units on a systemd host,
 * a Dockerfile on a Docker host), settings files that are data with no secret in them, scripts
 * that parse, units systemd accepts. The scripts against real servers are in
 * test/integration/{ddns-rfc2136,ddns-cloudflare,acme-dns01}.test.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACME_PATHS, DDNS_PATHS, DERPER_PATHS, nodeNamed, type PreparedTailnet, type TailnetSpec } from "../../model/index.js";
import { dnsHelperInstall, renderAcmeFiles, renderDdnsFiles, renderEnvFile, renderTailnet, type RenderedFile } from "../../render/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { envValue } from "../support/host-scripts.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";
import { missingTool, skipReason } from "../support/requirements.js";
import { derperArgs } from "../../render/command-lines.js";

function files(tailnet: PreparedTailnet, prefix: string): Record<string, RenderedFile> {
  return Object.fromEntries(
    renderTailnet(tailnet)
      .filter((f) => f.path.startsWith(prefix))
      .map((f) => [f.path.slice(prefix.length), f]),
  );
}

/** A systemd host `home` (no Docker, no VM target) running headscale and a dns-01 DERP node. */
function systemdHostSpec(): TailnetSpec {
  const s = minimalSpec();
  s.headscale.host = "home";
  s.dns = { provider: "cloudflare", zoneId: "023e105f4ecef8ad9ca31a8372d0c353", zoneName: "example.com" };
  s.derp!.regions![0]!.nodes = [
    {
      name: "home-1",
      host: "home",
      hostname: "derp-home.example.com",
      derpPort: 8443,
      ipv6: "none",
      certificate: { mode: "dns-01", provider: "cloudflare", email: "admin@example.com" },
    },
  ];
  s.hosts = [{ name: "home", dynamicIp: true, ddns: { provider: "cloudflare", interval: "2m", ipv6: { interface: "eth0" } } }];
  return s;
}

describe("the bundled example's home region: DNS-01 and DDNS on a Docker host", () => {
  const tailnet = prepareTailnet(exampleSpec());
  const home = tailnet.hosts.find((h) => h.name === "home")!;
  const node = nodeNamed(tailnet, "home-1")!;

  it("derives the records, the certificate paths derper loads, and derper's restart", () => {
    expect(home.ddns!.records).toEqual([{ name: "derp-home.example.com", type: "A", purpose: "derp node home-1" }]);
    expect(home.ddns!.provider).toEqual({
      type: "cloudflare",
      apiUrl: "https://api.cloudflare.com/client/v4",
      zoneId: undefined,
      zoneName: "example.com",
      tokenFile: "/etc/cdktf-tailnet/cloudflare-token",
    });
    expect(node.derper.certificateSource).toBe("dns-01");
    expect(derperArgs(node)).toContain("-certmode=manual");
    expect(derperArgs(node)).toContain(`-certdir=${DERPER_PATHS.certDir}`);
    const acme = node.derper.acme!;
    expect([acme.certFile, acme.keyFile]).toEqual(["/var/lib/derper/certs/derp-home.example.com.crt", "/var/lib/derper/certs/derp-home.example.com.key"]);
    expect(acme.restart).toEqual({ via: "hook", command: "pkill -TERM -x derper; [ $? -le 1 ]" });
    expect(acme.schedule).toEqual({ onCalendar: "daily", randomizedDelaySec: 3600, intervalSeconds: 86400 });
  });

  it("renders the updater and the ACME client for a container, scripts executable", () => {
    const out = files(tailnet, "hosts/home/");
    expect(
      Object.keys(out)
        .filter((p) => /^(ddns|acme)\//.test(p))
        .sort(),
    ).toEqual([
      "acme/Dockerfile",
      "acme/acme-home-1.env",
      "acme/acme-install-cert.sh",
      "acme/acme-renew.sh",
      "ddns/Dockerfile",
      "ddns/ddns-update.sh",
      "ddns/ddns.env",
    ]);
    for (const p of ["acme/acme-install-cert.sh", "acme/acme-renew.sh", "ddns/ddns-update.sh"]) expect(out[p]!.mode).toBe(0o755);
    const ddns = out["ddns/ddns.env"]!.content;
    expect(envValue(ddns, "DDNS_PROVIDER")).toBe("cloudflare");
    expect(envValue(ddns, "DDNS_A_RECORDS")).toBe("derp-home.example.com");
    expect(envValue(ddns, "DDNS_IPV4_SOURCE")).toBe("url:https://ipv4.icanhazip.com");
    expect(envValue(ddns, "DDNS_INTERVAL_SECONDS")).toBe("300");
    expect(envValue(ddns, "CLOUDFLARE_ZONE_NAME")).toBe("example.com");
    const acme = out["acme/acme-home-1.env"]!.content;
    expect(envValue(acme, "ACME_DOMAIN")).toBe("derp-home.example.com");
    expect(envValue(acme, "ACME_SERVER")).toBe("https://acme-v02.api.letsencrypt.org/directory");
    expect(envValue(acme, "ACME_DNS_PROVIDER")).toBe("cloudflare");
    expect(envValue(acme, "CF_DNS_API_TOKEN_FILE")).toBe("/etc/cdktf-tailnet/cloudflare-token");
    expect(envValue(acme, "DERPER_CERT_BASE")).toBe("derp-home.example.com");
    expect(envValue(acme, "ACME_HANDOFF")).toBe("hook");
    expect(envValue(acme, "DERPER_RESTART")).toBe("pkill -TERM -x derper; [ $? -le 1 ]");
    expect(out["acme/Dockerfile"]!.content).toContain(`COPY acme-home-1.env ${ACME_PATHS.config("home-1")}`);
    // The ACME container mounts derper's data volume before derper does, so Docker fills the
    // fresh volume from this image: derper's user (65532) must own the directory and its certs/.
    expect(out["acme/Dockerfile"]!.content).toContain("install -d -o 65532 -g 65532 -m 0755 /var/lib/derper /var/lib/derper/certs");
    expect(out["ddns/Dockerfile"]!.content).toContain(`ENTRYPOINT ["/bin/sh", "${DDNS_PATHS.script}", "--loop", "${DDNS_PATHS.config}"]`);
  });

  it("other hosts get neither", () => {
    expect(renderTailnet(tailnet).filter((f) => /\/(ddns|acme)\//.test(f.path) && !f.path.startsWith("hosts/home/"))).toEqual([]);
  });
});

describe("on a systemd host", () => {
  const tailnet = prepareTailnet(systemdHostSpec());
  const out = files(tailnet, "hosts/home/");

  it('keeps every service name of the host current, per family (a node\'s "none" turns one off)', () => {
    const ddns = out["ddns/ddns.env"]!.content;
    expect(envValue(ddns, "DDNS_A_RECORDS")).toBe("derp-home.example.com hs.example.com");
    expect(envValue(ddns, "DDNS_AAAA_RECORDS")).toBe("hs.example.com");
    expect(envValue(ddns, "DDNS_IPV6_SOURCE")).toBe("interface:eth0");
    expect(envValue(ddns, "CLOUDFLARE_ZONE_ID")).toBe("023e105f4ecef8ad9ca31a8372d0c353");
    expect(envValue(ddns, "DDNS_INTERVAL_SECONDS")).toBe("120");
  });

  it("renders units instead of Dockerfiles: the updater on a timer with its secret as a credential, the ACME client daily, none of them as root", () => {
    expect(
      Object.keys(out)
        .filter((p) => /^(ddns|acme)\//.test(p))
        .sort(),
    ).toEqual([
      "acme/acme-home-1.env",
      "acme/acme-install-cert.sh",
      "acme/acme-renew.sh",
      "acme/cdktf-tailnet-acme-home-1-install.service",
      "acme/cdktf-tailnet-acme-home-1-installed.path",
      "acme/cdktf-tailnet-acme-home-1-installed.service",
      "acme/cdktf-tailnet-acme-home-1-restart.service",
      "acme/cdktf-tailnet-acme-home-1.service",
      "acme/cdktf-tailnet-acme-home-1.timer",
      "ddns/cdktf-tailnet-ddns.service",
      "ddns/cdktf-tailnet-ddns.timer",
      "ddns/ddns-update.sh",
      "ddns/ddns.env",
    ]);
    const service = out["ddns/cdktf-tailnet-ddns.service"]!.content;
    expect(service).toContain(`ExecStart=/bin/sh ${DDNS_PATHS.script} ${DDNS_PATHS.config}`);
    expect(service).toContain("DynamicUser=yes");
    expect(service).toContain("LoadCredential=cloudflare-token:/etc/cdktf-tailnet/cloudflare-token");
    expect(out["ddns/cdktf-tailnet-ddns.timer"]!.content).toContain("OnUnitActiveSec=120s");
    // lego: a transient user that stages the certificate in its own state directory.
    const acme = out["acme/cdktf-tailnet-acme-home-1.service"]!.content;
    expect(acme).toContain(`ExecStart=/bin/sh ${ACME_PATHS.script} ${ACME_PATHS.config("home-1")}`);
    expect(acme).toContain("DynamicUser=yes");
    expect(acme).toContain("LoadCredential=cloudflare-token:/etc/cdktf-tailnet/cloudflare-token");
    expect(acme).toContain("StateDirectory=cdktf-tailnet/acme/home-1\n");
    expect(acme).toContain(`OnSuccess=${ACME_PATHS.install("home-1")}`);
    expect(acme).not.toContain(DERPER_PATHS.certDir);
    expect(out["acme/cdktf-tailnet-acme-home-1.timer"]!.content).toContain("OnCalendar=daily");
    // The hand-off: derper's user, lego's files as credentials, derper's directories, no network.
    const install = out["acme/cdktf-tailnet-acme-home-1-install.service"]!.content;
    expect(install).toContain("User=derper\nGroup=derper\n");
    expect(install).toContain(`ExecStart=/bin/sh ${ACME_PATHS.hook} ${ACME_PATHS.config("home-1")}`);
    expect(install).toContain("LoadCredential=certificate:/var/lib/cdktf-tailnet/acme/home-1/certificates/derp-home.example.com.crt\n");
    expect(install).toContain("LoadCredential=key:/var/lib/cdktf-tailnet/acme/home-1/certificates/derp-home.example.com.key\n");
    expect(install).toContain("StateDirectory=derper derper/certs\nStateDirectoryMode=0750\n");
    expect(install).toContain("PrivateNetwork=yes");
    // derper's restart: a path unit on its certificate, a gate that skips a deleted one, and a unit
    // that only has dependencies.
    expect(out["acme/cdktf-tailnet-acme-home-1-installed.path"]!.content).toContain(
      `PathChanged=${DERPER_PATHS.certDir}/derp-home.example.com.crt\nUnit=cdktf-tailnet-acme-home-1-installed.service\n`,
    );
    const gate = out["acme/cdktf-tailnet-acme-home-1-installed.service"]!.content;
    expect(gate).toContain(
      `ConditionPathExists=${DERPER_PATHS.certDir}/derp-home.example.com.crt\nConditionPathExists=${DERPER_PATHS.certDir}/derp-home.example.com.key\nOnSuccess=cdktf-tailnet-acme-home-1-restart.service\n`,
    );
    expect(gate).not.toMatch(/^Conflicts=/m);
    const restart = out["acme/cdktf-tailnet-acme-home-1-restart.service"]!.content;
    expect(restart).not.toMatch(/^Condition/m);
    expect(restart).toContain("Conflicts=derper.service\nAfter=derper.service\nOnSuccess=derper.service\n");
    expect(restart).toContain("ExecStart=/bin/true\nDynamicUser=yes\n");
    for (const [p, f] of Object.entries(out).filter(([p]) => /^(ddns|acme)\/.*\.service$/.test(p))) {
      expect(f.content, p).toMatch(/^(DynamicUser=yes|User=derper)$/m);
      expect(f.content, p).toMatch(/^CapabilityBoundingSet=$/m);
      expect(f.content, p).toMatch(/^PrivateUsers=yes$/m);
    }
    const env = out["acme/acme-home-1.env"]!.content;
    expect(envValue(env, "ACME_HANDOFF")).toBe("units");
    expect(envValue(env, "DERPER_RESTART")).toBe("");
  });

  it.skipIf(!!skipReason("ddns-acme: systemd-analyze verify", missingTool("systemd-analyze")))("units that systemd-analyze verify accepts", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-units-"));
    try {
      const units = Object.entries(out).filter(([p]) => /\.(service|timer|path)$/.test(p));
      for (const [p, f] of units) writeFileSync(join(dir, p.split("/").pop()!), f.content);
      execFileSync("systemd-analyze", ["verify", ...units.map(([p]) => join(dir, p.split("/").pop()!))], { stdio: "pipe" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists what to install on the host: files by absolute path, packages, timers, and the secret to put there by hand", () => {
    const install = dnsHelperInstall(tailnet, tailnet.hosts[0]!);
    expect(install.files.map((f) => `${f.permissions} ${f.path}`)).toEqual([
      "0755 /usr/local/lib/cdktf-tailnet/ddns-update.sh",
      "0644 /etc/cdktf-tailnet/ddns.env",
      "0644 /etc/systemd/system/cdktf-tailnet-ddns.service",
      "0644 /etc/systemd/system/cdktf-tailnet-ddns.timer",
      "0755 /usr/local/lib/cdktf-tailnet/acme-renew.sh",
      "0755 /usr/local/lib/cdktf-tailnet/acme-install-cert.sh",
      "0644 /etc/cdktf-tailnet/acme-home-1.env",
      "0644 /etc/systemd/system/cdktf-tailnet-acme-home-1.service",
      "0644 /etc/systemd/system/cdktf-tailnet-acme-home-1.timer",
      "0644 /etc/systemd/system/cdktf-tailnet-acme-home-1-install.service",
      "0644 /etc/systemd/system/cdktf-tailnet-acme-home-1-installed.path",
      "0644 /etc/systemd/system/cdktf-tailnet-acme-home-1-installed.service",
      "0644 /etc/systemd/system/cdktf-tailnet-acme-home-1-restart.service",
    ]);
    for (const f of install.files) expect(f.content).toBe(out[`${f.path.includes("acme") ? "acme" : "ddns"}/${f.path.split("/").pop()!}`]!.content);
    expect(install.packages).toEqual(["ca-certificates", "curl", "iproute2", "jq", "lego"]);
    expect(install.timers).toEqual(["cdktf-tailnet-ddns.timer", "cdktf-tailnet-acme-home-1-installed.path", "cdktf-tailnet-acme-home-1.timer"]);
    expect(install.notes).toEqual([
      "put the Cloudflare API token into /etc/cdktf-tailnet/cloudflare-token (0600 root:root); the DNS helpers read it from there",
    ]);
  });

  it("with RFC 2136: lego's own variables, the algorithm fully qualified, the secret only by file", () => {
    const s = systemdHostSpec();
    const cert = {
      mode: "dns-01" as const,
      email: "admin@example.com",
      provider: { type: "rfc2136" as const, nameserver: "2001:db8::53", zone: "example.com", tsigKeyName: "acme" },
    };
    s.derp!.regions![0]!.nodes[0]!.certificate = cert;
    const env = renderAcmeFiles(prepareTailnet(s)).find((f) => f.path.endsWith(".env"))!.content;
    expect(envValue(env, "RFC2136_NAMESERVER")).toBe("[2001:db8::53]:53");
    expect(envValue(env, "RFC2136_TSIG_ALGORITHM")).toBe("hmac-sha256.");
    expect(envValue(env, "RFC2136_TSIG_SECRET_FILE")).toBe("/etc/cdktf-tailnet/tsig.secret");
  });
});

describe("the files", () => {
  const all = [
    ...renderDdnsFiles(prepareTailnet(systemdHostSpec())),
    ...renderAcmeFiles(prepareTailnet(systemdHostSpec())),
    ...renderDdnsFiles(prepareTailnet(exampleSpec())),
    ...renderAcmeFiles(prepareTailnet(exampleSpec())),
  ];

  it("settings name secrets only by file", () => {
    for (const f of all.filter((f) => f.path.endsWith(".env"))) {
      for (const line of f.content.split("\n").filter((l) => /^[A-Z0-9_]*(TOKEN|SECRET)[A-Z0-9_]*=/.test(l)))
        expect(line).toMatch(/^[A-Z0-9_]+_FILE='\/[^']+'$/);
    }
  });

  it("scripts that sh parses", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-scripts-"));
    try {
      for (const f of all.filter((f) => f.path.endsWith(".sh"))) {
        const path = join(dir, f.path.replace(/\//g, "_"));
        writeFileSync(path, f.content);
        execFileSync("sh", ["-n", path], { stdio: "pipe" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!!skipReason("ddns-acme: shellcheck", missingTool("shellcheck")))("scripts that shellcheck finds nothing in", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-shellcheck-"));
    try {
      const scripts = all
        .filter((f) => f.path.endsWith(".sh"))
        .map((f) => {
          const path = join(dir, f.path.replace(/\//g, "_"));
          writeFileSync(path, f.content);
          return path;
        });
      expect(execFileSync("shellcheck", ["--shell=sh", ...scripts], { encoding: "utf8" })).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("settings values that sh reads back verbatim", () => {
    const text = renderEnvFile(
      ["a comment"],
      [
        ["ODD", `it's $HOME \`x\` "q"`],
        ["N", 5],
      ],
    );
    expect(text).toBe(`# a comment\nODD='it'\\''s $HOME \`x\` "q"'\nN='5'\n`);
    const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-env-"));
    try {
      writeFileSync(join(dir, "x.env"), text);
      expect(execFileSync("sh", ["-c", `. "${dir}/x.env"; printf '%s' "$ODD"`], { encoding: "utf8" })).toBe(`it's $HOME \`x\` "q"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are the same for the same model", () => {
    expect(renderDdnsFiles(prepareTailnet(systemdHostSpec()))).toEqual(renderDdnsFiles(prepareTailnet(systemdHostSpec())));
    expect(renderAcmeFiles(prepareTailnet(systemdHostSpec()))).toEqual(renderAcmeFiles(prepareTailnet(systemdHostSpec())));
  });
});
