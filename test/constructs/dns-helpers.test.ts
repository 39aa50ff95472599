/**
 * A Docker host's DNS helpers in the synthesized Terraform JSON: the DDNS updater and the DNS-01
 * ACME client as containers built from the rendered files, their secret from one sensitive
 * variable per host and file (never a literal), the ACME client writing into derper's volume, and
 * derper joining the client's process namespace so a renewal can restart it.
 */
import { describe, expect, it } from "vitest";
import { TerraformVariable } from "cdktf";
import { DockerHost, DynamicDns, Tailnet } from "../../constructs/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { ACME_PATHS, DDNS_PATHS } from "../../model/index.js";
import { exampleSpec } from "../support/specs.js";
import { byPath, synthStack, tempSecretsDir } from "../support/synth.js";

const TOKEN_REF = "${var.dns_secret_home_cloudflare_token}";

describe("the bundled example's home host", () => {
  let tailnet!: Tailnet;
  const { json, text } = synthStack((stack) => {
    tailnet = new Tailnet(stack, "tailnet", { spec: exampleSpec(), secretsDir: tempSecretsDir() });
  });
  const containers = byPath(json, "docker_container");

  it("asks for the Cloudflare token once, as a sensitive variable, and only references it", () => {
    expect(Object.keys(json.variable ?? {}).filter((v) => v.startsWith("dns_secret"))).toEqual(["dns_secret_home_cloudflare_token"]);
    expect(json.variable!.dns_secret_home_cloudflare_token).toMatchObject({ type: "string", sensitive: true });
    expect(text.split(TOKEN_REF).length - 1).toBe(2); // the updater's upload and the ACME client's
  });

  it("runs the updater from its rendered image, with the token as the file the settings name", () => {
    const ddns = containers["tailnet_ddns-home"]!;
    expect(ddns.name).toBe("cdktf-tailnet-ddns-home");
    expect(ddns.provider).toBe("docker.home");
    // Writable root: Docker refuses uploads (the token) into a read-only one; still no capabilities.
    expect(ddns.read_only).toBe(false);
    expect(ddns.security_opts).toEqual(["no-new-privileges:true"]);
    expect(ddns.capabilities).toEqual({ drop: ["ALL"] });
    expect(ddns.upload).toEqual([{ file: "/etc/cdktf-tailnet/cloudflare-token", content: TOKEN_REF, permissions: "0444" }]);
    expect(ddns.volumes).toEqual([{ volume_name: expect.stringContaining("docker_volume.tailnet_ddns-home_State"), container_path: DDNS_PATHS.stateDir }]);
    const image = byPath(json, "docker_image")["tailnet_ddns-home_Image"]!;
    expect(image.name).toMatch(/^cdktf-tailnet\/ddns-home:[0-9a-f]{12}$/);
    expect(image.build.context).toMatch(/^assets\/cdktf-tailnet-ddns-build-[0-9a-f]{16}\//);
    expect(tailnet.dynamicDns.get("home")?.container).toBeDefined();
    expect([...tailnet.dynamicDns.keys()]).toEqual(["home"]);
  });

  it("runs home-1's ACME client as derper's user on derper's volume, and derper in its process namespace", () => {
    const acme = containers["tailnet_region-home_home-1_Acme"]!;
    expect(acme.name).toBe("cdktf-tailnet-acme-home-1");
    expect(acme.user).toBe("65532:65532");
    expect(acme.command).toEqual([ACME_PATHS.config("home-1")]);
    expect(acme.volumes).toEqual([
      { volume_name: expect.stringContaining("docker_volume.tailnet_region-home_home-1_Data"), container_path: "/var/lib/derper" },
      { volume_name: expect.stringContaining("docker_volume.tailnet_region-home_home-1_Acme_State"), container_path: ACME_PATHS.stateDir("home-1") },
    ]);
    expect(acme.upload).toEqual([{ file: "/etc/cdktf-tailnet/cloudflare-token", content: TOKEN_REF, permissions: "0444" }]);
    const derper = containers["tailnet_region-home_home-1"]!;
    // By id: Docker reports pid_mode as container:<id>, so a name would be a change on every plan.
    expect(derper.pid_mode).toMatch(/^container:\$\{docker_container\.tailnet_region-home_home-1_Acme_[0-9A-F]{8}\.id\}$/);
    expect(derper.depends_on).toEqual([derper.pid_mode.slice("container:${".length, -".id}".length)]);
    expect(acme.read_only).toBe(false);
    expect(derper.command).toContain("-certmode=manual");
  });

  it("gives no other node or host a DNS helper", () => {
    expect(
      Object.keys(containers)
        .filter((p) => /Acme|ddns/.test(p))
        .sort(),
    ).toEqual(["tailnet_ddns-home", "tailnet_region-home_home-1_Acme"]);
  });
});

describe("a secret of your own", () => {
  it("is uploaded instead of the kit's variable", () => {
    const { json } = synthStack((stack) => {
      const model = prepareTailnet(exampleSpec(), { secretsDir: tempSecretsDir() });
      const host = DockerHost.fromModel(stack, "home", model.hosts.find((h) => h.name === "home")!);
      const mine = new TerraformVariable(stack, "my_cloudflare_token", { type: "string", sensitive: true });
      new DynamicDns(stack, "ddns", { tailnet: model, host, secret: mine.stringValue });
    });
    expect(Object.keys(json.variable ?? {})).toEqual(["my_cloudflare_token"]);
    expect(byPath(json, "docker_container").ddns!.upload).toEqual([
      { file: "/etc/cdktf-tailnet/cloudflare-token", content: "${var.my_cloudflare_token}", permissions: "0444" },
    ]);
  });
});
