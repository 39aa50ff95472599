/**
 * `cdktf deploy` as the README tells it: the cdktf CLI (the pinned devDependency cdktf-cli 0.21.0)
 * runs the repository's app (main.ts, the home-lab example's stack) on a spec of the same shape
 * pointed at a real Docker engine the test starts, and applies it with Terraform; `cdktf diff`
 * then finds nothing to change. No other test drives the CLI: the Docker end-to-end tests call
 * Terraform themselves to inspect plans.
 *
 * Terraform cannot download providers here, so the Docker provider that scripts/build-upstream.sh
 * built from its Go module is offered as the only filesystem mirror, under the version the
 * synthesized stack requires (3.6.2; see docker-host-e2e for why the binary is a 4.6 snapshot):
 * `terraform init`, which `cdktf deploy` runs, installs it from there (`--skip-provider-lock`, as on
 * any machine that reaches providers only through a mirror). Images are the stand-ins
 * made from the real headscale and derper binaries (no registry can be reached).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELPER_IMAGE } from "../../constructs/index.js";
import { hasCommand } from "../support/commands.js";
import { dockerSkipReason, scratchDir, startDockerEngine, type DockerEngine } from "../support/docker-engine.js";
import { importBusyboxImage, importDerperImage, importHeadscaleImages } from "../support/docker-images.js";
import { skipReason } from "../support/requirements.js";
import { terraformDockerProviderDir, upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

const repo = new URL("../../", import.meta.url).pathname;
const headscaleVersion = upstreamVersions.headscale.at(-1)!.replace(/^v/, "");
const tailscaleVersion = upstreamVersions.tailscale.replace(/^v/, "");
const DERPER_IMAGE = `cdktf-test/derper:${tailscaleVersion}`;
const skip = skipReason(
  "cdktf-deploy",
  dockerSkipReason(),
  upstreamSkipReason,
  hasCommand("terraform") ? undefined : "terraform is not installed (the machine image ships /usr/local/bin/terraform; there is no Debian package)",
);

/** The example's shape (coordination server with a policy, an IP-only DERP node with a pinned certificate) on one engine. */
function specYaml(daemon: string): string {
  return `name: deploy-e2e
headscale:
  version: "${headscaleVersion}"
  serverUrl: https://hs.example.com
  host: engine
  listenAddr: 0.0.0.0:8080
  dns: { baseDomain: tail.example.net }
  # No image is built here (derper's is given below): the backup image's build is proven in docker-host-e2e.
  backup: { enabled: false }
users: [{ name: alice }]
policy:
  groups: { "group:admins": [alice] }
  acls: [{ src: ["group:admins"], dst: ["*:*"] }]
derp:
  tailscaleRegions: drop
  derper: { version: "${tailscaleVersion}", image: "${DERPER_IMAGE}" }
  regions:
    - id: 900
      code: lab
      name: Lab
      nodes: [{ name: lab-1, host: engine, hostname: 192.0.2.80, derpPort: 8443, certificate: { mode: self-signed } }]
hosts:
  - { name: engine, docker: { daemon: "${daemon}" } }
`;
}

