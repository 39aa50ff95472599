/**
 * The per-host renderers, without external tools: firewall rules from the model's listeners
 * (exactly the ports each host's services need), the units' shape, cloud-init user-data that
 * carries byte for byte what `render` writes, quoting, determinism, and no secrets.
 * The real validators and the real programs are in test/integration/{validators,firewall-netns,vm-boot}.test.ts.
 */
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PreparedTailnet } from "../../model/index.js";
import { firewallObject, renderCloudInit, renderNftables, renderTailnet, renderVmInstallScript, shellQuote, systemdQuote } from "../../render/index.js";
import { ADMIN_V4, ADMIN_V6, FAKE_SHA256, vmProxySpec, vmSpec } from "../support/vm-specs.js";
import { derperArgs } from "../../render/command-lines.js";
import { prepareTailnet } from "../../secrets/index.js";

const ANY = ["0.0.0.0/0", "::/0"];
const ADMINS = [ADMIN_V4, ADMIN_V6];

function host(tailnet: PreparedTailnet, name: string) {
  return tailnet.hosts.find((h) => h.name === name)!;
}

function rules(tailnet: PreparedTailnet, name: string) {
  return host(tailnet, name).firewall.rules.map((r) => [r.protocol, r.port, r.sources, r.reason]);
}

describe("firewall rules from the model", () => {
  const vm = prepareTailnet(vmSpec());
  const proxy = prepareTailnet(vmProxySpec());

  it("headscale with Let's Encrypt HTTP-01: 443 and 80 for everyone, SSH, metrics and gRPC for admins", () => {
    expect(rules(vm, "hs")).toEqual([
      ["tcp", 22, ADMINS, "SSH (admins only)"],
      ["tcp", 80, ANY, "headscale Let's Encrypt HTTP-01 challenge"],
      ["tcp", 443, ANY, "headscale control plane (Tailscale clients, /verify)"],
      ["tcp", 9090, ADMINS, "headscale metrics and debug (admins only)"],
      ["tcp", 50443, ADMINS, "headscale remote gRPC (admins only)"],
    ]);
    expect(host(vm, "hs").firewall.closed).toEqual([]);
  });

  it("headscale behind a proxy: its own port, the embedded DERP's STUN, no port 80, loopback metrics closed, no gRPC", () => {
    expect(rules(proxy, "hs")).toEqual([
      ["tcp", 22, ["203.0.113.0/28"], "SSH (admins only)"],
      ["tcp", 8080, ANY, "headscale control plane (Tailscale clients, /verify)"],
      ["udp", 3478, ANY, "headscale embedded DERP STUN"],
    ]);
    expect(host(proxy, "hs").firewall.closed).toEqual([{ port: 9090, protocol: "tcp", reason: "headscale metrics and debug: listens on 127.0.0.1 only" }]);
  });

  it("TLS-ALPN-01 needs no port 80", () => {
    const spec = vmSpec();
    spec.headscale.tls = { mode: "letsencrypt", challenge: "TLS-ALPN-01" };
    expect(rules(prepareTailnet(spec), "hs").map(([p, port]) => `${p}/${port}`)).toEqual(["tcp/22", "tcp/443", "tcp/9090", "tcp/50443"]);
  });

  it("derper: DERP, port 80 (CanPort80 and ACME) and STUN on 443; no port 80 on 8443; its own SSH port", () => {
    expect(rules(vm, "fra-1")).toEqual([
      ["tcp", 22, ADMINS, "SSH (admins only)"],
      ["tcp", 80, ANY, "derper fra-1: plain HTTP (captive-portal checks, Let's Encrypt HTTP-01)"],
      ["tcp", 443, ANY, "derper fra-1: DERP over TLS"],
      ["udp", 3478, ANY, "derper fra-1: STUN"],
    ]);
    expect(rules(vm, "home")).toEqual([
      ["tcp", 2222, ["192.168.100.0/24"], "SSH (admins only)"],
      ["tcp", 8443, ANY, "derper home-1: DERP over TLS"],
      ["udp", 3478, ANY, "derper home-1: STUN"],
    ]);
    expect(rules(vm, "edge").map(([p, port, , reason]) => [p, port, reason])).toContainEqual(["tcp", 80, "derper edge-1: plain HTTP (captive-portal checks)"]);
  });

  it("without admin networks nothing is opened to admins: SSH and admin-only listeners are listed as closed", () => {
    const spec = vmSpec();
    delete spec.hosts![0]!.firewall;
    const t = prepareTailnet(spec);
    expect(rules(t, "hs").map(([p, port]) => `${p}/${port}`)).toEqual(["tcp/80", "tcp/443"]);
    expect(host(t, "hs").firewall.closed.map((c) => c.reason)).toEqual([
      "SSH: no adminCidrs, so closed to everyone",
      "headscale metrics and debug: no adminCidrs, so closed to everyone",
      "headscale remote gRPC: no adminCidrs, so closed to everyone",
    ]);
    const nft = renderNftables(t, host(t, "hs"));
    expect(nft).not.toContain("dport 22 ");
    expect(nft).toContain("# closed: tcp/22, SSH: no adminCidrs, so closed to everyone");
  });

  it("firewall.json holds the same rules as nftables.conf", () => {
    const h = host(vm, "hs");
    const json = firewallObject(vm, h) as { rules: { port: number; protocol: string; sources: string[]; reason: string }[] };
    expect(json.rules).toEqual(h.firewall.rules.map((r) => ({ ...r, sources: [...r.sources] })));
    const nft = renderNftables(vm, h);
    for (const r of json.rules) {
      if (r.sources.includes("0.0.0.0/0")) expect(nft).toContain(`\t\t${r.protocol} dport ${r.port} accept comment "${r.reason}"`);
      else expect(nft).toContain(`\t\tip saddr { ${ADMIN_V4} } ${r.protocol} dport ${r.port} accept comment "${r.reason}"`);
    }
  });
});

