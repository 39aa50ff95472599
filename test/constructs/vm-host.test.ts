/**
 * VmHost and the provisioning steps it is built from (render/vm-provision.ts), through the
 * synthesized JSON: which `terraform_data` steps a host gets, what each uploads (rendered text by
 * content, binaries and secrets by path), the commands it runs, its trigger, its order, and the
 * SSH connection. No secret value may appear in the JSON. test/integration/vm-ssh-e2e.test.ts
 * applies such a stack to a real machine.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { Tailnet, VmHost } from "../../constructs/index.js";
import { terraformLiteral } from "../../constructs/vm-host.js";
import { loadTailnet, type TailnetSpec } from "../../model/index.js";
import { renderVmInstallScript, vmFiles, vmProvisionSteps } from "../../render/index.js";
import { prepareTailnet, SecretStore } from "../../secrets/index.js";
import { scratchDir } from "../support/scratch.js";
import { byPath, synthStack, tempSecretsDir, type TfJson } from "../support/synth.js";
import { FAKE_SHA256, vmProxySpec, vmSpec } from "../support/vm-specs.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The steps of one VmHost, by step id. */
function stepsOf(json: TfJson, prefix: string): Record<string, Record<string, any>> {
  const all = byPath(json, "terraform_data");
  return Object.fromEntries(
    Object.entries(all)
      .filter(([id]) => id.startsWith(`${prefix}_`))
      .map(([id, r]) => [id.slice(prefix.length + 1), r]),
  );
}

/** Every provisioner of a step as [type, body]. */
function provisioners(step: Record<string, any>): [string, any][] {
  return (step.provisioner as Record<string, any>[]).map((p) => Object.entries(p)[0] as [string, any]);
}

/** A spec whose one VM runs headscale and a DERP node with a kit-issued certificate, from local binaries. */
function localSpec(dir: string): TailnetSpec {
  writeFileSync(join(dir, "headscale"), "headscale binary\n");
  writeFileSync(join(dir, "derper"), "derper binary\n");
  return {
    name: "vm-local",
    headscale: { serverUrl: "https://hs.example.com", host: "box", listenAddr: "0.0.0.0:8080", dns: { baseDomain: "tail.example.net" } },
    policy: { acls: [{ src: ["*"], dst: ["*:*"] }] },
    derp: {
      regions: [{ id: 900, code: "lab", name: "Lab", nodes: [{ name: "lab-1", host: "box", hostname: "203.0.113.9", certificate: { mode: "self-signed" } }] }],
    },
    hosts: [
      {
        name: "box",
        publicIpv4: "203.0.113.9",
        firewall: { adminCidrs: ["192.0.2.0/24"] },
        vm: {
          headscale: { localFile: join(dir, "headscale"), sha256: sha256("headscale binary\n") },
          derper: { source: "local", localFile: join(dir, "derper"), sha256: sha256("derper binary\n") },
        },
      },
    ],
  };
}

function synthLocal(
  build?: (spec: TailnetSpec) => void,
  connection: ConstructorParameters<typeof VmHost>[2]["connection"] = { privateKeyFile: "/keys/deploy" },
) {
  const dir = scratchDir("cdktf-vm-host-");
  const secretsDir = tempSecretsDir();
  const spec = localSpec(dir);
  build?.(spec);
  const tailnet = prepareTailnet(spec, { secretsDir });
  let host!: VmHost;
  const out = synthStack((stack: Construct) => {
    host = new VmHost(stack, "box", { tailnet, hostName: "box", secretsDir, connection });
  });
  return { ...out, host, tailnet, dir, secretsDir, steps: stepsOf(out.json, "box") };
}