describe.skipIf(!!skip)("cdktf deploy of the example's stack on a real Docker engine", () => {
  let engine: DockerEngine | undefined;
  let scratch: ReturnType<typeof scratchDir>;
  let project: string;
  let env: Record<string, string>;
  let deploy: { exitCode: number; output: string };

  const cdktf = async (args: string[]) => {
    const r = await execa(join(repo, "node_modules/.bin/cdktf"), args, { cwd: project, env, extendEnv: false, reject: false, all: true, timeout: 600_000 });
    // (Terraform colours its messages even with --no-color when cdktf runs it in a pseudo-terminal.)
    return { exitCode: r.exitCode ?? -1, output: (r.all ?? "").replace(/\x1b\[[0-9;]*m/g, "") };
  };

  beforeAll(async () => {
    scratch = scratchDir("cdktf-deploy-e2e-");
    project = join(scratch.dir, "project");
    mkdirSync(project);
    // Terraform finds the Docker provider in a mirror of its own, and nowhere else.
    const platform = join(scratch.dir, "mirror/registry.terraform.io/kreuzwerker/docker/3.6.2/linux_amd64");
    mkdirSync(platform, { recursive: true });
    copyFileSync(join(terraformDockerProviderDir(), "terraform-provider-docker"), join(platform, "terraform-provider-docker_v3.6.2"));
    const rc = join(scratch.dir, "terraformrc");
    writeFileSync(rc, `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(join(scratch.dir, "mirror"))}\n  }\n}\n`);
    engine = await startDockerEngine({ bridgeNetwork: true });
    await importHeadscaleImages(engine, headscaleVersion, upstreamBinary("headscale", headscaleVersion));
    await importDerperImage(engine, DERPER_IMAGE, upstreamBinary("derper", tailscaleVersion));
    await importBusyboxImage(engine, HELPER_IMAGE);
    const spec = join(project, "tailnet.yaml");
    writeFileSync(spec, specYaml(engine.host));
    // The repository's app, as cdktf.json runs it, from a project folder of the test's (its state stays there).
    const app = JSON.parse(readFileSync(join(repo, "cdktf.json"), "utf8")) as { app: string };
    expect(app.app).toBe("npx tsx main.ts");
    writeFileSync(
      join(project, "cdktf.json"),
      JSON.stringify({
        language: "typescript",
        app: `${join(repo, "node_modules/.bin/tsx")} ${join(repo, "main.ts")}`,
        projectId: "deploy-e2e",
        sendCrashReports: "false",
      }),
    );
    const childTemp = join(scratch.dir, "tmp");
    mkdirSync(childTemp);
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: scratch.dir,
      CHECKPOINT_DISABLE: "1",
      TF_IN_AUTOMATION: "1",
      TF_CLI_CONFIG_FILE: rc,
      CI: "1",
      CDKTF_TAILNET_SPEC: spec,
      CDKTF_TAILNET_SECRETS_DIR: join(scratch.dir, "secrets"),
      // A temp dir inside the scratch folder (removed with it: tsx always leaves its tsx-<uid>
      // folder), and no tsx cache: without them tsx kept ~100 compiled modules in the system's
      // /tmp/tsx-<uid> after the run.
      TMPDIR: childTemp,
      TSX_DISABLE_CACHE: "1",
    };
    // --skip-provider-lock: cdktf's extra `terraform providers lock` asks the public registry for
    // every platform's checksums, which a machine with only a mirror cannot reach.
    deploy = await cdktf(["deploy", "home-lab", "--auto-approve", "--skip-provider-lock"]);
  }, 900_000);

  afterAll(async () => {
    await engine?.stop();
    scratch?.remove();
  }, 120_000);

  it("applies the stack: headscale answers /health and derper its probe on the published ports", async () => {
    expect(deploy.exitCode, deploy.output.slice(-6000)).toBe(0);
    expect(deploy.output).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
    expect(existsSync(join(project, "terraform.home-lab.tfstate"))).toBe(true);
    const deadline = Date.now() + 60_000;
    let last = "";
    for (;;) {
      const hs = await execa("ip", ["netns", "exec", engine!.netns!, "curl", "-sf", "http://127.0.0.1:8080/health"], { reject: false });
      const derp = await execa("ip", ["netns", "exec", engine!.netns!, "curl", "-ksf", "https://127.0.0.1:8443/derp/probe"], { reject: false });
      last = `/health exit ${hs.exitCode}, /derp/probe exit ${derp.exitCode}`;
      if (hs.exitCode === 0 && derp.exitCode === 0) break;
      if (Date.now() > deadline) throw new Error(`services did not answer: ${last}\n${await engine!.docker(["ps", "-a"])}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  it("prints the model's warnings, as the kit's CLI does", () => {
    expect(deploy.output).toContain("scheduled backups are off (headscale.backup.enabled: false): losing it means every node registers again");
  });

  it("finds nothing to change in a second `cdktf diff`", async () => {
    const diff = await cdktf(["diff", "home-lab", "--skip-provider-lock"]);
    expect(diff.exitCode, diff.output.slice(-4000)).toBe(0);
    expect(diff.output).toMatch(/No changes\. Your infrastructure matches the configuration\./);
  });
});
