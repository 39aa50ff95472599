/**
 * End to end: `terraform apply` of a synthesized Docker-host stack (a Tailnet with headscale, its
 * policy, and a DERP node on one engine) against a real Docker engine, with the real headscale
 * and derper running in the containers the kit declares.
 *
 * - The engine: Debian's dockerd, started by the test in a network namespace of its own with
 *   Docker's bridge there (test/support/docker-engine.ts); published ports are reached inside
 *   that namespace. Terraform talks to it over its unix socket (the host's `docker.daemon`).
 * - The provider: Terraform cannot download providers here, so scripts/build-upstream.sh builds
 *   kreuzwerker/docker from its Go module and Terraform uses it through `dev_overrides`. The
 *   version the kit pins (3.6.2) is not served by the Go module proxy; the one served is a 4.6
 *   development snapshot (model/upstream-versions.json), whose container, image and volume schema
 *   the kit's JSON fits. So this proves the kit's resources against the real Docker engine and a
 *   real kreuzwerker provider, not against 3.6.2 byte for byte.
 * - The images: no registry can be reached, so the official headscale image (and its -debug
 *   variant) is a stand-in made from the real binary the test setup built, laid out as the real
 *   one is (test/support/docker-images.ts). derper's image is the kit's own: Terraform builds it on
 *   the engine from the kit's Dockerfile at the pinned release, given stand-in bases as build
 *   arguments (the Go toolchain of this machine with its module cache as an on-disk module proxy,
 *   and an empty runtime; test/support/build-bases.ts), and derper runs from it with the kit's
 *   flags. The DNS helpers' images (ACME client, DDNS updater) are built from their rendered
 *   build contexts on a stand-in Debian base that already has their packages.
 *
 * headscale's backups have a describe of their own (the other stacks turn scheduled backups off,
 * so only it imports a stand-in for the helper images' Debian base): the scheduled container
 * takes checked backups with headscale's data volume read-only; an upgrade 0.28 -> 0.29 is backed
 * up by a one-shot first; after the database and the noise key are deleted while headscale runs,
 * `cdktf-tailnet restore --via docker:headscale` brings it back on the same key; and a rollback
 * spec restores the pre-upgrade backup before 0.28 starts again.
 *
 * Proves: the first apply succeeds and headscale (healthy by its own `headscale health` check)
 * and derper (with the kit-issued pinned certificate) answer on the published ports; the files in
 * the read-only headscale container are byte for byte the rendered ones, in read-only volumes
 * their seeds filled; no secret is in cdk.tf.json; a second plan is empty; a policy change
 * replaces only the policy seed and reload one-shots and headscale reloads it without a restart;
 * changing the DERP node's port replaces exactly derp.yaml's seed, headscale and that node (the
 * plan JSON); a seed that fails fails the apply with its step named.
 *
 * What it found that synthesized JSON could not show: Docker refuses uploads into a read-only
 * container (hence the seeds), `pid_mode` must name a container by id (Docker reports ids, so a
 * name is a change on every plan), capabilities must be spelled CAP_* (as Docker stores them),
 * and the provider ignores a one-shot's exit code (hence the postcondition).
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { App, TerraformStack } from "cdktf";
import { execa } from "execa";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerHost, HELPER_IMAGE, Tailnet } from "../../constructs/index.js";
import { SeededVolume } from "../../constructs/seeded-volume.js";
import type { TailnetSpec } from "../../model/index.js";
import { HELPER_BASE_IMAGE, placeHeadscaleFiles, renderTailnet } from "../../render/index.js";
import { derperArgs } from "../../render/command-lines.js";
import { runCli } from "../../cli/main.js";
import { prepareTailnet } from "../../secrets/index.js";
import { hasCommand } from "../support/commands.js";
import { bootSystemdContainer, dockerSkipReason, scratchDir, startDockerEngine, type DockerEngine, type SystemdContainer } from "../support/docker-engine.js";
import { importSystemdImage, systemdImageTarball } from "../support/systemd-image.js";
import { BUSYBOX, importBackupBaseImage, importBusyboxImage, importHeadscaleImages } from "../support/docker-images.js";
import { GO_STAND_IN_ARGS, goBuilderTarball, importGoBuilder, importHelperBase, importRuntimeBase } from "../support/build-bases.js";
import { exampleSpec } from "../support/specs.js";
import { terraformDockerProviderDir, upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { selfSignedReqArgs } from "../support/openssl.js";

const TERRAFORM = process.env.TERRAFORM ?? "terraform";
const skipReason =
  dockerSkipReason() ??
  upstreamSkipReason ??
  (hasCommand(TERRAFORM)
    ? undefined
    : "terraform is not installed (the machine image ships /usr/local/bin/terraform; there is no Debian package), so nothing can be applied") ??
  (existsSync(BUSYBOX) ? undefined : `${BUSYBOX} is missing (Debian package busybox-static), which the stand-in helper image needs`);
if (skipReason) console.warn(`docker-host-e2e skipped: ${skipReason}`);

const headscaleVersion = upstreamVersions.headscale.at(-1)!.replace(/^v/, "");
const tailscaleVersion = upstreamVersions.tailscale.replace(/^v/, "");
/** Stand-in bases for the kit's derper Dockerfile (no registry here): test/support/build-bases.ts. */
const GO_BUILDER = `cdktf-test/go-builder:${tailscaleVersion}`;
const STATIC_RUNTIME = "cdktf-test/static-runtime:1";
/** The build arguments the test gives the kit's derper Dockerfile: its bases and its module source. */
const DERPER_BUILD_ARGS = { GO_IMAGE: GO_BUILDER, RUNTIME_IMAGE: STATIC_RUNTIME, ...GO_STAND_IN_ARGS };

/** The meshed region's nodes; their certificates are made by openssl in beforeAll. */
const MESH_NODES = [
  { name: "mesh-1", hostname: "derp-a.example.test", port: 8445, stun: 3479, certFile: "", keyFile: "" },
  { name: "mesh-2", hostname: "derp-b.example.test", port: 8446, stun: 3480, certFile: "", keyFile: "" },
];