describe("VmHost", () => {
  it("installs a host in ordered steps: installer, firewall, then per service binary, inputs and unit", () => {
    const { steps } = synthLocal();
    expect(Object.keys(steps).sort()).toEqual([
      "DerperBinary",
      "DerperSecrets",
      "DerperUnit",
      "Firewall",
      "HeadscaleBackup",
      "HeadscaleBinary",
      "HeadscaleConfig",
      "HeadscalePolicy",
      "HeadscaleUnit",
      "Installer",
    ]);
    const deps = (id: string) =>
      ((steps[id]!.depends_on ?? []) as string[]).map((d) => d.replace(/^terraform_data\.box_/, "").replace(/_[0-9A-F]{8}$/, "")).sort();
    expect(deps("Installer")).toEqual([]);
    expect(deps("Firewall")).toEqual(["Installer"]);
    expect(deps("HeadscaleConfig")).toEqual(["Installer"]);
    expect(deps("HeadscaleBackup")).toEqual(["Installer"]);
    expect(deps("HeadscaleBinary")).toEqual(["Installer"]);
    expect(deps("HeadscaleUnit")).toEqual(["Firewall", "HeadscaleBackup", "HeadscaleBinary", "HeadscaleConfig", "HeadscalePolicy", "Installer"]);
    expect(deps("DerperUnit")).toEqual(["DerperBinary", "DerperSecrets", "Firewall", "Installer"]);
  });

  it("puts headscale's backups in place first during an upgrade: its new unit (whose ExecStartPre backs the old version up) before any step restarts headscale", () => {
    const { steps } = synthLocal((spec) => {
      spec.headscale.version = "0.29.3";
      spec.headscale.upgradeFrom = "0.28.0";
    });
    const deps = (id: string) =>
      ((steps[id]!.depends_on ?? []) as string[]).map((d) => d.replace(/^terraform_data\.box_/, "").replace(/_[0-9A-F]{8}$/, "")).sort();
    expect(deps("HeadscaleBinary")).toEqual(["HeadscaleBackup", "Installer"]);
    expect(deps("HeadscaleConfig")).toEqual(["HeadscaleBackup", "Installer"]);
    const inline = provisioners(steps.HeadscaleBackup!)
      .filter(([t]) => t === "remote-exec")
      .flatMap(([, p]) => p.inline as string[]);
    const placed = inline.filter((l) => l.includes(" put ")).map((l) => l.split(" ").at(-1));
    expect(placed).toEqual([
      "/usr/local/lib/cdktf-tailnet/headscale-backup.sh",
      "/etc/cdktf-tailnet/headscale-backup.env",
      "/etc/systemd/system/cdktf-tailnet-headscale-backup.service",
      "/etc/systemd/system/cdktf-tailnet-headscale-backup.timer",
      "/etc/systemd/system/headscale.service",
    ]);
    expect(inline.slice(-2)).toEqual(["systemctl daemon-reload", "systemctl enable --now cdktf-tailnet-headscale-backup.timer"]);
  });

  it("uploads exactly the files cloud-init writes, with the same owners and modes, then restarts only their service", () => {
    const { steps, tailnet } = synthLocal();
    const host = tailnet.hosts[0]!;
    const placed = Object.values(steps).flatMap((s) =>
      provisioners(s)
        .filter(([t]) => t === "remote-exec")
        .flatMap(([, p]) => (p.inline as string[]).filter((l) => l.includes(" put ")).map((l) => l.split(" ").slice(-4))),
    );
    const expected = vmFiles(tailnet, host).filter((f) => f.path !== "/usr/local/lib/cdktf-tailnet/install.sh");
    for (const f of expected)
      expect(placed, f.path).toContainEqual([f.owner, f.permissions, expect.stringContaining("/var/cache/cdktf-tailnet/upload/"), f.path]);
    const last = (id: string) => (provisioners(steps[id]!).at(-1)![1].inline as string[]).at(-1);
    expect(last("HeadscaleConfig")).toBe("sh /usr/local/lib/cdktf-tailnet/install.sh refresh headscale.service");
    expect(last("HeadscalePolicy")).toBe("sh /usr/local/lib/cdktf-tailnet/install.sh reload headscale.service");
    expect(last("DerperSecrets")).toBe("sh /usr/local/lib/cdktf-tailnet/install.sh refresh derper.service");
    expect(last("HeadscaleUnit")).toBe("sh /usr/local/lib/cdktf-tailnet/install.sh start headscale.service");
    expect(last("Firewall")).toBe("sh /usr/local/lib/cdktf-tailnet/install.sh firewall");
    // The install script is the one cloud-init runs, byte for byte once Terraform reads its template escapes.
    const installer = provisioners(steps.Installer!).find(([t]) => t === "file")![1];
    expect(installer.destination).toBe("/var/cache/cdktf-tailnet/upload/usr_local_lib_cdktf-tailnet_install.sh");
    expect(installer.content).toBe(terraformLiteral(renderVmInstallScript(tailnet, host)));
    expect(installer.content).toContain("$${1%%:*}");
  });

  it("uploads binaries and secrets by path, checks the binaries' pins, and keeps every secret out of the JSON", () => {
    const { steps, text, tailnet, dir } = synthLocal();
    const files = (id: string) =>
      provisioners(steps[id]!)
        .filter(([t]) => t === "file")
        .map(([, p]) => p);
    expect(files("HeadscaleBinary")).toEqual([{ source: join(dir, "headscale"), destination: "/var/cache/cdktf-tailnet/upload/headscale" }]);
    expect(files("DerperBinary")).toEqual([{ source: join(dir, "derper"), destination: "/var/cache/cdktf-tailnet/upload/derper" }]);
    const cert = tailnet.derp.regions[0]!.nodes[0]!.derper.certificateFiles!;
    expect(files("DerperSecrets")).toEqual([
      { source: cert.certFile, destination: "/var/cache/cdktf-tailnet/upload/var_lib_derper_certs_203.0.113.9.crt" },
      { source: cert.keyFile, destination: "/var/cache/cdktf-tailnet/upload/var_lib_derper_certs_203.0.113.9.key" },
    ]);
    const key = readFileSync(cert.keyFile, "utf8");
    expect(text).not.toContain(key.split("\n")[1]);
    expect(text).not.toContain("PRIVATE KEY");
    expect(steps.DerperSecrets!.triggers_replace["/var/lib/derper/certs/203.0.113.9.key"]).toBe(sha256(key));
    expect(steps.HeadscaleBinary!.triggers_replace["/usr/local/bin/headscale"]).toBe(sha256("headscale binary\n"));
    // The upload directory is made (for the SSH user) before anything is uploaded.
    expect(provisioners(steps.HeadscaleBinary!)[0]).toEqual([
      "remote-exec",
      { inline: ["#!/bin/sh", "set -eu", 'install -d -m 0700 -o "$(id -u)" -g "$(id -g)" /var/cache/cdktf-tailnet/upload'] },
    ]);
  });

  it("refuses a local binary whose SHA-256 is not the spec's pin, and one that is missing", () => {
    // Refused with the field, before any construct exists (prepareTailnet checks the deploying machine's files).
    expect(() => synthLocal((s) => (s.hosts![0]!.vm!.headscale!.sha256 = FAKE_SHA256))).toThrow(
      /hosts\[0\]\.vm\.headscale\.localFile: \S*headscale has SHA-256 [0-9a-f]{64}, but the spec pins 0123456789abcdef\S*\n {2}fix: set hosts\[0\]\.vm\.headscale\.sha256 to the file's SHA-256 if you trust this file/,
    );
    expect(() => synthLocal((s) => (s.hosts![0]!.vm!.headscale!.localFile = "/nonexistent/headscale"))).toThrow(
      "hosts[0].vm.headscale.localFile: /nonexistent/headscale does not exist on this machine (host box's headscale is uploaded from it)",
    );
    expect(() => synthLocal((s) => (s.hosts![0]!.vm!.headscale!.localFile = "../"))).toThrow(
      /hosts\[0\]\.vm\.headscale\.localFile: \S+ is not a file\n {2}fix: name the headscale binary itself/,
    );
  });

  it("uploads a meshed node's mesh key by path, 0640 root:derper, and never its value", () => {
    const secretsDir = tempSecretsDir();
    const tailnet = prepareTailnet(vmSpec(), { secretsDir });
    const { json, text } = synthStack((stack) => new VmHost(stack, "fra-1", { tailnet, hostName: "fra-1", secretsDir }));
    const steps = stepsOf(json, "fra-1");
    const mesh = new SecretStore(tailnet.name, secretsDir).meshKey("fra");
    expect(
      provisioners(steps.DerperSecrets!)
        .filter(([t]) => t === "file")
        .map(([, p]) => p),
    ).toEqual([{ source: mesh.path, destination: "/var/cache/cdktf-tailnet/upload/etc_derper_mesh.key" }]);
    expect(provisioners(steps.DerperSecrets!).at(-1)![1].inline).toContain(
      "sh /usr/local/lib/cdktf-tailnet/install.sh put root:derper 0640 /var/cache/cdktf-tailnet/upload/etc_derper_mesh.key /etc/derper/mesh.key",
    );
    expect(steps.DerperSecrets!.triggers_replace["/etc/derper/mesh.key"]).toBe(mesh.sha256);
    expect(text).not.toContain(readFileSync(mesh.path, "utf8").trim());
    // derper built on the VM: the binary step has the pins as inputs and uploads nothing.
    expect(provisioners(steps.DerperBinary!).map(([t]) => t)).toEqual(["remote-exec"]);
  });

  it("connects as the spec says: public address, sshd's port, root; the key by file() or a sensitive variable", () => {
    const { steps } = synthLocal();
    expect(steps.Installer!.connection).toEqual({
      type: "ssh",
      host: "203.0.113.9",
      port: 22,
      user: "root",
      timeout: "5m",
      private_key: '${file("/keys/deploy")}',
    });
    const other = synthLocal((s) => (s.hosts![0]!.firewall!.sshPort = 2222), {
      host: "198.51.100.7",
      user: "admin",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0lHcmD2wS3lu3aMOTfCq2UJZk1aYcPZfB9fCm3sZ0d",
    });
    expect(other.steps.Installer!.connection).toEqual({
      type: "ssh",
      host: "198.51.100.7",
      port: 2222,
      user: "admin",
      timeout: "5m",
      host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0lHcmD2wS3lu3aMOTfCq2UJZk1aYcPZfB9fCm3sZ0d",
    });
    // Not root: every command goes through sudo, and uploads go to a directory the user owns.
    for (const step of Object.values(other.steps)) {
      for (const [type, p] of provisioners(step))
        if (type === "remote-exec") for (const line of (p.inline as string[]).slice(2)) expect(line).toMatch(/^sudo -n /);
    }
    expect(() => synthLocal(undefined, { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n" })).toThrow(
      "connection.privateKey is a literal and would be written into cdk.tf.json; pass a sensitive TerraformVariable's value, or privateKeyFile",
    );
    const tailnet = prepareTailnet(localSpec(scratchDir("cdktf-vm-host-")), { secretsDir: tempSecretsDir() });
    const { json } = synthStack((stack) => {
      const key = new TerraformVariable(stack, "ssh_private_key", { type: "string", sensitive: true });
      new VmHost(stack, "box", { tailnet, hostName: "box", connection: { privateKey: key.stringValue } });
    });
    expect(stepsOf(json, "box").Installer!.connection.private_key).toBe("${var.ssh_private_key}");
  });

  it("a changed input changes only its step's trigger", () => {
    const dir = scratchDir("cdktf-vm-host-");
    const triggers = (build?: (s: TailnetSpec) => void) => {
      const spec = localSpec(dir);
      spec.hosts![0]!.vm!.headscale!.localFile = "headscale";
      spec.hosts![0]!.vm!.derper = { source: "local", localFile: "derper", sha256: sha256("derper binary\n") };
      build?.(spec);
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const tailnet = prepareTailnet(spec, { secretsDir: join(dir, "secrets") });
        const { json } = synthStack((stack) => new VmHost(stack, "box", { tailnet, hostName: "box", secretsDir: join(dir, "secrets") }));
        return Object.fromEntries(Object.entries(stepsOf(json, "box")).map(([id, r]) => [id, JSON.stringify(r.triggers_replace)]));
      } finally {
        process.chdir(cwd);
      }
    };
    const changed = (a: Record<string, string>, b: Record<string, string>) => Object.keys(a).filter((k) => a[k] !== b[k]);
    const base = triggers();
    expect(changed(base, triggers())).toEqual([]);
    expect(
      changed(
        base,
        triggers((s) => (s.policy = { acls: [{ src: ["*"], dst: ["*:22"] }] })),
      ),
    ).toEqual(["HeadscalePolicy"]);
    expect(
      changed(
        base,
        triggers((s) => (s.headscale!.ephemeralInactivityTimeout = "10m")),
      ),
    ).toEqual(["HeadscaleConfig"]);
    expect(
      changed(
        base,
        triggers((s) => (s.hosts![0]!.firewall!.adminCidrs = ["198.51.100.0/24"])),
      ),
    ).toEqual(["Firewall"]);
  });

  it("warns about what must still be put on the VM by hand, not about what it uploads", () => {
    const secretsDir = tempSecretsDir();
    const proxy = prepareTailnet(vmProxySpec(), { secretsDir });
    let host!: VmHost;
    synthStack((stack) => (host = new VmHost(stack, "hs", { tailnet: proxy, hostName: "hs", secretsDir })));
    const warnings = host.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
    expect(warnings).toEqual([
      "host hs: put HEADSCALE_DATABASE_POSTGRES_PASS=<password> into /etc/headscale/headscale.env (0640 root:headscale), then restart headscale",
    ]);
    const local = synthLocal();
    expect(local.host.node.metadata.filter((m) => m.type === "@cdktf/warn")).toEqual([]);
  });

  it("explains what is missing: no vm, no address, a model whose certificates were not issued", () => {
    const tailnet = prepareTailnet(vmSpec());
    expect(() => synthStack((stack) => new VmHost(stack, "x", { tailnet, hostName: "nope" }))).toThrow(
      'the tailnet has no host "nope"; it has edge, fra-1, fra-2, home, hs',
    );
    expect(() => synthStack((stack) => new VmHost(stack, "x", { tailnet, hostName: "home", secretsDir: tempSecretsDir() }))).toThrow(
      "host home has no public address in the spec; give connection.host",
    );
    const local = loadTailnet(localSpec(scratchDir("cdktf-vm-host-")));
    // @ts-expect-error -- a model that skipped prepare() does not compile; at run time the construct says what is missing
    expect(() => synthStack((stack) => new VmHost(stack, "x", { tailnet: local, hostName: "box" }))).toThrow(
      "DERP node lab-1 uses a kit-issued self-signed certificate that was not issued yet; prepare the model first: prepare(tailnet) or prepareTailnet(spec) from cdktf-tailnet/secrets",
    );
  });
});

describe("Tailnet with VM hosts", () => {
  it("installs every VM host with an address over SSH, leaves the others to cloud-init with a warning", () => {
    let tailnet!: Tailnet;
    const { json } = synthStack((stack) => {
      tailnet = new Tailnet(stack, "t", {
        spec: vmSpec(),
        secretsDir: tempSecretsDir(),
        vmConnections: { edge: false, "fra-2": { host: "198.51.100.22", user: "debian" } },
      });
    });
    expect([...tailnet.vmHosts.keys()].sort()).toEqual(["fra-1", "fra-2", "hs"]);
    expect(Object.keys(stepsOf(json, "t_vm-hs")).sort()).toEqual([
      "Firewall",
      "HeadscaleBackup",
      "HeadscaleBinary",
      "HeadscaleConfig",
      "HeadscaleUnit",
      "Installer",
    ]);
    expect(stepsOf(json, "t_vm-fra-2").Installer!.connection).toMatchObject({ host: "198.51.100.22", user: "debian", port: 22 });
    // Nothing but terraform_data: no provider is needed for VM hosts.
    expect(Object.keys(json.resource)).toEqual(["terraform_data"]);
    const warnings = tailnet.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
    expect(warnings).toContain(
      'host home has vm but no public address, so it is not installed over SSH; give vmConnections["home"].host, or false to leave it to cloud-init',
    );
  });
});

describe("the install script's local-file path", () => {
  it("checks an uploaded binary against its pin instead of downloading it", () => {
    const dir = scratchDir("cdktf-vm-host-");
    const tailnet = prepareTailnet(localSpec(dir), { secretsDir: tempSecretsDir() });
    const host = tailnet.hosts[0]!;
    const script = renderVmInstallScript(tailnet, host);
    expect(script).toContain(`place /var/cache/cdktf-tailnet/upload/headscale ${sha256("headscale binary\n")} /usr/local/bin/headscale`);
    expect(script).toContain(`place /var/cache/cdktf-tailnet/upload/derper ${sha256("derper binary\n")} /usr/local/bin/derper`);
    expect(script).not.toContain("fetch https://");
    // cloud-init alone cannot bring the file: the user-data says where to put it.
    expect(script).toContain(
      `log 'copy ${join(dir, "headscale")} (SHA-256 ${sha256("headscale binary\n")}) from the deploying machine to /var/cache/cdktf-tailnet/upload/headscale`,
    );
    const steps = vmProvisionSteps(tailnet, host, { sudo: false });
    expect(steps.find((s) => s.id === "HeadscaleBinary")!.commands).toEqual([
      "sh /usr/local/lib/cdktf-tailnet/install.sh binary headscale",
      "sh /usr/local/lib/cdktf-tailnet/install.sh refresh headscale.service",
    ]);
  });
});
