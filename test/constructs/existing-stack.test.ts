import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { ExistingStack } from "../../examples/existing-stack/stack.js";
import { byPath, testApp, type TfJson } from "../support/synth.js";

describe("examples/existing-stack: L2 constructs in a stack that owns its VMs", () => {
  it("threads the VMs' IP tokens into DNS records, both DERP maps and the Docker provider", () => {
    const stack = new ExistingStack(testApp(), "office");
    const json = JSON.parse(Testing.synth(stack)) as TfJson;
    const relayIp = "${hcloud_server.relay.ipv4_address}";
    const controlIp = "${hcloud_server.control.ipv4_address}";

    const records = Object.values(json.resource.cloudflare_dns_record!).map((r) => [r.name, r.content, r.proxied]);
    expect(records.sort()).toEqual([
      ["derp-fra.office.example.com", relayIp, false],
      ["hs.office.example.com", controlIp, false],
    ]);
    const hs = byPath(json, "docker_container").headscale!;
    const seed = byPath(json, "docker_container").headscale_Config_Seed!;
    const derpYaml = seed.upload.find((u: { file: string }) => u.file === "/in/derp.yaml").content as string;
    expect(derpYaml).toContain(`ipv4: "${relayIp}"`);
    expect(json.provider.docker!.map((p) => p.host).sort()).toEqual([`ssh://root@${controlIp}`, `ssh://root@${relayIp}`]);
    expect(hs.provider).toBe("docker.control");
    expect(byPath(json, "docker_container")["derp-fra_fra-1"]!.provider).toBe("docker.relay");
    expect(json.provider.cloudflare![0]!.api_token).toBe("${var.cloudflare_api_token}");
    expect(json.resource.hcloud_server).toBeDefined();
  });
});