interface Change {
  policy?: boolean;
  derpPort?: number;
}

function spec(daemon: string, change: Change = {}): TailnetSpec {
  return {
    name: "docker-e2e",
    headscale: {
      version: headscaleVersion,
      serverUrl: "https://hs.example.com",
      host: "engine",
      listenAddr: "0.0.0.0:8080",
      dns: { baseDomain: "tail.example.net" },
      // The backups have a describe of their own below (it imports the helper images' base).
      backup: { enabled: false },
    },
    users: [{ name: "alice" }],
    policy: { groups: { "group:admins": ["alice"] }, acls: [{ src: ["group:admins"], dst: [change.policy ? "*:22" : "*:*"] }] },
    derp: {
      // No image of our own: the kit builds derper from its Dockerfile on the engine.
      derper: { version: tailscaleVersion },
      regions: [
        {
          id: 900,
          code: "lab",
          name: "Lab",
          // An IP-only node (a documentation address; validation refuses loopback, which every
          // client would dial as itself): derper serves on the port published in the engine's namespace.
          nodes: [{ name: "lab-1", host: "engine", hostname: "192.0.2.80", derpPort: change.derpPort ?? 8443, certificate: { mode: "self-signed" } }],
        },
        {
          // Two meshed nodes with certificate files of the user's: the region's mesh key and the
          // certificates reach the read-only containers through their seeds.
          id: 901,
          code: "mesh",
          name: "Mesh",
          nodes: MESH_NODES.map((n) => ({
            name: n.name,
            host: "engine",
            hostname: n.hostname,
            ipv4: "192.0.2.10",
            derpPort: n.port,
            stunPort: n.stun,
            certificate: { mode: "manual" as const, certFile: n.certFile, keyFile: n.keyFile },
          })),
        },
      ],
    },
    hosts: [{ name: "engine", docker: { daemon } }],
  };
}

interface Run {
  readonly exitCode: number;
  readonly output: string;
}

/**
 * Terraform's environment for a scratch folder: a CLI config whose dev_overrides hand Terraform
 * the provider scripts/build-upstream.sh built (and that finds no other provider), no telemetry.
 */
function terraformEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const config = join(dir, "terraformrc");
  const mirror = join(dir, "no-mirror");
  mkdirSync(mirror, { recursive: true });
  writeFileSync(
    config,
    `provider_installation {\n  dev_overrides {\n    "kreuzwerker/docker" = ${JSON.stringify(terraformDockerProviderDir())}\n  }\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`,
  );
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: config, ...extra };
}

/**
 * Synthesizes a stack into `<outdir>/stacks/<name>` for Terraform. With a provider under
 * dev_overrides Terraform runs without `terraform init` (which would try to download it); only
 * the local backend block cdktf always writes needs init, so it goes: the state is then
 * terraform.tfstate in the stack folder, as with any local backend.
 */
function synthForTerraform(outdir: string, name: string, build: (stack: TerraformStack) => void): { stackDir: string; json: any; text: string } {
  const app = new App({ outdir, stackTraces: false });
  build(new TerraformStack(app, name));
  app.synth();
  const stackDir = join(outdir, "stacks", name);
  const file = join(stackDir, "cdk.tf.json");
  const json = JSON.parse(readFileSync(file, "utf8"));
  delete json.terraform.backend;
  // The provider built here is a 4.x development snapshot that builds images with buildx unless
  // told otherwise; 3.6.2 (which the kit pins, and whose schema has no such key) always uses the
  // engine's own builder, as this does.
  // The kit's derper image builds from stand-in bases and this machine's Go modules (build args).
  for (const image of Object.values((json.resource?.docker_image ?? {}) as Record<string, { name?: string; build?: Record<string, unknown> }>)) {
    if (image.build) image.build.use_legacy_builder = true;
    if (image.build && String(image.name).startsWith("cdktf-tailnet/derper:")) image.build.build_args = DERPER_BUILD_ARGS;
  }
  writeFileSync(file, JSON.stringify(json, null, 2));
  return { stackDir, json, text: readFileSync(file, "utf8") };
}

/** `terraform apply` in `dir`, inside network namespace `netns` when given. */
async function terraformApply(dir: string, env: Record<string, string>, netns?: string): Promise<Run> {
  const command = netns ? ["ip", "netns", "exec", netns, TERRAFORM] : [TERRAFORM];
  const r = await execa(command[0]!, [...command.slice(1), "apply", "-input=false", "-auto-approve", "-no-color"], {
    cwd: dir,
    env,
    reject: false,
    all: true,
    timeout: 300_000,
  });
  return { exitCode: r.exitCode ?? -1, output: r.all ?? "" };
}