describe("systemd units", () => {
  const vm = prepareTailnet(vmSpec());
  const files = renderTailnet(vm);
  const unit = (h: string, name: string) => files.find((f) => f.path === `hosts/${h}/systemd/${name}`)!.content;

  it("run each program as its own user with systemd-made directories, always restarted", () => {
    const hs = unit("hs", "headscale.service");
    expect(hs).toMatch(/^User=headscale\nGroup=headscale$/m);
    expect(hs).toMatch(/^ExecStart=\/usr\/local\/bin\/headscale serve --config \/etc\/headscale\/config\.yaml$/m);
    expect(hs).toMatch(/^StateDirectory=headscale$/m);
    expect(hs).toMatch(/^RuntimeDirectory=headscale$/m);
    expect(hs).toMatch(/^Restart=always$/m);
    const d = unit("fra-1", "derper.service");
    expect(d).toMatch(/^User=derper\nGroup=derper$/m);
    expect(d).toMatch(/^StateDirectory=derper derper\/certs$/m);
    expect(d).not.toMatch(/^RuntimeDirectory/m);
    expect(d).toMatch(/^RestrictAddressFamilies=AF_INET AF_INET6$/m);
    for (const text of [hs, d]) expect(text).not.toMatch(/User=root|^ExecStart=\+|^ExecStart=!/m);
  });

  it("derper's command line is the model's argument list", () => {
    const node = vm.derp.regions[0]!.nodes[0]!;
    expect(unit("fra-1", "derper.service")).toContain(`\nExecStart=/usr/local/bin/derper ${derperArgs(node).join(" ")}\n`);
  });

  it("low ports get CAP_NET_BIND_SERVICE and nothing else; high ports no capability and a user namespace", () => {
    const low = unit("fra-1", "derper.service");
    expect(low).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(low).not.toMatch(/^PrivateUsers=/m);
    const high = unit("home", "derper.service");
    expect(high).toMatch(/^CapabilityBoundingSet=\nPrivateUsers=yes$/m);
    expect(high).not.toMatch(/AmbientCapabilities/);
  });

  it("PostgreSQL's password comes from an optional environment file, never the unit; the Debian package's binary path", () => {
    const proxy = prepareTailnet(vmProxySpec());
    const hs = renderTailnet(proxy).find((f) => f.path === "hosts/hs/systemd/headscale.service")!.content;
    expect(hs).toMatch(/^EnvironmentFile=-\/etc\/headscale\/headscale\.env$/m);
    expect(hs).toMatch(/^ExecStart=\/usr\/bin\/headscale serve/m);
    expect(hs).not.toMatch(/^Environment=/m);
  });

  it("systemdQuote doubles specifiers and variables and quotes what would split", () => {
    expect(systemdQuote("-hostname=derp.example.com")).toBe("-hostname=derp.example.com");
    expect(systemdQuote("100%")).toBe("100%%");
    expect(systemdQuote("$HOME")).toBe("$$HOME");
    expect(systemdQuote("a b")).toBe('"a b"');
    expect(systemdQuote('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(systemdQuote("")).toBe('""');
  });
});

describe("cloud-init user-data", () => {
  const vm = prepareTailnet(vmSpec());
  const files = renderTailnet(vm);
  const file = (path: string) => files.find((f) => f.path === path)!.content;
  const userData = (h: string) =>
    parse(file(`hosts/${h}/cloud-init.yaml`)) as {
      users: unknown[];
      ssh_authorized_keys?: string[];
      packages?: string[];
      write_files: { path: string; owner: string; permissions: string; defer: boolean; content: string }[];
      runcmd: string[][];
    };

  it("starts with #cloud-config and creates the service users next to the image's default user", () => {
    expect(file("hosts/hs/cloud-init.yaml").startsWith("#cloud-config\n")).toBe(true);
    const ud = userData("hs");
    expect(ud.users).toEqual(["default", { name: "headscale", system: true, homedir: "/var/lib/headscale", shell: "/usr/sbin/nologin", lock_passwd: true }]);
    expect(ud.ssh_authorized_keys).toEqual(vmSpec().hosts![0]!.vm!.sshAuthorizedKeys);
    expect(userData("fra-1").ssh_authorized_keys).toBeUndefined();
  });

  it("writes, once the users exist, exactly the files render writes, then runs the install script", () => {
    const ud = userData("hs");
    expect(ud.write_files.map((f) => [f.path, f.owner, f.permissions, f.defer])).toEqual([
      ["/etc/headscale/config.yaml", "root:headscale", "0640", true],
      ["/etc/headscale/derp.yaml", "root:headscale", "0640", true],
      ["/etc/systemd/system/headscale.service", "root:root", "0644", true],
      ["/usr/local/lib/cdktf-tailnet/headscale-backup.sh", "root:root", "0755", true],
      ["/etc/cdktf-tailnet/headscale-backup.env", "root:root", "0644", true],
      ["/etc/systemd/system/cdktf-tailnet-headscale-backup.service", "root:root", "0644", true],
      ["/etc/systemd/system/cdktf-tailnet-headscale-backup.timer", "root:root", "0644", true],
      ["/etc/nftables.conf", "root:root", "0755", true],
      ["/usr/local/lib/cdktf-tailnet/install.sh", "root:root", "0700", true],
    ]);
    const content = Object.fromEntries(ud.write_files.map((f) => [f.path, f.content]));
    expect(content["/etc/headscale/config.yaml"]).toBe(file("headscale/config.yaml"));
    expect(content["/etc/headscale/derp.yaml"]).toBe(file("headscale/derp.yaml"));
    expect(content["/etc/systemd/system/headscale.service"]).toBe(file("hosts/hs/systemd/headscale.service"));
    expect(content["/etc/nftables.conf"]).toBe(file("hosts/hs/nftables.conf"));
    for (const name of ["headscale-backup.sh", "headscale-backup.env", "cdktf-tailnet-headscale-backup.service", "cdktf-tailnet-headscale-backup.timer"]) {
      expect(Object.values(content)).toContain(file(`hosts/hs/backup/${name}`));
    }
    // The backups need sqlite3 (restic only with a repository), and their timer is enabled.
    expect(ud.packages).toEqual(["sqlite3"]);
    expect(content["/usr/local/lib/cdktf-tailnet/install.sh"]).toContain("systemctl enable --now cdktf-tailnet-headscale-backup.timer");
    expect(content["/usr/local/lib/cdktf-tailnet/install.sh"]).toBe(renderVmInstallScript(vm, host(vm, "hs")));
    expect(ud.runcmd).toEqual([["sh", "/usr/local/lib/cdktf-tailnet/install.sh"]]);
    expect(userData("fra-1").write_files.map((f) => f.path)).toEqual([
      "/etc/systemd/system/derper.service",
      "/etc/nftables.conf",
      "/usr/local/lib/cdktf-tailnet/install.sh",
    ]);
    const withPolicy = vmSpec();
    withPolicy.policy = { acls: [{ src: ["*"], dst: ["*:*"] }] };
    const t = prepareTailnet(withPolicy);
    const policyFile = (parse(renderCloudInit(t, host(t, "hs"))) as typeof ud).write_files.find((f) => f.path === "/etc/headscale/policy.json")!;
    expect(policyFile.content).toBe(renderTailnet(t).find((f) => f.path === "headscale/policy.json")!.content);
  });

  it("pins every binary: release URL from the version and arch, SHA-256 checked before anything is installed", () => {
    const hs = renderVmInstallScript(vm, host(vm, "hs"));
    expect(hs).toContain(
      `fetch https://github.com/juanfont/headscale/releases/download/v0.29.8/headscale_0.29.8_linux_amd64 ${FAKE_SHA256} /usr/local/bin/headscale`,
    );
    const arm = renderVmInstallScript(vm, host(vm, "fra-2"));
    expect(arm).toContain(`fetch https://go.dev/dl/go1.26.8.linux-arm64.tar.gz ${FAKE_SHA256} /var/cache/cdktf-tailnet/go1.26.8.linux-arm64.tar.gz`);
    expect(arm).toContain('"$go_root/bin/go" install "tailscale.com/cmd/derper@v1.102.5"');
    expect(arm).toContain("GOTOOLCHAIN=local");
    const edge = renderVmInstallScript(vm, host(vm, "edge"));
    expect(edge).toContain(`fetch https://downloads.example.com/derper-1.102.3-amd64 ${FAKE_SHA256} /usr/local/bin/derper`);
    expect(edge).not.toContain("go.dev");
    const deb = renderVmInstallScript(prepareTailnet(vmProxySpec()), host(prepareTailnet(vmProxySpec()), "hs"));
    expect(deb).toContain("headscale_0.29.8_linux_amd64.deb");
    expect(deb).toContain("--force-confold");
  });

  it("says what must be put on the VM by hand, and carries no secret", () => {
    expect(file("hosts/fra-1/cloud-init.yaml")).toContain("# By hand: derper restarts until the region's mesh key is in /etc/derper/mesh.key");
    expect(file("hosts/home/cloud-init.yaml")).toContain(
      "# By hand: derper restarts until /var/lib/derper/certs/derp-home.example.com.crt and /var/lib/derper/certs/derp-home.example.com.key (owned by derper, the key 0600) are there",
    );
    const proxy = prepareTailnet(vmProxySpec());
    expect(renderCloudInit(proxy, host(proxy, "hs"))).toContain("put HEADSCALE_DATABASE_POSTGRES_PASS=<password> into /etc/headscale/headscale.env");
    for (const f of files) expect(f.content, f.path).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  it("stays under the 16 KiB most clouds accept as user-data: as it is, or gzipped and base64-encoded next to it (cloud-init decompresses it)", () => {
    const userDatas = files.filter((x) => x.path.endsWith("cloud-init.yaml"));
    expect(userDatas.length).toBeGreaterThan(1);
    for (const f of userDatas) {
      const packed = files.find((x) => x.path === `${f.path}.gz.b64`);
      if (Buffer.byteLength(f.content) < 16 * 1024) {
        expect(packed, f.path).toBeUndefined();
        continue;
      }
      expect(packed, `${f.path} is 16 KiB or more, so it needs its gzipped form`).toBeDefined();
      const gz = Buffer.from(packed!.content, "base64");
      expect(gz.length, f.path).toBeLessThan(16 * 1024);
      expect(gunzipSync(gz).toString("utf8")).toBe(f.content);
      expect(gz.subarray(4, 8).readUInt32LE(0)).toBe(0); // no time stamp: the same bytes on every render
    }
    expect(files.some((f) => f.path.endsWith(".gz.b64"))).toBe(true);
  });

  it("quotes URLs for the shell, whatever they contain", () => {
    expect(shellQuote("https://example.com/a")).toBe("https://example.com/a");
    expect(shellQuote("https://example.com/a?x=1&y=$(reboot)")).toBe("'https://example.com/a?x=1&y=$(reboot)'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    const spec = vmSpec();
    // Backticks never get this far (the URL grammar refuses them); `&` does, and is quoted.
    spec.hosts![4]!.vm!.derper = { source: "url", url: "https://example.com/d?a=1&b=`x`", sha256: FAKE_SHA256 };
    expect(() => prepareTailnet(spec)).toThrow('hosts[4].vm.derper.url: "https://example.com/d?a=1&b=`x`" is not an https, http or file URL');
    spec.hosts![4]!.vm!.derper = { source: "url", url: "https://example.com/d?a=1&b=2", sha256: FAKE_SHA256 };
    const t = prepareTailnet(spec);
    expect(renderVmInstallScript(t, host(t, "edge"))).toContain("fetch 'https://example.com/d?a=1&b=2' ");
  });
});

describe("renderTailnet: per-host files", () => {
  it("writes units, nftables.conf, firewall.json and cloud-init.yaml for every VM host", () => {
    const paths = renderTailnet(prepareTailnet(vmSpec()))
      .map((f) => f.path)
      .filter((p) => p.startsWith("hosts/"));
    expect(paths).toEqual(
      ["edge", "fra-1", "fra-2", "home", "hs"].flatMap((h) => [
        ...(h === "hs"
          ? [
              "hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
              "hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
              "hosts/hs/backup/headscale-backup.env",
              "hosts/hs/backup/headscale-backup.sh",
            ]
          : []),
        `hosts/${h}/cloud-init.yaml`,
        ...(h === "hs" ? ["hosts/hs/cloud-init.yaml.gz.b64"] : []),
        `hosts/${h}/firewall.json`,
        `hosts/${h}/nftables.conf`,
        `hosts/${h}/systemd/${h === "hs" ? "headscale" : "derper"}.service`,
      ]),
    );
  });

  it("Docker hosts get firewall.json only (an nftables ruleset would fight Docker's own rules)", () => {
    const spec = vmSpec();
    for (const h of spec.hosts!) {
      delete h.vm;
      h.docker = { daemon: `ssh://deploy@${h.name}.example.com` };
    }
    const files = renderTailnet(prepareTailnet(spec));
    const paths = files.map((f) => f.path).filter((p) => p.startsWith("hosts/"));
    // ... and headscale's host its backup container's files.
    expect(paths).toEqual([
      ...["edge", "fra-1", "fra-2", "home"].map((h) => `hosts/${h}/firewall.json`),
      "hosts/hs/backup/Dockerfile",
      "hosts/hs/backup/headscale-backup.env",
      "hosts/hs/backup/headscale-backup.sh",
      "hosts/hs/firewall.json",
    ]);
    // The rules are the host's published ports all the same.
    expect(JSON.parse(files.find((f) => f.path === "hosts/fra-1/firewall.json")!.content).rules.map((r: { port: number }) => r.port)).toEqual([
      22, 80, 443, 3478,
    ]);
  });

  it("is byte-identical whatever order hosts and regions are declared in", () => {
    const a = renderTailnet(prepareTailnet(vmSpec()));
    const spec = vmSpec();
    spec.hosts!.reverse();
    spec.derp!.regions!.reverse();
    expect(renderTailnet(prepareTailnet(spec))).toEqual(a);
  });
});
