/**
 * End to end: `terraform apply` of a stack whose only resources are a VmHost's `terraform_data`
 * steps provisions a real systemd machine over SSH.
 *
 * The machine: a Docker engine of the test's own (Debian's docker.io, test/support/docker-engine.ts)
 * runs a Debian container booted with systemd as PID 1 and sshd (test/support/systemd-image.ts),
 * with no network but its loopback; Terraform reaches its sshd on 127.0.0.1 here through a
 * forwarder into the container's network namespace. Terraform (1.11, no provider) uses only
 * `terraform_data`, `connection`, `file` and `remote-exec`.
 *
 * The spec installs the real headscale and derper built by the test setup from the deploying
 * machine (`localFile`, checked against their SHA-256), a policy, and a DERP node on the
 * machine's IP with a kit-issued self-signed certificate, whose key is uploaded by path (a pinned
 * node cannot mesh, so the mesh key's upload is proved by test/constructs/vm-host.test.ts). The
 * tests prove:
 * - the first apply installs every file with the owners and modes the kit chose, byte for byte
 *   what `render` writes (and the binaries and secrets exactly the local files); systemd loaded and
 *   enabled both units; the nftables ruleset is active; no upload is left behind;
 * - the hardening does not break the programs: headscale under the rendered unit answers /health,
 *   derper answers /derp/probe with the kit's certificate (curl trusts only that certificate),
 *   both units active, never restarted, as their own users, with no new privileges and a seccomp
 *   filter;
 * - no secret (certificate key, SSH private key) is in cdk.tf.json;
 * - a second apply changes nothing (`plan -detailed-exitcode` exits 0) and restarts nothing;
 * - a policy change re-runs only the policy step and reloads headscale (same process); a
 *   config.yaml change re-runs only the config step and restarts headscale, not derper.
 *
 * Skips, saying why, only where no Docker engine can start (docker.io missing, not root, or
 * dockerd failing here), or where terraform or Go (for the real binaries) is missing.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { App, LocalBackend, TerraformStack } from "cdktf";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VmHost } from "../../constructs/index.js";
import type { PreparedTailnet, TailnetSpec } from "../../model/index.js";
import { renderTailnet, renderVmInstallScript } from "../../render/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { hasCommand } from "../support/commands.js";
import {
  bootSystemdContainer,
  dockerSkipReason,
  forwardToContainer,
  scratchDir,
  startDockerEngine,
  type DockerEngine,
  type Forward,
  type SystemdContainer,
} from "../support/docker-engine.js";
import { importSystemdImage, systemdImageTarball } from "../support/systemd-image.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

const TERRAFORM = process.env.TERRAFORM ?? "terraform";
const skipReason =
  dockerSkipReason() ??
  upstreamSkipReason ??
  (hasCommand(TERRAFORM)
    ? undefined
    : "terraform is not installed (the machine image ships /usr/local/bin/terraform; there is no Debian package), so nothing can be applied");
if (skipReason) console.warn(`vm-ssh-e2e skipped: ${skipReason}`);

const headscaleVersion = upstreamVersions.headscale.at(-1)!.replace(/^v/, "");
const tailscaleVersion = upstreamVersions.tailscale.replace(/^v/, "");
const HOST = "vm-ssh";

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function spec(binaries: { headscale: string; derper: string }, change: { policy?: boolean; config?: boolean } = {}): TailnetSpec {
  return {
    name: "ssh-e2e",
    headscale: {
      version: headscaleVersion,
      serverUrl: "https://hs.example.com",
      host: HOST,
      listenAddr: "0.0.0.0:8080",
      dns: { baseDomain: "tail.example.net" },
      ...(change.config ? { ephemeralInactivityTimeout: "10m" } : {}),
      // The machine is offline and its image has no sqlite3 to install; the backups on a VM are
      // proven on the booted machine of test/integration/vm-boot.test.ts.
      backup: { enabled: false },
    },
    users: [{ name: "alice" }],
    policy: { groups: { "group:admins": ["alice"] }, acls: [{ src: ["group:admins"], dst: [change.policy ? "*:22" : "*:*"] }] },
    derp: {
      derper: { version: tailscaleVersion },
      regions: [
        {
          id: 900,
          code: "lab",
          name: "Lab",
          nodes: [{ name: "lab-1", host: HOST, hostname: "127.0.0.1", certificate: { mode: "self-signed" } }],
        },
      ],
    },
    hosts: [
      {
        name: HOST,
        firewall: { adminCidrs: ["192.0.2.0/24"] },
        vm: {
          headscale: { localFile: binaries.headscale, sha256: sha256(readFileSync(binaries.headscale)) },
          derper: { source: "local", localFile: binaries.derper, sha256: sha256(readFileSync(binaries.derper)) },
        },
      },
    ],
  };
}

interface Run {
  readonly exitCode: number;
  readonly output: string;
  readonly seconds: number;
}

describe.skipIf(skipReason !== undefined)("VmHost: terraform apply over SSH provisions a systemd machine", () => {
  let engine: DockerEngine | undefined;
  let vm: SystemdContainer;
  let forward: Forward | undefined;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  let binaries: { headscale: string; derper: string };
  let keyFile: string;
  let hostKey: string;
  let secretsDir: string;
  let stackDir: string;
  let tfEnv: Record<string, string>;
  let tailnet: PreparedTailnet;
  let firstApply: Run;
  /** Set when dockerd cannot start on this machine: every test then skips with it. */
  let dockerUnavailable: string | undefined;
  const timings: Record<string, number> = {};

  const synth = (change: { policy?: boolean; config?: boolean } = {}): string => {
    tailnet = prepareTailnet(spec(binaries, change), { secretsDir });
    const app = new App({ outdir: join(scratch!.dir, "cdktf.out"), stackTraces: false });
    const stack = new TerraformStack(app, "vm");
    new LocalBackend(stack, { path: join(scratch!.dir, "terraform.tfstate") });
    new VmHost(stack, "vm", {
      tailnet,
      hostName: HOST,
      secretsDir,
      connection: { host: "127.0.0.1", port: forward!.port, privateKeyFile: keyFile, hostKey, timeout: "30s" },
    });
    app.synth();
    stackDir = join(scratch!.dir, "cdktf.out", "stacks", "vm");
    return readFileSync(join(stackDir, "cdk.tf.json"), "utf8");
  };

  const terraform = async (args: string[], timeoutMs = 300_000): Promise<Run> => {
    const started = Date.now();
    const r = await execa(TERRAFORM, args, { cwd: stackDir, env: tfEnv, reject: false, all: true, timeout: timeoutMs });
    return { exitCode: r.exitCode ?? -1, output: r.all ?? "", seconds: (Date.now() - started) / 1000 };
  };

  const apply = async (): Promise<Run> => {
    const init = await terraform(["init", "-input=false", "-no-color"]);
    expect(init.exitCode, init.output).toBe(0);
    return terraform(["apply", "-input=false", "-auto-approve", "-no-color"]);
  };

  /** Runs a POSIX sh script in the machine as root; its `say key value` lines become a record. */
  const facts = async (script: string): Promise<Record<string, string>> => {
    const r = await vm.exec(["sh", "-c", `say() { printf '%s=%s\\n' "$1" "$2"; }\n${script}`]);
    return Object.fromEntries(
      r.stdout
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  };

  const mainPids = async () => facts(`for u in headscale derper; do say $u "$(systemctl show -p MainPID --value $u.service)"; done`);

  /** Waits until headscale and derper answer (a restart takes a moment). */
  const waitForServices = async () => {
    await vm.exec([
      "sh",
      "-c",
      "i=0; while [ $i -lt 150 ] && ! { curl -sf -o /dev/null http://127.0.0.1:8080/health && curl -ksf -o /dev/null https://127.0.0.1/derp/probe; }; do sleep 0.1; i=$((i+1)); done",
    ]);
  };

  beforeAll(async () => {
    binaries = { headscale: upstreamBinary("headscale", headscaleVersion), derper: upstreamBinary("derper", tailscaleVersion) };
    scratch = scratchDir("cdktf-vm-ssh-");
    secretsDir = join(scratch.dir, "secrets");
    const pluginCache = join(scratch.dir, "plugin-cache");
    mkdirSync(pluginCache);
    writeFileSync(join(scratch.dir, "terraformrc"), "");
    tfEnv = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: scratch.dir,
      TF_IN_AUTOMATION: "1",
      CHECKPOINT_DISABLE: "1",
      TF_PLUGIN_CACHE_DIR: pluginCache,
      TF_CLI_CONFIG_FILE: join(scratch.dir, "terraformrc"),
    };

    let t = Date.now();
    try {
      engine = await startDockerEngine();
    } catch (e) {
      dockerUnavailable = `dockerd cannot start on this machine: ${(e as Error).message.slice(0, 1500)}`;
      console.warn(`vm-ssh-e2e skipped: ${dockerUnavailable}`);
      return;
    }
    timings.dockerdStart = (Date.now() - t) / 1000;
    t = Date.now();
    const image = await systemdImageTarball();
    timings.imageBuild = image.buildSeconds;
    await importSystemdImage(engine, image.tarball, "cdktf-test/debian-systemd:latest");
    timings.imageImport = (Date.now() - t) / 1000 - image.buildSeconds;
    t = Date.now();
    vm = await bootSystemdContainer(engine, "cdktf-test/debian-systemd:latest", `${HOST}-${process.pid}`);
    timings.boot = (Date.now() - t) / 1000;

    keyFile = join(scratch.dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cdktf-tailnet-e2e", "-f", keyFile]);
    await vm.exec(["sh", "-c", "install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys"], {
      input: readFileSync(`${keyFile}.pub`, "utf8"),
    });
    // Like a stock Debian VM, the machine has RSA, ECDSA and Ed25519 host keys; Terraform's SSH
    // client negotiates ECDSA first, so that is the key it checks.
    hostKey = (await vm.exec(["cat", "/etc/ssh/ssh_host_ecdsa_key.pub"])).stdout.trim().split(" ").slice(0, 2).join(" ");
    forward = await forwardToContainer(vm.pid, 22);
  }, 900_000);

  afterAll(async () => {
    console.info(`vm-ssh-e2e timings (s): ${JSON.stringify(timings)}`);
    await forward?.close();
    await engine?.stop();
    scratch?.remove();
  }, 120_000);

  it("the first apply installs everything over SSH; no secret is in cdk.tf.json", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    const json = synth();
    // Secrets travel by path: neither the certificate's key nor the SSH key is in the JSON.
    const node = tailnet.derp.regions[0]!.nodes.find((n) => n.name === "lab-1")!;
    const certKey = readFileSync(node.derper.certificateFiles!.keyFile, "utf8");
    for (const [what, secret] of [
      ["certificate key", certKey.split("\n")[1]!],
      ["ssh key", readFileSync(keyFile, "utf8").split("\n")[1]!],
    ] as const) {
      expect(secret.length, what).toBeGreaterThan(20);
      expect(json.includes(secret), `${what} in cdk.tf.json`).toBe(false);
    }
    expect(json).toContain(`\${file(\\"${keyFile}\\")}`);

    firstApply = await apply();
    timings.firstApply = firstApply.seconds;
    expect(firstApply.exitCode, firstApply.output.slice(-6000)).toBe(0);
    expect(firstApply.output).toMatch(/Apply complete! Resources: 9 added, 0 changed, 0 destroyed/);
  }, 600_000);

  it("puts every file in place with the kit's owners and modes, byte for byte", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    expect(firstApply?.exitCode).toBe(0);
    const rendered = Object.fromEntries(renderTailnet(tailnet).map((f) => [f.path, f.content]));
    const host = tailnet.hosts.find((h) => h.name === HOST)!;
    const node = tailnet.derp.regions[0]!.nodes.find((n) => n.name === "lab-1")!;
    const local = (path: string) => readFileSync(path);
    const expected: [path: string, ownerMode: string, content: string | Buffer | undefined][] = [
      ["/etc/headscale", "root:headscale 750", undefined],
      ["/etc/headscale/config.yaml", "root:headscale 640", rendered["headscale/config.yaml"]],
      ["/etc/headscale/derp.yaml", "root:headscale 640", rendered["headscale/derp.yaml"]],
      ["/etc/headscale/policy.json", "root:headscale 640", rendered["headscale/policy.json"]],
      ["/etc/systemd/system/headscale.service", "root:root 644", rendered[`hosts/${HOST}/systemd/headscale.service`]],
      ["/etc/systemd/system/derper.service", "root:root 644", rendered[`hosts/${HOST}/systemd/derper.service`]],
      ["/etc/nftables.conf", "root:root 755", rendered[`hosts/${HOST}/nftables.conf`]],
      ["/usr/local/lib/cdktf-tailnet/install.sh", "root:root 700", renderVmInstallScript(tailnet, host)],
      ["/usr/local/bin/headscale", "root:root 755", local(binaries.headscale)],
      ["/usr/local/bin/derper", "root:root 755", local(binaries.derper)],
      ["/etc/derper", "root:derper 750", undefined],
      ["/var/lib/headscale", "headscale:headscale 750", undefined],
      ["/var/lib/derper", "derper:derper 750", undefined],
      ["/var/lib/derper/certs", "derper:derper 750", undefined],
      ["/var/lib/derper/certs/127.0.0.1.crt", "derper:derper 644", local(node.derper.certificateFiles!.certFile)],
      ["/var/lib/derper/certs/127.0.0.1.key", "derper:derper 600", local(node.derper.certificateFiles!.keyFile)],
    ];
    const f = await facts(
      expected
        .map(
          ([p, , content]) =>
            `say "stat:${p}" "$(stat -c '%U:%G %a' ${p} 2>&1)"${content === undefined ? "" : `; say "sha:${p}" "$(sha256sum ${p} | cut -d' ' -f1)"`}`,
        )
        .join("\n") +
        `\nsay users "$(getent passwd headscale derper | cut -d: -f1,6,7 | tr '\\n' ' ')"\nsay uploads "$(ls -A /var/cache/cdktf-tailnet/upload | tr '\\n' ' ')"`,
    );
    for (const [path, ownerMode, content] of expected) {
      expect(f[`stat:${path}`], path).toBe(ownerMode);
      if (content !== undefined) expect(f[`sha:${path}`], `${path} differs from what the kit rendered or the local file`).toBe(sha256(content));
    }
    expect(f.users).toBe("headscale:/var/lib/headscale:/usr/sbin/nologin derper:/var/lib/derper:/usr/sbin/nologin ");
    // Uploaded files (binaries, secrets) were moved into place, none left in the upload directory.
    expect(f.uploads).toBe("");
  });

  it("systemd loaded and enabled both units, and the nftables ruleset is active", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    const f = await facts(`
for u in headscale derper; do
  for p in LoadState ActiveState SubState UnitFileState FragmentPath; do say $u-$p "$(systemctl show -p $p --value $u.service)"; done
done
say nftables "$(systemctl is-active nftables.service) $(systemctl is-enabled nftables.service)"
say table "$(nft list table inet cdktf_tailnet 2>&1 | tr '\\n\\t' '  ')"
`);
    for (const u of ["headscale", "derper"]) {
      const state = ["LoadState", "ActiveState", "SubState", "UnitFileState", "FragmentPath"].map((p) => f[`${u}-${p}`]);
      expect(state, u).toEqual(["loaded", "active", "running", "enabled", `/etc/systemd/system/${u}.service`]);
    }
    expect(f.nftables).toBe("active enabled");
    expect(f.table).toContain("type filter hook input priority filter; policy drop;");
    expect(f.table).toContain('tcp dport 443 accept comment "derper lab-1: DERP over TLS"');
    expect(f.table).toContain("ip saddr 192.0.2.0/24 tcp dport 22 accept");
  });

  it("the hardened units do not break headscale and derper: /health, /derp/probe with the kit's certificate", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    await waitForServices();
    const cert = "/var/lib/derper/certs/127.0.0.1.crt";
    const f = await facts(`
say health "$(curl -s http://127.0.0.1:8080/health | tr -d '\\n')"
say health-status "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/health)"
say probe "$(curl -sS --cacert ${cert} -o /dev/null -w '%{http_code}' https://127.0.0.1/derp/probe 2>&1)"
say generate204 "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/generate_204)"
for u in headscale derper; do
  pid=$(systemctl show -p MainPID --value $u.service)
  say $u-active "$(systemctl is-active $u.service)"
  say $u-restarts "$(systemctl show -p NRestarts --value $u.service)"
  say $u-user "$(stat -c %U /proc/$pid)"
  for k in NoNewPrivs Seccomp CapEff; do say $u-$k "$(awk -v k=$k: '$1==k{print $2}' /proc/$pid/status)"; done
done
`);
    const journal = async () => (await vm.exec(["journalctl", "--no-pager", "-n", "60", "-u", "headscale", "-u", "derper"], { allowFailure: true })).stdout;
    expect(f["health-status"], await journal()).toBe("200");
    expect(JSON.parse(f.health!)).toEqual({ status: "pass" });
    // curl trusts only the kit-issued certificate, for 127.0.0.1: derper serves exactly it, and
    // the pin it prints is the one the kit put into both DERP maps.
    expect(f.probe, await journal()).toBe("200");
    const pin = tailnet.derp.regions[0]!.nodes[0]!.certName!;
    expect(pin).toMatch(/^sha256-raw:[0-9a-f]{64}$/);
    expect(await journal()).toContain(`"CertName":"${pin}"`);
    expect(f.generate204).toBe("204");
    for (const u of ["headscale", "derper"]) {
      expect(f[`${u}-active`]).toBe("active");
      expect(f[`${u}-restarts`], await journal()).toBe("0");
      expect(f[`${u}-user`]).toBe(u);
      expect(f[`${u}-NoNewPrivs`]).toBe("1");
      expect(f[`${u}-Seccomp`]).toBe("2");
    }
    // derper binds 443 and 80 with CAP_NET_BIND_SERVICE alone; headscale on 8080 needs nothing.
    expect(f["derper-CapEff"]).toBe("0000000000000400");
    expect(f["headscale-CapEff"]).toBe("0000000000000000");
  });

  it("a second apply changes nothing and restarts nothing", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    expect(firstApply?.exitCode).toBe(0);
    const before = await mainPids();
    const plan = await terraform(["plan", "-input=false", "-detailed-exitcode", "-no-color"]);
    timings.secondPlan = plan.seconds;
    expect(plan.exitCode, plan.output.slice(-4000)).toBe(0);
    expect(plan.output).toContain("No changes.");
    const again = await terraform(["apply", "-input=false", "-auto-approve", "-no-color"]);
    timings.secondApply = again.seconds;
    expect(again.exitCode, again.output.slice(-4000)).toBe(0);
    expect(again.output).toContain("Apply complete! Resources: 0 added, 0 changed, 0 destroyed");
    expect(await mainPids()).toEqual(before);
  }, 300_000);

  it("a policy change re-runs only the policy step and reloads headscale without restarting it", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    expect(firstApply?.exitCode).toBe(0);
    const before = await mainPids();
    synth({ policy: true });
    const plan = await terraform(["plan", "-input=false", "-no-color"]);
    expect(plan.output.match(/# terraform_data\.\S+ must be replaced/g), plan.output.slice(-4000)).toEqual([expect.stringContaining("_HeadscalePolicy_")]);
    const run = await apply();
    timings.policyApply = run.seconds;
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(run.output).toContain("reloaded headscale.service");
    await waitForServices();
    const policy = renderTailnet(tailnet).find((x) => x.path === "headscale/policy.json")!.content;
    const f = await facts(
      `say policy "$(sha256sum /etc/headscale/policy.json | cut -d' ' -f1)"; say active "$(systemctl is-active headscale.service derper.service | tr '\\n' ' ')"`,
    );
    expect(f.policy).toBe(sha256(policy));
    // headscale got SIGHUP and re-read the policy without complaint.
    const journal = (await vm.exec(["journalctl", "--no-pager", "-u", "headscale", "-o", "cat"])).stdout;
    expect(journal).toContain("Received SIGHUP, reloading ACL policy");
    expect(journal).not.toMatch(/ERR.*reloading policy/);
    expect(f.active).toBe("active active ");
    expect(await mainPids()).toEqual(before);
  }, 300_000);

  it("a config.yaml change re-runs only the config step and restarts headscale, not derper", async (ctx) => {
    ctx.skip(dockerUnavailable !== undefined, dockerUnavailable);
    expect(firstApply?.exitCode).toBe(0);
    const before = await mainPids();
    synth({ policy: true, config: true });
    const plan = await terraform(["plan", "-input=false", "-no-color"]);
    expect(plan.output.match(/# terraform_data\.\S+ must be replaced/g), plan.output.slice(-4000)).toEqual([expect.stringContaining("_HeadscaleConfig_")]);
    const run = await apply();
    timings.configApply = run.seconds;
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(run.output).toContain("restarted headscale.service");
    await waitForServices();
    const after = await mainPids();
    expect(after.derper).toBe(before.derper);
    expect(after.headscale).not.toBe(before.headscale);
    const plan2 = await terraform(["plan", "-input=false", "-detailed-exitcode", "-no-color"]);
    expect(plan2.exitCode, plan2.output.slice(-4000)).toBe(0);
  }, 300_000);
});