describe.skipIf(skipReason !== undefined)("Docker hosts: terraform apply of a synthesized stack on a real Docker engine", () => {
  let engine: DockerEngine | undefined;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  let secretsDir: string;
  let stackDir: string;
  let tfEnv: Record<string, string>;
  let firstApply: Run;
  let dockerUnavailable: string | undefined;

  const synth = (change: Change = {}): string => {
    const out = synthForTerraform(
      join(scratch!.dir, "cdktf.out"),
      "docker",
      (stack) => new Tailnet(stack, "tailnet", { spec: spec(engine!.host, change), secretsDir }),
    );
    stackDir = out.stackDir;
    return out.text;
  };

  const terraform = async (args: string[]): Promise<Run> => {
    const r = await execa(TERRAFORM, args, { cwd: stackDir, env: tfEnv, reject: false, all: true, timeout: 300_000 });
    return { exitCode: r.exitCode ?? -1, output: r.all ?? "" };
  };

  const inNetns = async (command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> => {
    const r = await execa("ip", ["netns", "exec", engine!.netns!, ...command], { reject: false, timeout: 60_000 });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  const inspect = async (
    name: string,
  ): Promise<{ Id: string; State: { Pid: number; StartedAt: string; Health?: { Status: string } }; HostConfig: { ReadonlyRootfs: boolean } }> =>
    JSON.parse(await engine!.docker(["inspect", name]))[0];

  /** A file in a container (`docker cp` to a tar stream): content, mode and owner. */
  const fileIn = async (container: string, path: string): Promise<{ content: string; mode: string; owner: string }> => {
    const r = await execa("docker", ["cp", `${container}:${path}`, "-"], { env: { ...process.env, DOCKER_HOST: engine!.host }, encoding: "buffer" });
    const tar = Buffer.from(r.stdout);
    const field = (offset: number, length: number) =>
      tar
        .subarray(offset, offset + length)
        .toString("latin1")
        .replace(/\0.*$/s, "")
        .trim();
    const size = parseInt(field(124, 12), 8);
    return {
      content: tar.subarray(512, 512 + size).toString("utf8"),
      mode: `0${(parseInt(field(100, 8), 8) & 0o777).toString(8)}`,
      owner: `${parseInt(field(108, 8), 8)}:${parseInt(field(116, 8), 8)}`,
    };
  };

  /** The resources a plan changes, with their actions (terraform show -json of a saved plan). */
  const planChanges = async (): Promise<Record<string, string>> => {
    const plan = await terraform(["plan", "-input=false", "-no-color", "-out=change.tfplan"]);
    expect(plan.exitCode, plan.output.slice(-4000)).toBe(0);
    const show = await execa(TERRAFORM, ["show", "-json", "change.tfplan"], { cwd: stackDir, env: tfEnv });
    const changes = (JSON.parse(show.stdout) as { resource_changes: { address: string; change: { actions: string[] } }[] }).resource_changes;
    return Object.fromEntries(
      changes.filter((c) => c.change.actions.join() !== "no-op" && c.change.actions.join() !== "read").map((c) => [c.address, c.change.actions.join("+")]),
    );
  };

  const apply = async (): Promise<Run> => terraform(["apply", "-input=false", "-auto-approve", "-no-color"]);

  /**
   * Waits until both services answer on their published ports and headscale's own health check
   * command (the container's HEALTHCHECK, `headscale health`) passes inside the container.
   * (Docker runs that check first after its 30 s interval; the test runs it itself rather than wait.)
   */
  const waitForServices = async (derpPort: number) => {
    const deadline = Date.now() + 60_000;
    let last = "";
    while (Date.now() < deadline) {
      const check = await execa("docker", ["exec", "headscale", "headscale", "health"], { env: { ...process.env, DOCKER_HOST: engine!.host }, reject: false });
      const hs = await inNetns(["curl", "-sf", "http://127.0.0.1:8080/health"]);
      const derp = await inNetns(["curl", "-ksf", `https://127.0.0.1:${derpPort}/derp/probe`]);
      last = `headscale health exit ${check.exitCode} (${(check.stdout + check.stderr).trim().slice(0, 300)}), /health exit ${hs.exitCode}, /derp/probe exit ${derp.exitCode}`;
      if (check.exitCode === 0 && hs.exitCode === 0 && derp.exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    const logs = async (name: string) =>
      ((await execa("docker", ["logs", name], { env: { ...process.env, DOCKER_HOST: engine!.host }, reject: false, all: true })).all ?? "").slice(-3000);
    throw new Error(
      `services did not come up: ${last}\nheadscale log:\n${await logs("headscale")}\nderper log:\n${await logs("derper-lab-1")}\n${await engine!.docker(["ps", "-a"])}`,
    );
  };

  beforeAll(async () => {
    scratch = scratchDir("cdktf-docker-e2e-");
    secretsDir = join(scratch.dir, "secrets");
    tfEnv = terraformEnv(scratch.dir);
    for (const n of MESH_NODES) {
      n.certFile = join(scratch.dir, `${n.hostname}.crt`);
      n.keyFile = join(scratch.dir, `${n.hostname}.key`);
      await execa(
        "openssl",
        selfSignedReqArgs({ subject: `/CN=${n.hostname}`, days: 30, sans: [`DNS:${n.hostname}`], keyOut: n.keyFile, certOut: n.certFile }),
      );
    }
    try {
      engine = await startDockerEngine({ bridgeNetwork: true });
    } catch (e) {
      dockerUnavailable = `dockerd cannot start on this machine: ${(e as Error).message.slice(0, 1500)}`;
      console.warn(`docker-host-e2e skipped: ${dockerUnavailable}`);
      return;
    }
    await importHeadscaleImages(engine, headscaleVersion, upstreamBinary("headscale", headscaleVersion));
    const builder = await goBuilderTarball(tailscaleVersion);
    if (builder.buildSeconds > 0) console.log(`go builder stand-in built in ${builder.buildSeconds.toFixed(0)} s (cached in ${builder.tarball})`);
    await importGoBuilder(engine, builder.tarball, GO_BUILDER);
    await importRuntimeBase(engine, STATIC_RUNTIME);
    await importBusyboxImage(engine, HELPER_IMAGE);
    synth();
    firstApply = await apply();
  }, 600_000);

  afterAll(async () => {
    await engine?.stop();
    scratch?.remove();
  }, 120_000);

  it("applies: headscale is healthy and answers, derper serves the kit-issued pinned certificate", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    expect(firstApply.exitCode, firstApply.output.slice(-6000)).toBe(0);
    expect(firstApply.output).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
    await waitForServices(8443);
    const served = await inNetns(["sh", "-c", "openssl s_client -connect 127.0.0.1:8443 </dev/null 2>/dev/null | openssl x509 -outform PEM"]);
    const tailnet = prepareTailnet(spec(engine!.host), { secretsDir });
    const node = tailnet.derp.regions[0]!.nodes[0]!;
    const issued = new X509Certificate(readFileSync(node.derper.certificateFiles!.certFile));
    expect(new X509Certificate(served.stdout).fingerprint256).toBe(issued.fingerprint256);

    // derper runs from the image the kit built from its own Dockerfile (at the pinned release, on
    // the stand-in bases), as its user, with exactly the kit's flags.
    const image = JSON.parse(await engine!.docker(["image", "inspect", `cdktf-tailnet/derper:${tailscaleVersion}`]))[0];
    expect([image.Config.User, image.Config.Entrypoint]).toEqual(["65532:65532", ["/usr/local/bin/derper"]]);
    const container = JSON.parse(await engine!.docker(["inspect", "derper-lab-1"]))[0];
    expect(container.Image).toBe(image.Id);
    expect(container.Args).toEqual(derperArgs(node));
    const version = await engine!.docker(["run", "--rm", "--network", "none", `cdktf-tailnet/derper:${tailscaleVersion}`, "--version"]);
    expect(version.trim()).toMatch(new RegExp(`^${tailscaleVersion.replaceAll(".", "\\.")}\\b`));
  }, 120_000);

  it("puts the rendered files where headscale reads them, in read-only volumes of a read-only container", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const tailnet = prepareTailnet(spec(engine!.host), { secretsDir });
    const rendered = Object.fromEntries(placeHeadscaleFiles(tailnet).map((p) => [p.hostPath, p.file.content]));
    expect(Object.keys(rendered).sort()).toEqual(["/etc/headscale/config.yaml", "/etc/headscale/derp.yaml", "/etc/headscale/policy/policy.json"]);
    for (const [path, content] of Object.entries(rendered)) {
      const file = await fileIn("headscale", path);
      expect(file.content, path).toBe(content);
      expect([file.mode, file.owner], path).toEqual(["0444", "0:0"]);
    }
    for (const name of ["headscale", "derper-lab-1"]) expect((await inspect(name)).HostConfig.ReadonlyRootfs, name).toBe(true);
    // derper's certificate key: the kit's own image runs derper as 65532, so the key is its own, 0400
    // (an image of the user's own, its uid unknown, gets 0444); the seeds kept no copy.
    const key = await fileIn("derper-lab-1", "/var/lib/derper/certs/192.0.2.80.key");
    expect([key.mode, key.owner]).toEqual(["0400", "65532:65532"]);
    const seedLeft = await execa("docker", ["cp", "derper-lab-1-certificates-seed:/in", "-"], {
      env: { ...process.env, DOCKER_HOST: engine!.host },
      reject: false,
    });
    expect(seedLeft.exitCode).not.toBe(0);
  });

  it("builds the kit's DNS helper images (the ACME client, the DDNS updater) from their Dockerfiles, on a stand-in Debian base", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const base = "cdktf-test/dns-helpers-base:1";
    const { buildSeconds } = await importHelperBase(engine!, base);
    if (buildSeconds > 0) console.log(`DNS helpers' base stand-in built in ${buildSeconds.toFixed(0)} s`);
    // The example's home host: a DNS-01 node and a dynamic address, each helper's build context as rendered.
    const files = renderTailnet(prepareTailnet(exampleSpec(), { secretsDir: join(scratch!.dir, "example-secrets") }));
    const docker = (args: string[]) =>
      execa("docker", args, { env: { ...process.env, DOCKER_HOST: engine!.host, DOCKER_BUILDKIT: "0" }, reject: false, all: true, timeout: 300_000 });
    for (const [kind, tools] of [
      ["acme", "lego --version && command -v pkill"],
      ["ddns", "command -v curl jq dig nsupdate ip"],
    ] as const) {
      const dir = join(scratch!.dir, `${kind}-context`);
      const context = files.filter((f) => f.path.startsWith(`hosts/home/${kind}/`));
      expect(
        context.some((f) => f.path.endsWith("/Dockerfile")),
        kind,
      ).toBe(true);
      mkdirSync(dir, { recursive: true });
      for (const f of context) writeFileSync(join(dir, f.path.split("/").pop()!), f.content, { mode: f.mode });
      const tag = `cdktf-tailnet/${kind}-test:1`;
      const built = await docker(["build", "--build-arg", `BASE_IMAGE=${base}`, "-t", tag, dir]);
      expect(built.exitCode, `${kind}: ${built.all?.slice(-3000)}`).toBe(0);
      // Nothing was fetched: the base had every package, so the Dockerfile installed none.
      expect(built.all).not.toMatch(/^(Get:\d|Reading package lists)/m);
      const image = JSON.parse(await engine!.docker(["image", "inspect", tag]))[0];
      expect(image.Config.User, kind).toBe("65532:65532");
      // Its script where the entrypoint runs it, and the tools it calls.
      const script = image.Config.Entrypoint[1] as string;
      const ran = await docker(["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", tag, "-c", `test -r "$0" && ${tools}`, script]);
      expect(ran.exitCode, `${kind}: ${ran.all}`).toBe(0);
    }
  }, 900_000);

  it("gives both meshed derpers the region's mesh key and their certificates through their seeds", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const meshKey = readFileSync(join(secretsDir, "docker-e2e", "derp-mesh", "mesh.key"), "utf8");
    for (const n of MESH_NODES) {
      const container = `derper-${n.name}`;
      const key = await fileIn(container, "/etc/derper/mesh.key");
      // derper's own key (the kit's image runs it as 65532), readable by it alone.
      expect([key.content, key.mode, key.owner], container).toEqual([meshKey, "0400", "65532:65532"]);
      expect((await fileIn(container, `/var/lib/derper/certs/${n.hostname}.crt`)).content).toBe(readFileSync(n.certFile, "utf8"));
      expect((await inspect(container)).HostConfig.ReadonlyRootfs).toBe(true);
    }
    // Both run (not restarting) and serve their own certificate on their published ports.
    for (const n of MESH_NODES) {
      const served = await inNetns([
        "sh",
        "-c",
        `openssl s_client -connect 127.0.0.1:${n.port} -servername ${n.hostname} </dev/null 2>/dev/null | openssl x509 -outform PEM`,
      ]);
      expect(new X509Certificate(served.stdout).fingerprint256, n.name).toBe(new X509Certificate(readFileSync(n.certFile)).fingerprint256);
    }
    const running = await engine!.docker(["ps", "--filter", "status=running", "--format", "{{.Names}}"]);
    expect(running.split("\n")).toEqual(expect.arrayContaining(["derper-mesh-1", "derper-mesh-2", "derper-lab-1", "headscale"]));
  });

  it("keeps secrets out of cdk.tf.json, and a second plan changes nothing", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const json = readFileSync(join(stackDir, "cdk.tf.json"), "utf8");
    const tailnet = prepareTailnet(spec(engine!.host), { secretsDir });
    const keyPem = readFileSync(tailnet.derp.regions[0]!.nodes[0]!.derper.certificateFiles!.keyFile, "utf8");
    const keyBody = keyPem
      .split("\n")
      .filter((l) => l && !l.startsWith("-----"))
      .join("");
    expect(keyBody.length).toBeGreaterThan(40);
    expect(json).not.toContain(keyBody.slice(0, 40));
    const meshKey = readFileSync(join(secretsDir, "docker-e2e", "derp-mesh", "mesh.key"), "utf8").trim();
    expect(meshKey).toMatch(/^[0-9a-f]{64}$/);
    expect(json).not.toContain(meshKey);
    for (const n of MESH_NODES) expect(json).not.toContain(readFileSync(n.keyFile, "utf8").split("\n")[1]);
    const plan = await terraform(["plan", "-input=false", "-detailed-exitcode", "-no-color"]);
    expect(plan.exitCode, plan.output.match(/^ {2}# .*|.*forces replacement.*|^Plan:.*/gm)?.join("\n")).toBe(0);
  });

  it("a policy change replaces only the policy seed and reload; headscale reloads it in place", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const before = await inspect("headscale");
    synth({ policy: true });
    const changes = await planChanges();
    expect(changes).toEqual({
      "docker_container.tailnet_headscale_PolicyReload_62422109": "delete+create",
      "docker_container.tailnet_headscale_Policy_Seed_6BFED144": "delete+create",
    });
    const applied = await apply();
    expect(applied.exitCode, applied.output.slice(-4000)).toBe(0);
    const after = await inspect("headscale");
    expect([after.Id, after.State.StartedAt]).toEqual([before.Id, before.State.StartedAt]);
    const tailnet = prepareTailnet(spec(engine!.host, { policy: true }), { secretsDir });
    const policy = placeHeadscaleFiles(tailnet).find((p) => p.file.path === "headscale/policy.json")!;
    expect((await fileIn("headscale", policy.hostPath)).content).toBe(policy.file.content);
    const logs = await execa("docker", ["logs", "headscale"], { env: { ...process.env, DOCKER_HOST: engine!.host }, all: true });
    expect(logs.all).toMatch(/SIGHUP|reload/i);
  }, 120_000);

  it("a DERP node's port change replaces that derper and updates headscale's map, nothing else", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    synth({ policy: true, derpPort: 8444 });
    const changes = await planChanges();
    expect(changes).toEqual({
      "docker_container.tailnet_headscale_Config_Seed_B96AE810": "delete+create",
      "docker_container.tailnet_headscale_E72AA2E0": "delete+create",
      // It signals headscale by its container id: the new headscale gets a (harmless) SIGHUP too.
      "docker_container.tailnet_headscale_PolicyReload_62422109": "delete+create",
      "docker_container.tailnet_region-lab_lab-1_C09F6C83": "delete+create",
    });
    const applied = await apply();
    expect(applied.exitCode, applied.output.slice(-4000)).toBe(0);
    await waitForServices(8444);
    const tailnet = prepareTailnet(spec(engine!.host, { policy: true, derpPort: 8444 }), { secretsDir });
    const derpYaml = placeHeadscaleFiles(tailnet).find((p) => p.file.path === "headscale/derp.yaml")!;
    const served = await fileIn("headscale", derpYaml.hostPath);
    expect(served.content).toBe(derpYaml.file.content);
    expect(served.content).toContain("derpport: 8444");
  }, 180_000);

  it("fails the apply, naming the step, when a one-shot seed exits non-zero", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const { stackDir: dir, json } = synthForTerraform(join(scratch!.dir, "failing.out"), "failing", (stack) => {
      const host = new DockerHost(stack, "engine", { name: "engine", daemon: engine!.host });
      // An owner the helper image cannot resolve: chown fails, so the seed exits 1.
      new SeededVolume(stack, "Broken", {
        host,
        tailnetName: "docker-e2e",
        role: "broken example",
        volumeName: "broken-example",
        containerName: "broken-example-seed",
        files: [{ path: "x.conf", content: "x\n", mode: "0444", owner: "no-such-user:0" }],
      });
    });
    const applied = await terraformApply(dir, tfEnv);
    const r = { exitCode: applied.exitCode, all: applied.output };
    const state = await engine!.docker(["inspect", "-f", "{{.State.ExitCode}}", "broken-example-seed"]).catch((e) => String(e));
    const logs = await execa("docker", ["logs", "broken-example-seed"], { env: { ...process.env, DOCKER_HOST: engine!.host }, reject: false, all: true });
    expect(r.exitCode, `${r.all}\nexit ${state}\n${logs.all}\n${JSON.stringify(json.resource.docker_container)}`).not.toBe(0);
    expect(r.all.replace(/\s+/g, " "), r.all.slice(-1500)).toContain(
      "copying the broken example files into the volume broken-example failed (its exit code is not 0)",
    );
  }, 120_000);
});

