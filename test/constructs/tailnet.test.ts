import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TerraformVariable } from "cdktf";
import { describe, expect, it } from "vitest";
import { DockerHost, HeadscaleServer, Tailnet } from "../../constructs/index.js";
import { formatWarning, TailnetSpecError } from "../../model/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { renderDerpYaml, renderHeadscaleConfig, renderPolicy } from "../../render/index.js";
import { exampleSpec } from "../support/specs.js";
import { byPath, synthStack, tempSecretsDir, type TfJson } from "../support/synth.js";

function synthExample(spec = exampleSpec(), secretsDir = tempSecretsDir()) {
  let tailnet!: Tailnet;
  const out = synthStack((stack) => {
    tailnet = new Tailnet(stack, "tailnet", { spec, secretsDir });
  });
  return { ...out, tailnet, secretsDir };
}

describe("Tailnet on Docker hosts", () => {
  it("deploys headscale as the model says: image, serve, read-only root, tmpfs, volume, uploads, ports, health check", () => {
    const { json, secretsDir } = synthExample();
    const hs = byPath(json, "docker_container").tailnet_headscale!;
    const model = prepareTailnet(exampleSpec(), { secretsDir });
    expect(hs.name).toBe("headscale");
    expect(hs.provider).toBe("docker.cloud");
    expect(hs.command).toEqual(["serve"]);
    expect(hs.read_only).toBe(true);
    expect(hs.tmpfs).toEqual({ "/var/run/headscale": "rw,noexec,nosuid,size=16m" });
    expect(hs.volumes).toEqual([
      { volume_name: "${docker_volume.tailnet_headscale_Data_1EA0ED58.name}", container_path: "/var/lib/headscale" },
      {
        volume_name: expect.stringMatching(/^\$\{docker_volume\.tailnet_headscale_Config_Volume_[0-9A-F]{8}\.name\}$/),
        container_path: "/etc/headscale",
        read_only: true,
      },
      {
        volume_name: expect.stringMatching(/^\$\{docker_volume\.tailnet_headscale_Policy_Volume_[0-9A-F]{8}\.name\}$/),
        container_path: "/etc/headscale/policy",
        read_only: true,
      },
    ]);
    expect(hs.healthcheck.test).toEqual(["CMD", "headscale", "health"]);
    // A read-only container cannot take uploads: seeds put the files into those volumes.
    expect(hs.upload).toBeUndefined();
    const config = byPath(json, "docker_container").tailnet_headscale_Config_Seed!;
    expect(config.upload).toEqual([
      { file: "/in/config.yaml", content: renderHeadscaleConfig(model), permissions: "0400" },
      { file: "/in/derp.yaml", content: renderDerpYaml(model), permissions: "0400" },
    ]);
    expect(config.volumes).toEqual([{ volume_name: hs.volumes[1].volume_name, container_path: "/seed" }]);
    expect(config.command[0].split("\n")).toEqual([
      "set -e",
      "mkdir -p /seed/policy",
      "chmod 0755 /seed/policy",
      "mkdir -p /seed",
      "cp /in/config.yaml /seed/config.yaml.new",
      "chown 0:0 /seed/config.yaml.new",
      "chmod 0444 /seed/config.yaml.new",
      "mv /seed/config.yaml.new /seed/config.yaml",
      "mkdir -p /seed",
      "cp /in/derp.yaml /seed/derp.yaml.new",
      "chown 0:0 /seed/derp.yaml.new",
      "chmod 0444 /seed/derp.yaml.new",
      "mv /seed/derp.yaml.new /seed/derp.yaml",
      "rm -rf /in",
    ]);
    expect(config.network_mode).toBe("none");
    expect(config.lifecycle.postcondition[0].condition).toBe("${self.exit_code == 0}");
    expect(renderHeadscaleConfig(model)).toContain('path: "/etc/headscale/policy/policy.json"');
    const seed = byPath(json, "docker_container").tailnet_headscale_Policy_Seed!;
    expect(seed.upload).toEqual([{ file: "/in/policy.json", content: renderPolicy(model), permissions: "0400" }]);
    expect(hs.depends_on).toEqual([
      expect.stringMatching(/^docker_container\.tailnet_headscale_Config_Seed_/),
      expect.stringMatching(/^docker_container\.tailnet_headscale_Policy_Seed_/),
    ]);
    expect(hs.ports).toEqual([
      { internal: 443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 9090, external: 9090, ip: "127.0.0.1", protocol: "tcp" },
      { internal: 50443, external: 50443, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(hs.capabilities).toEqual({ drop: ["ALL"], add: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"] });
    // The tailnet's state: Terraform may not delete (or replace) it unless told to.
    expect(byPath(json, "docker_volume").tailnet_headscale_Data!.lifecycle).toEqual({ prevent_destroy: true });
    const lab = synthStack((stack) => new Tailnet(stack, "tailnet", { spec: exampleSpec(), secretsDir, retainHeadscaleData: false })).json;
    expect(byPath(lab, "docker_volume").tailnet_headscale_Data!.lifecycle).toBeUndefined();
    const image = byPath(json, "docker_image").tailnet_headscale_Image!;
    expect(image.name).toBe("docker.io/headscale/headscale:0.29.8");
    // Inside the container every listener binds all addresses; publishing decides exposure.
    expect(renderHeadscaleConfig(model)).toContain('metrics_listen_addr: "0.0.0.0:9090"');
  });

  it("runs each derper with the model's flags, ports, volume, and the region's mesh key by path", () => {
    const { json, secretsDir } = synthExample();
    const containers = byPath(json, "docker_container");
    const hk1 = containers["tailnet_region-hkg_hkg-1"]!;
    expect(hk1.provider).toBe("docker.hk-1");
    expect(hk1.name).toBe("derper-hkg-1");
    expect(hk1.command).toEqual([
      "-hostname=derp-hk1.example.com",
      "-a=:443",
      "-http-port=80",
      "-stun=true",
      "-stun-port=3478",
      "-c=/var/lib/derper/derper.key",
      "-certmode=letsencrypt",
      "-certdir=/var/lib/derper/certs",
      "-verify-client-url=https://hs.example.com/verify",
      "-verify-client-url-fail-open=false",
      "-mesh-with=derp-hk2.example.com",
      "-mesh-psk-file=/etc/derper/mesh.key",
    ]);
    expect(hk1.ports).toEqual([
      { internal: 443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 3478, external: 3478, ip: "0.0.0.0", protocol: "udp" },
    ]);
    const keyPath = join(secretsDir, "home-lab", "derp-mesh", "hkg.key");
    // The mesh key reaches the read-only container through a volume its seed fills, uploaded by
    // path and hash; with the kit's own image it is derper's (uid 65532) and 0400.
    expect(hk1.upload).toBeUndefined();
    expect(hk1.read_only).toBe(true);
    expect(hk1.volumes).toEqual([
      { volume_name: expect.stringMatching(/^\$\{docker_volume\.tailnet_region-hkg_hkg-1_Data_[0-9A-F]{8}\.name\}$/), container_path: "/var/lib/derper" },
      {
        volume_name: expect.stringMatching(/^\$\{docker_volume\.tailnet_region-hkg_hkg-1_Secrets_Volume_[0-9A-F]{8}\.name\}$/),
        container_path: "/etc/derper",
        read_only: true,
      },
    ]);
    const meshSeed = containers["tailnet_region-hkg_hkg-1_Secrets_Seed"]!;
    expect(meshSeed.upload).toEqual([{ file: "/in/mesh.key", source: keyPath, source_hash: expect.stringMatching(/^[0-9a-f]{64}$/), permissions: "0400" }]);
    expect(meshSeed.command[0]).toContain("chown 65532:65532 /seed/mesh.key.new\nchmod 0400 /seed/mesh.key.new\n");
    expect(hk1.depends_on).toEqual([expect.stringMatching(/^docker_container\.tailnet_region-hkg_hkg-1_Secrets_Seed_/)]);
    expect(containers["tailnet_region-hkg_hkg-2_Secrets_Seed"]!.upload[0].source).toBe(keyPath);
    const home = containers["tailnet_region-home_home-1"]!;
    expect(home.command).toContain("-certmode=manual");
    expect(home.command).toContain("-http-port=-1");
    expect(home.command).not.toContain("-mesh-with=derp-hk2.example.com");
    expect(home.upload).toBeUndefined();
    expect(home.ports.map((p: { internal: number; protocol: string }) => `${p.internal}/${p.protocol}`)).toEqual(["8443/tcp", "3478/udp"]);
  });

  it("builds derper at the pinned release from the rendered Dockerfile, once per engine", () => {
    const { json } = synthExample();
    const images = byPath(json, "docker_image");
    const hk1 = images["tailnet_host-hk-1_DerperImage"]!;
    expect(hk1.name).toBe("cdktf-tailnet/derper:1.102.5");
    expect(hk1.build.dockerfile).toBe("Dockerfile");
    expect(hk1.build.context).toMatch(/^assets\/cdktf-tailnet-derper-build-[0-9a-f]{16}\/[0-9A-F]{32}$/);
    expect(images["tailnet_host-hk-2_DerperImage"]!.build.context).toBe(hk1.build.context); // one asset, shared
    expect(Object.keys(images).filter((p) => p.includes("DerperImage"))).toHaveLength(5);
  });

  it("uses one provider alias per host, and every resource names its host's", () => {
    const { json } = synthExample();
    const aliases = json.provider.docker!.map((p) => `${p.alias}=${p.host}`);
    expect(aliases).toEqual([
      "cloud=ssh://deploy@203.0.113.10",
      "edge=ssh://deploy@192.0.2.50",
      "hk-1=ssh://deploy@198.51.100.11",
      "hk-2=ssh://deploy@198.51.100.12",
      "home=ssh://deploy@home-gw.example.net",
      "sh-1=ssh://deploy@198.51.100.21",
    ]);
    for (const type of ["docker_container", "docker_image", "docker_volume"]) {
      for (const r of Object.values(json.resource[type]!)) expect(r.provider).toMatch(/^docker\.[a-z0-9-]+$/);
    }
  });

  it("creates A/AAAA records that are never proxied, the zone looked up by name", () => {
    const { json } = synthExample();
    const records = Object.values(json.resource.cloudflare_dns_record!);
    expect(records.map((r) => `${r.name} ${r.type} ${r.content}`).sort()).toEqual([
      "derp-hk1.example.com A 198.51.100.11",
      "derp-hk2.example.com A 198.51.100.12",
      "derp-sh.example.com A 198.51.100.21",
      "hs.example.com A 203.0.113.10",
      "hs.example.com AAAA 2001:db8:10::1",
    ]);
    for (const r of records) {
      expect(r.proxied).toBe(false);
      expect(r.ttl).toBe(300);
      expect(r.zone_id).toMatch(/^\$\{data\.cloudflare_zone\.tailnet_dns_Zone_[0-9A-F]{8}\.zone_id\}$/);
    }
    expect(Object.values(json.data!.cloudflare_zone!)[0]!.filter).toEqual({ name: "example.com" });
  });

  it("creates a dynamic host's record once and leaves later changes to the updater", () => {
    const spec = exampleSpec();
    spec.hosts!.find((h) => h.name === "home")!.publicIpv4 = "192.0.2.99";
    const { json } = synthExample(spec);
    const home = Object.values(json.resource.cloudflare_dns_record!).find((r) => r.name === "derp-home.example.com")!;
    expect(home.content).toBe("192.0.2.99");
    expect(home.lifecycle).toEqual({ ignore_changes: ["content"] });
  });

  it("puts no secret literal into cdk.tf.json: mesh keys, TLS material and API tokens stay out", () => {
    const spec = exampleSpec();
    spec.hosts!.find((h) => h.name === "cloud")!.docker = { daemon: "tcp://203.0.113.10:2376" };
    const secretsDir = tempSecretsDir();
    const token = "cf-token-value-that-must-not-leak";
    process.env.TF_VAR_cloudflare_api_token = token;
    const { text, json } = synthStack((stack) => {
      const apiToken = new TerraformVariable(stack, "cloudflare_api_token", { type: "string", sensitive: true }).stringValue;
      new Tailnet(stack, "tailnet", { spec, secretsDir, cloudflareApiToken: apiToken });
    });
    delete process.env.TF_VAR_cloudflare_api_token;
    const meshKey = readFileSync(join(secretsDir, "home-lab", "derp-mesh", "hkg.key"), "utf8").trim();
    expect(meshKey).toMatch(/^[0-9a-f]{64}$/);
    for (const secret of [meshKey, token]) expect(text).not.toContain(secret);
    expect(json.provider.cloudflare![0]!.api_token).toBe("${var.cloudflare_api_token}");
    const cloud = json.provider.docker!.find((p) => p.alias === "cloud")!;
    expect(cloud.ca_material).toMatch(/^\$\{var\.[a-zA-Z0-9_-]+\}$/);
    expect(cloud.key_material).toMatch(/^\$\{var\.[a-zA-Z0-9_-]+\}$/);
    for (const v of Object.values((json as TfJson).variable!)) expect(v.sensitive).toBe(true);
  });

  it("never gives a read-only container an upload (Docker refuses them: 'container rootfs is marked read-only')", () => {
    const { json } = synthExample();
    const containers = Object.entries(byPath(json, "docker_container"));
    expect(containers.length).toBeGreaterThan(10);
    const broken = containers.filter(([, c]) => c.read_only === true && c.upload !== undefined).map(([id]) => id);
    expect(broken).toEqual([]);
    // Every one-shot (attach, must not run) fails the apply when it exits non-zero.
    for (const [id, c] of containers.filter(([, c]) => c.attach === true))
      expect(c.lifecycle?.postcondition?.[0]?.condition, id).toBe("${self.exit_code == 0}");
  });

  it("synthesizes byte-identical JSON twice for the same spec", () => {
    const secretsDir = tempSecretsDir();
    expect(synthExample(exampleSpec(), secretsDir).text).toBe(synthExample(exampleSpec(), secretsDir).text);
  });

  it("keeps the blast radius small: one node's port changes that node's container and the maps headscale loads", () => {
    const secretsDir = tempSecretsDir();
    const before = synthExample(exampleSpec(), secretsDir).json;
    const spec = exampleSpec();
    spec.derp!.regions!.find((r) => r.code === "sha")!.nodes[0]!.derpPort = 8443;
    const after = synthExample(spec, secretsDir).json;
    const changed: string[] = [];
    for (const type of new Set([...Object.keys(before.resource), ...Object.keys(after.resource)])) {
      for (const id of new Set([...Object.keys(before.resource[type] ?? {}), ...Object.keys(after.resource[type] ?? {})])) {
        if (JSON.stringify(before.resource[type]?.[id]) !== JSON.stringify(after.resource[type]?.[id])) changed.push(`${type}.${id}`);
      }
    }
    // derp.yaml's seed, headscale (the config is in its labels, so it restarts on the new map) and
    // the node; the same three a real `terraform plan` replaces (test/integration/docker-host-e2e).
    expect(changed.sort()).toEqual([
      "docker_container.tailnet_headscale_Config_Seed_B96AE810",
      "docker_container.tailnet_headscale_E72AA2E0",
      "docker_container.tailnet_region-sha_sha-1_A49A13E4",
    ]);
    expect(JSON.stringify(before.provider)).toBe(JSON.stringify(after.provider));
    expect(JSON.stringify(before.data)).toBe(JSON.stringify(after.data));
  });

  it("warns through annotations about risky choices and missing pieces", () => {
    const spec = exampleSpec();
    spec.derp!.tailscaleRegions = "keep";
    const { tailnet } = synthExample(spec);
    const warnings = tailnet.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((m) => m.type === "@cdktf/warn")
      .map((m) => String(m.data));
    // Exactly the model's warnings, word for word what the CLI prints, each reported once.
    expect([...warnings].sort()).toEqual(tailnet.model.warnings.map(formatWarning).sort());
    expect(warnings.some((w) => w.startsWith("derp.tailscaleRegions: headscale fetches Tailscale's public DERP map"))).toBe(true);
    expect(warnings.some((w) => w.includes("headscale's backups stay on host cloud"))).toBe(true);
    expect(warnings.some((w) => w.includes("home-1"))).toBe(false); // its DNS-01 client installs the certificate files
    expect(warnings.some((w) => w.includes("edge-1"))).toBe(false); // its certificate is kit-issued and pinned
    expect(warnings).toContain(
      "dns: no DNS record for derp-home.example.com is created at deploy time: host home has no address in the spec; its dynamic-DNS updater creates the record when it first runs (fix: nothing, if the updater on home runs; give the host publicIpv4/publicIpv6 to have the record from the first deploy)",
    );
    // Each on the construct it concerns: the backup on headscale, the record on the DNS records.
    const on = (path: string) =>
      tailnet.node
        .findAll()
        .find((c) => c.node.path.endsWith(path))!
        .node.metadata.filter((m) => m.type === "@cdktf/warn")
        .map((m) => String(m.data));
    expect(on("tailnet/headscale").some((w) => w.includes("headscale's backups stay on host cloud"))).toBe(true);
    expect(on("tailnet/dns").some((w) => w.includes("derp-home.example.com"))).toBe(true);
    expect(warnings.some((w) => w.includes("advisory"))).toBe(false); // the example targets 0.29.8
  });

  it("annotates a pinned headscale release's known advisories, on headscale", () => {
    const spec = exampleSpec();
    spec.headscale.version = "0.29.3";
    const { tailnet } = synthExample(spec);
    const on = (path: string) =>
      tailnet.node
        .findAll()
        .find((c) => c.node.path.endsWith(path))!
        .node.metadata.filter((m) => m.type === "@cdktf/warn")
        .map((m) => String(m.data));
    expect(on("tailnet/headscale").filter((w) => w.startsWith("headscale.version: "))).toEqual([
      expect.stringMatching(
        /^headscale\.version: headscale 0\.29\.3 has a known security advisory: headscale 0\.29\.7 security release, .*; fixed in 0\.29\.7 \(.*\) \(fix: set headscale\.version to 0\.29\.8 \(with upgradeFrom: "0\.29\.3" while it deploys\)\)$/,
      ),
      expect.stringMatching(/^headscale\.version: headscale 0\.29\.3 has a known compatibility advisory: headscale#3724, .*; fixed in 0\.29\.8 /),
    ]);
  });

  it("escapes literal ${ in uploaded files so Terraform does not read them as templates", () => {
    const spec = exampleSpec();
    spec.headscale.oidc = { issuer: "https://login.example.com", clientId: "hs", clientSecretPath: "$" + "{CREDENTIALS_DIRECTORY}/oidc_client_secret" };
    const { json } = synthExample(spec);
    const config = byPath(json, "docker_container").tailnet_headscale_Config_Seed!.upload[0].content as string;
    expect(config).toContain('client_secret_path: "$$' + '{CREDENTIALS_DIRECTORY}/oidc_client_secret"');
  });

  it("reloads a changed policy with SIGHUP instead of replacing headscale", () => {
    const secretsDir = tempSecretsDir();
    const before = synthExample(exampleSpec(), secretsDir).json;
    const spec = exampleSpec();
    spec.policy!.acls!.push({ src: ["alice"], dst: ["tag:router:22"] });
    const after = synthExample(spec, secretsDir).json;
    const changed = Object.keys(after.resource.docker_container!).filter(
      (id) => JSON.stringify(before.resource.docker_container![id]) !== JSON.stringify(after.resource.docker_container![id]),
    );
    expect(changed.map((id) => id.replace(/_[0-9A-F]{8}$/, "")).sort()).toEqual(["tailnet_headscale_PolicyReload", "tailnet_headscale_Policy_Seed"]);
    const reload = byPath(after, "docker_container").tailnet_headscale_PolicyReload!;
    // By id: Docker reports pid_mode as container:<id>, so a name would be a change on every plan.
    expect(reload.pid_mode).toBe("container:${docker_container.tailnet_headscale_E72AA2E0.id}");
    expect(reload.image).toMatch(/^\$\{docker_image\.tailnet_host-cloud_HelperImage_[0-9A-F]{8}\.image_id\}$/);
    expect(reload.command).toEqual(["kill -HUP 1"]);
    expect(reload.depends_on).toHaveLength(2);
  });

  it("backs headscale up in a container of its own: the kit's image, the data volume read-only, the backups in their own volume, no capabilities", () => {
    const { json, text } = synthExample();
    const containers = byPath(json, "docker_container");
    const backup = containers.tailnet_headscale_Backup!;
    const headscale = containers.tailnet_headscale!;
    expect(backup.name).toBe("headscale-backup");
    expect(backup.image).toMatch(/^\$\{docker_image\.tailnet_headscale_Backup_Image_[0-9A-F]{8}\.image_id\}$/);
    expect(backup.command).toBeUndefined(); // the image's loop
    expect(backup.volumes).toEqual([
      { container_path: "/var/lib/headscale", read_only: true, volume_name: headscale.volumes[0].volume_name },
      {
        container_path: "/var/lib/headscale-backup",
        volume_name: expect.stringMatching(/^\$\{docker_volume\.tailnet_headscale_Backup_Volume_[0-9A-F]{8}\.name\}$/),
      },
    ]);
    expect(backup.capabilities).toEqual({ drop: ["ALL"] });
    expect(backup.read_only).toBe(true);
    expect(backup.security_opts).toEqual(["no-new-privileges:true"]);
    expect(backup.network_mode).toBe("none"); // no restic repository off the host
    expect(backup.mounts).toBeUndefined();
    expect(backup.depends_on).toEqual([expect.stringMatching(/^docker_container\.tailnet_headscale_[0-9A-F]{8}$/)]);
    const volume = byPath(json, "docker_volume").tailnet_headscale_Backup_Volume!;
    expect(volume.name).toBe("headscale-backups");
    expect(volume.lifecycle.prevent_destroy).toBe(true);
    const image = byPath(json, "docker_image").tailnet_headscale_Backup_Image!;
    expect(image.name).toMatch(/^cdktf-tailnet\/headscale-backup-cloud:[0-9a-f]{12}$/);
    expect(image.build.dockerfile).toBe("Dockerfile");
    expect(text).not.toContain('restic-password"');
  });

  it("mounts restic's secret files of the Docker host read-only and opens the network for a remote repository: no secret in the JSON", () => {
    const spec = exampleSpec();
    spec.headscale.backup = { restic: { repository: "sftp:backup@backup.example.com:/srv/restic/hs" } };
    const { json } = synthExample(spec);
    const backup = byPath(json, "docker_container").tailnet_headscale_Backup!;
    expect(backup.network_mode).toBe("bridge");
    expect(backup.mounts).toEqual(
      ["/etc/cdktf-tailnet/restic-password", "/etc/cdktf-tailnet/restic-ssh-key", "/etc/cdktf-tailnet/restic-known-hosts"].map((f) => ({
        type: "bind",
        source: f,
        target: f,
        read_only: true,
      })),
    );
    expect(Object.keys(json.variable ?? {}).filter((v) => v.includes("restic"))).toEqual([]);
  });

  it("backs headscale up in a one-shot container before an upgraded headscale starts, and restores that backup before a rolled-back one starts", () => {
    const spec = exampleSpec();
    spec.headscale.version = "0.29.3";
    spec.headscale.upgradeFrom = "0.28.0";
    const { json } = synthExample(spec);
    const containers = byPath(json, "docker_container");
    const pre = containers.tailnet_headscale_Backup_PreUpgrade!;
    expect(pre.name).toBe("headscale-backup-pre-upgrade-0.28.0-to-0.29.3");
    expect(pre.attach).toBe(true);
    expect(pre.command).toEqual(["pre-upgrade", "0.28.0", "0.29.3"]);
    expect(pre.image).toBe(containers.tailnet_headscale_Backup!.image);
    expect(pre.volumes[0]).toEqual({ ...containers.tailnet_headscale_Backup!.volumes[0], read_only: true });
    expect(containers.tailnet_headscale!.depends_on).toEqual([
      expect.stringMatching(/^docker_container\.tailnet_headscale_Backup_PreUpgrade_[0-9A-F]{8}$/),
      expect.stringMatching(/^docker_container\.tailnet_headscale_Config_Seed_[0-9A-F]{8}$/),
      expect.stringMatching(/^docker_container\.tailnet_headscale_Policy_Seed_[0-9A-F]{8}$/),
    ]);
    expect(pre.lifecycle.postcondition[0].condition).toBe("${self.exit_code == 0}");
    expect(byPath(synthExample().json, "docker_container").tailnet_headscale_Backup_PreUpgrade).toBeUndefined();

    const back = exampleSpec();
    back.headscale.version = "0.28.0";
    back.headscale.rollbackFrom = "0.29.3";
    const rolled = byPath(synthExample(back).json, "docker_container");
    const rollback = rolled.tailnet_headscale_Backup_Rollback!;
    expect(rollback.name).toBe("headscale-backup-rollback-0.29.3-to-0.28.0");
    expect(rollback.command).toEqual(["rollback", "0.29.3", "0.28.0"]);
    expect(rollback.volumes[0].read_only).toBe(false); // it writes headscale's state
    expect(rolled.tailnet_headscale!.depends_on[0]).toMatch(/^docker_container\.tailnet_headscale_Backup_Rollback_[0-9A-F]{8}$/);
  });

  it("refuses an invalid spec before creating anything, listing every problem", () => {
    const spec: any = exampleSpec();
    spec.dns.proxied = true;
    spec.derp.regions[0].id = 5;
    expect(() => synthStack((stack) => new Tailnet(stack, "tailnet", { spec }))).toThrow(TailnetSpecError);
    try {
      synthStack((stack) => new Tailnet(stack, "tailnet", { spec }));
    } catch (e) {
      expect((e as TailnetSpecError).issues.map((i) => i.path)).toEqual(["derp.regions[0].id", "dns.proxied"]);
    }
  });

  it("L2s refuse to deploy a part onto a host the spec does not name for it", () => {
    const tailnet = prepareTailnet(exampleSpec());
    expect(() =>
      synthStack((stack) => {
        const host = new DockerHost(stack, "hk", { name: "hk-1", daemon: "ssh://deploy@198.51.100.11" });
        new HeadscaleServer(stack, "hs", { tailnet, host });
      }),
    ).toThrow('headscale runs on host "cloud" in the spec, not on "hk-1"; set headscale.host');
  });
});