describe.skipIf(skipReason !== undefined)(
  "Docker hosts: headscale's backups on a real Docker engine: scheduled, before an upgrade, restored, rolled back",
  () => {
    // A minor step (0.28 -> 0.29), so headscale migrates the database the backup protects.
    const from = upstreamVersions.headscale.find((v) => v.startsWith("v0.28."))!.replace(/^v/, "");
    const to = headscaleVersion;
    let engine: DockerEngine | undefined;
    let scratch: ReturnType<typeof scratchDir> | undefined;
    let dockerUnavailable: string | undefined;
    let tfEnv: Record<string, string>;

    const backupSpec = (version: string, change: { upgradeFrom?: string; rollbackFrom?: string } = {}): TailnetSpec => ({
      name: "docker-upgrade",
      headscale: {
        version,
        ...change,
        serverUrl: "https://hs.example.com",
        host: "engine",
        listenAddr: "0.0.0.0:8080",
        dns: { baseDomain: "tail.example.net" },
        embeddedDerp: { enabled: true },
      },
      derp: { tailscaleRegions: "drop" },
      hosts: [{ name: "engine", docker: { daemon: engine!.host } }],
    });

    const deploy = async (spec: TailnetSpec): Promise<Run> => {
      const out = synthForTerraform(
        join(scratch!.dir, "cdktf.out"),
        "upgrade",
        (stack) => new Tailnet(stack, "tailnet", { spec, secretsDir: join(scratch!.dir, "secrets") }),
      );
      return terraformApply(out.stackDir, tfEnv);
    };

    const healthy = async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = await execa("ip", ["netns", "exec", engine!.netns!, "curl", "-sf", "http://127.0.0.1:8080/health"], { reject: false });
        if (r.exitCode === 0) return;
        if (Date.now() > deadline)
          throw new Error(
            `headscale did not answer /health:\n${(await execa("docker", ["logs", "headscale"], { env: { ...process.env, DOCKER_HOST: engine!.host }, reject: false, all: true })).all}`,
          );
        await new Promise((r) => setTimeout(r, 300));
      }
    };

    const script = (...args: string[]) =>
      engine!.docker([
        "exec",
        "headscale-backup",
        "sh",
        "/usr/local/lib/cdktf-tailnet/headscale-backup.sh",
        "/etc/cdktf-tailnet/headscale-backup.env",
        ...args,
      ]);
    /** Waits for the backup container's next scheduled backup made by `version`; returns its name. */
    const scheduledBackup = async (version: string): Promise<string> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const names = (await script("list").catch(() => "")).split("\n").map((l) => l.replace(/^local /, ""));
        const found = names.find((n) => n.endsWith(`Z-${version}`));
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no scheduled backup by ${version} after 60 s:\n${(await execa("docker", ["logs", "headscale-backup"], { env: { ...process.env, DOCKER_HOST: engine!.host }, reject: false, all: true })).all}`,
          );
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const users = async () =>
      ((JSON.parse(await engine!.docker(["exec", "headscale", "headscale", "users", "list", "-o", "json"])) ?? []) as { name: string }[])
        .map((u) => u.name)
        .sort();

    beforeAll(async () => {
      scratch = scratchDir("cdktf-docker-upgrade-");
      tfEnv = terraformEnv(scratch.dir);
      try {
        engine = await startDockerEngine({ bridgeNetwork: true });
      } catch (e) {
        dockerUnavailable = `dockerd cannot start on this machine: ${(e as Error).message.slice(0, 1500)}`;
        return;
      }
      await importHeadscaleImages(engine, from, upstreamBinary("headscale", from));
      await importHeadscaleImages(engine, to, upstreamBinary("headscale", to));
      await importBusyboxImage(engine, HELPER_IMAGE);
      await importBackupBaseImage(engine, HELPER_BASE_IMAGE);
    }, 900_000);

    afterAll(async () => {
      await engine?.stop();
      scratch?.remove();
    }, 120_000);

    it(`backs up on a schedule with the data volume read-only, backs ${from} up before ${to} starts, restores after a disaster, and rolls back to ${from}`, async (ctx) => {
      if (dockerUnavailable) return ctx.skip();
      const first = await deploy(backupSpec(from));
      expect(first.exitCode, first.output.slice(-4000)).toBe(0);
      await healthy();
      // The scheduled container: the kit's image, headscale's data read-only, no capabilities; a checked backup.
      const scheduled = await scheduledBackup(from);
      expect(await script("verify", scheduled)).toContain("integrity=ok");
      const container = JSON.parse(await engine!.docker(["inspect", "headscale-backup"]))[0];
      expect(container.Mounts.find((m: { Destination: string }) => m.Destination === "/var/lib/headscale")).toMatchObject({
        Name: "headscale-data",
        RW: false,
      });
      expect(container.Mounts.find((m: { Destination: string }) => m.Destination === "/var/lib/headscale-backup")).toMatchObject({
        Name: "headscale-backups",
        RW: true,
      });
      expect(container.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(container.HostConfig.ReadonlyRootfs).toBe(true);
      expect(JSON.parse(await engine!.docker(["image", "inspect", container.Config.Image]))[0].RepoTags).toEqual([
        expect.stringMatching(/^cdktf-tailnet\/headscale-backup-engine:[0-9a-f]{12}$/),
      ]);

      // A user, so the database has a row that must survive the upgrade.
      await engine!.docker(["exec", "headscale", "headscale", "users", "create", "alice"]);
      const upgraded = await deploy(backupSpec(to, { upgradeFrom: from }));
      expect(upgraded.exitCode, upgraded.output.slice(-4000)).toBe(0);
      expect(upgraded.output).toMatch(/docker_container\.tailnet_headscale_Backup_PreUpgrade_[0-9A-F]{8}: Creation complete/);
      await healthy();
      expect(await engine!.docker(["exec", "headscale", "headscale", "version"])).toContain(to);
      expect(await users()).toEqual(["alice"]);
      const preUpgrade = (await script("list"))
        .split("\n")
        .map((l) => l.replace(/^local /, ""))
        .find((n) => n.endsWith(`-${from}-before-${to}`));
      expect(preUpgrade, "the backup taken before the upgrade").toBeDefined();
      expect(await script("verify", preUpgrade!)).toContain(`headscale_version=${from}`);

      // A disaster: the database and the noise key deleted while headscale runs; restored with
      // cdktf-tailnet restore from the newest backup (by the new version).
      const latest = await scheduledBackup(to);
      await engine!.docker(["exec", "headscale", "headscale", "users", "create", "bob"]); // after the backup: lost
      const key = await engine!.docker(["run", "--rm", "-v", "headscale-data:/data:ro", HELPER_IMAGE, "cat", "/data/noise_private.key"]);
      await engine!.docker([
        "run",
        "--rm",
        "-v",
        "headscale-data:/data",
        HELPER_IMAGE,
        "rm",
        "-f",
        "/data/db.sqlite",
        "/data/db.sqlite-wal",
        "/data/db.sqlite-shm",
        "/data/noise_private.key",
      ]);
      const specFile = join(scratch!.dir, "upgraded.yaml");
      writeFileSync(specFile, stringify(backupSpec(to)));
      const out: string[] = [];
      const err: string[] = [];
      const dockerHost = process.env.DOCKER_HOST;
      process.env.DOCKER_HOST = engine!.host;
      let code: number;
      try {
        code = await runCli(["restore", specFile, "--via", "docker:headscale"], { out: (t) => out.push(t), err: (t) => err.push(t) });
      } finally {
        if (dockerHost === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = dockerHost;
      }
      expect(code, err.join("\n")).toBe(0);
      expect(out[0]).toMatch(
        new RegExp(`^restored ${latest} \\(headscale ${to.replace(/\./g, "\\.")}, taken .*\\) on docker container headscale; headscale was down [\\d.]+ s$`),
      );
      expect(out[1]).toBe("lost: no node"); // (headscale still read its deleted database: the nodes it had were listed first)
      await healthy();
      expect(await users()).toEqual(["alice"]);
      expect(await engine!.docker(["run", "--rm", "-v", "headscale-data:/data:ro", HELPER_IMAGE, "cat", "/data/noise_private.key"])).toBe(key);

      // The rollback: back to the version before the upgrade, on the database it had then.
      await engine!.docker(["exec", "headscale", "headscale", "users", "create", "carol"]); // on the new version: lost
      const rolled = await deploy(backupSpec(from, { rollbackFrom: to }));
      expect(rolled.exitCode, rolled.output.slice(-4000)).toBe(0);
      expect(rolled.output).toMatch(/docker_container\.tailnet_headscale_Backup_Rollback_[0-9A-F]{8}: Creation complete/);
      await healthy();
      expect(await engine!.docker(["exec", "headscale", "headscale", "version"])).toContain(from);
      expect(await users()).toEqual(["alice"]);

      // And `destroy` stops at the data volume instead of deleting the tailnet's state.
      const destroy = await execa(TERRAFORM, ["destroy", "-input=false", "-auto-approve", "-no-color"], {
        cwd: join(scratch!.dir, "cdktf.out", "stacks", "upgrade"),
        env: tfEnv,
        reject: false,
        all: true,
      });
      expect(destroy.exitCode).not.toBe(0);
      expect(destroy.all?.replace(/\s+/g, " ")).toContain("Instance cannot be destroyed");
      expect(await engine!.docker(["volume", "ls", "--format", "{{.Name}}"])).toContain("headscale-data");
    }, 600_000);
  },
);

describe.skipIf(skipReason !== undefined)("Docker hosts: a tcp:// engine with TLS, its material only in sensitive variables", () => {
  let engine: DockerEngine | undefined;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  let dockerUnavailable: string | undefined;
  const pki: Record<"ca" | "serverCert" | "serverKey" | "clientCert" | "clientKey", string> = {
    ca: "",
    serverCert: "",
    serverKey: "",
    clientCert: "",
    clientKey: "",
  };

  /** A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
  const makePki = async (dir: string) => {
    const f = (name: string) => join(dir, name);
    const ossl = (args: string[]) => execa("openssl", args, { cwd: dir });
    await ossl(selfSignedReqArgs({ subject: "/CN=test engine CA", days: 2, keyOut: f("ca.key"), certOut: f("ca.pem") }));
    for (const [who, ext] of [
      ["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"],
      ["client", "extendedKeyUsage=clientAuth"],
    ] as const) {
      await ossl([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        `/CN=${who}`,
        "-keyout",
        f(`${who}.key`),
        "-out",
        f(`${who}.csr`),
      ]);
      writeFileSync(f(`${who}.ext`), `${ext}\n`);
      await ossl([
        "x509",
        "-req",
        "-in",
        f(`${who}.csr`),
        "-CA",
        f("ca.pem"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        f(`${who}.ext`),
        "-out",
        f(`${who}.pem`),
      ]);
    }
    Object.assign(pki, { ca: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key"), clientCert: f("client.pem"), clientKey: f("client.key") });
  };

  beforeAll(async () => {
    scratch = scratchDir("cdktf-docker-tls-");
    await makePki(scratch.dir);
    try {
      engine = await startDockerEngine({ bridgeNetwork: true, tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } });
    } catch (e) {
      dockerUnavailable = `dockerd cannot start on this machine: ${(e as Error).message.slice(0, 1500)}`;
      return;
    }
    await importHeadscaleImages(engine, headscaleVersion, upstreamBinary("headscale", headscaleVersion));
    await importBusyboxImage(engine, HELPER_IMAGE);
  }, 300_000);

  afterAll(async () => {
    await engine?.stop();
    scratch?.remove();
  }, 120_000);

  it("applies over tcp:// with the client certificate from three sensitive variables, never in cdk.tf.json", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const spec: TailnetSpec = {
      name: "docker-tls",
      headscale: {
        version: headscaleVersion,
        serverUrl: "https://hs.example.com",
        host: "engine",
        listenAddr: "0.0.0.0:8080",
        dns: { baseDomain: "tail.example.net" },
        embeddedDerp: { enabled: true },
        backup: { enabled: false },
      },
      derp: { tailscaleRegions: "drop" },
      hosts: [{ name: "engine", docker: { daemon: "tcp://127.0.0.1:2376" } }],
    };
    const {
      stackDir: dir,
      json,
      text,
    } = synthForTerraform(
      join(scratch!.dir, "cdktf.out"),
      "tls",
      (stack) => new Tailnet(stack, "tailnet", { spec, secretsDir: join(scratch!.dir, "secrets") }),
    );

    const variables = Object.entries(json.variable as Record<string, { sensitive?: boolean; description: string }>);
    expect(variables.map(([, v]) => v.sensitive)).toEqual([true, true, true]);
    const byPart = (part: string) => variables.find(([, v]) => v.description.startsWith(part))![0];
    const provider = json.provider.docker[0];
    expect([provider.host, provider.ca_material, provider.cert_material, provider.key_material]).toEqual([
      "tcp://127.0.0.1:2376",
      `\${var.${byPart("CA certificate")}}`,
      `\${var.${byPart("client certificate")}}`,
      `\${var.${byPart("client private key")}}`,
    ]);
    const keyLine = readFileSync(pki.clientKey, "utf8").split("\n")[1]!;
    expect(text).not.toContain(keyLine);

    const env = terraformEnv(scratch!.dir, {
      [`TF_VAR_${byPart("CA certificate")}`]: readFileSync(pki.ca, "utf8"),
      [`TF_VAR_${byPart("client certificate")}`]: readFileSync(pki.clientCert, "utf8"),
      [`TF_VAR_${byPart("client private key")}`]: readFileSync(pki.clientKey, "utf8"),
    });
    // Terraform runs in the engine's namespace, where the TLS listener is on 127.0.0.1.
    const r = await terraformApply(dir, env, engine!.netns);
    expect(r.exitCode, r.output.slice(-4000)).toBe(0);
    expect(await engine!.docker(["ps", "--filter", "status=running", "--format", "{{.Names}}"])).toContain("headscale");
    // The state keeps no TLS material either (provider configuration is not state).
    expect(readFileSync(join(dir, "terraform.tfstate"), "utf8")).not.toContain(keyLine);
    // And the engine refuses a client without the certificate.
    const bare = await execa("ip", ["netns", "exec", engine!.netns!, "curl", "-sk", "https://127.0.0.1:2376/version"], { reject: false });
    expect(bare.exitCode).not.toBe(0);
  }, 300_000);
});

describe.skipIf(skipReason !== undefined)("Docker hosts: an ssh:// engine, the way most hosts are reached", () => {
  let engine: DockerEngine | undefined;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  let dockerUnavailable: string | undefined;
  let remote: SystemdContainer;
  let address = "";
  let keyFile = "";
  let knownHosts = "";

  beforeAll(async () => {
    scratch = scratchDir("cdktf-docker-ssh-");
    try {
      engine = await startDockerEngine({ bridgeNetwork: true });
    } catch (e) {
      dockerUnavailable = `dockerd cannot start on this machine: ${(e as Error).message.slice(0, 1500)}`;
      return;
    }
    await importHeadscaleImages(engine, headscaleVersion, upstreamBinary("headscale", headscaleVersion));
    await importBusyboxImage(engine, HELPER_IMAGE);
    // The "remote host": a Debian machine with sshd on the engine's bridge, with the docker client
    // and the engine's socket, as a VM running Docker has. The provider runs `ssh ... docker
    // system dial-stdio` there.
    const image = await systemdImageTarball();
    await importSystemdImage(engine, image.tarball, "cdktf-test/debian-systemd:latest");
    const socket = engine.host.slice("unix://".length);
    remote = await bootSystemdContainer(engine, "cdktf-test/debian-systemd:latest", `docker-remote-${process.pid}`, {
      bridge: true,
      extraArgs: [
        "-v",
        `${socket}:/var/run/docker.sock`,
        "-v",
        `${execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim()}:/usr/local/bin/docker:ro`,
      ],
    });
    address = (await engine.docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", `docker-remote-${process.pid}`])).trim();
    keyFile = join(scratch.dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cdktf-tailnet-docker-e2e", "-f", keyFile]);
    await remote.exec(["sh", "-c", "install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys"], {
      input: readFileSync(`${keyFile}.pub`, "utf8"),
    });
    // The image's sshd listens on its loopback only (the VM test forwards to it); here it also
    // listens on the bridge, which exists only inside the engine's network namespace.
    await remote.exec(["sh", "-c", "printf 'ListenAddress 0.0.0.0\\n' > /etc/ssh/sshd_config.d/zz-bridge.conf && systemctl restart ssh"]);
    knownHosts = join(scratch.dir, "known_hosts");
    const hostKeys = (await remote.exec(["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"])).stdout.trim().split("\n");
    writeFileSync(knownHosts, `${hostKeys.map((k) => `${address} ${k.split(" ").slice(0, 2).join(" ")}`).join("\n")}\n`);
  }, 900_000);

  afterAll(async () => {
    await engine?.stop();
    scratch?.remove();
  }, 120_000);

  it("applies over ssh:// with the host's ssh options, the host key checked", async (ctx) => {
    if (dockerUnavailable) return ctx.skip();
    const spec: TailnetSpec = {
      name: "docker-ssh",
      headscale: {
        version: headscaleVersion,
        serverUrl: "https://hs.example.com",
        host: "engine",
        listenAddr: "0.0.0.0:8080",
        dns: { baseDomain: "tail.example.net" },
        embeddedDerp: { enabled: true },
        backup: { enabled: false },
      },
      derp: { tailscaleRegions: "drop" },
      hosts: [
        {
          name: "engine",
          docker: {
            daemon: `ssh://root@${address}`,
            sshOpts: ["-i", keyFile, "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"],
          },
        },
      ],
    };
    const {
      stackDir: dir,
      json,
      text,
    } = synthForTerraform(
      join(scratch!.dir, "cdktf.out"),
      "ssh",
      (stack) => new Tailnet(stack, "tailnet", { spec, secretsDir: join(scratch!.dir, "secrets") }),
    );
    expect(json.provider.docker[0].host).toBe(`ssh://root@${address}`);
    expect(text).not.toContain(readFileSync(keyFile, "utf8").split("\n")[1]!);

    const env = terraformEnv(scratch!.dir);
    // Terraform runs in the engine's namespace, where the remote host's address is on the bridge.
    const r = await terraformApply(dir, env, engine!.netns);
    expect(r.exitCode, r.output.slice(r.output.indexOf("Error")).slice(0, 3000)).toBe(0);
    expect(await engine!.docker(["ps", "--filter", "status=running", "--format", "{{.Names}}"])).toContain("headscale");
    const health = await execa(
      "ip",
      ["netns", "exec", engine!.netns!, "curl", "-sf", "--retry", "20", "--retry-delay", "1", "--retry-all-errors", "http://127.0.0.1:8080/health"],
      { reject: false },
    );
    expect(health.exitCode).toBe(0);
  }, 600_000);
});
