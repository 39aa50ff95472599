/**
 * Worked example: adding a self-hosted coordination server and one DERP region to a cdktf stack
 * you already have. The stack defines its own VMs; their public IPs are Terraform tokens that
 * flow into the tailnet's DNS records, both DERP maps and the Docker provider addresses.
 *
 * The VMs here are Hetzner Cloud servers (examples/hcloud.ts); any VM resource with an address
 * attribute works the same way.
 */
import { TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { annotateWarnings, DerpRegion, DnsRecords, DockerHost, HeadscaleServer } from "../../constructs/index.js";
import type { TailnetSpec } from "../../model/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { HcloudProvider, hcloudServer } from "../hcloud.js";

export class ExistingStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new HcloudProvider(this, "hcloud");

    // What the stack already had.
    const control = hcloudServer(this, "control");
    const relay = hcloudServer(this, "relay");
    const controlIp = control.getStringAttribute("ipv4_address");
    const relayIp = relay.getStringAttribute("ipv4_address");

    // The tailnet, with the VMs' addresses as tokens: validation defers its address checks on them.
    const spec: TailnetSpec = {
      name: "office",
      headscale: {
        serverUrl: "https://hs.office.example.com",
        host: "control",
        tls: { mode: "letsencrypt", email: "ops@office.example.com" },
        dns: { baseDomain: "tail.office.example.net" },
      },
      derp: {
        regions: [{ id: 900, code: "fra", name: "Frankfurt", nodes: [{ name: "fra-1", host: "relay", hostname: "derp-fra.office.example.com" }] }],
      },
      hosts: [
        { name: "control", publicIpv4: controlIp, docker: { daemon: `ssh://root@${controlIp}` } },
        { name: "relay", publicIpv4: relayIp, docker: { daemon: `ssh://root@${relayIp}` } },
      ],
      dns: { provider: "cloudflare", zoneName: "office.example.com" },
    };
    // Validated, resolved and its secrets prepared (none to issue here: Let's Encrypt certificates).
    const tailnet = prepareTailnet(spec);

    // Only the pieces this stack wants, composed from the L2 constructs.
    const hosts = Object.fromEntries(tailnet.hosts.map((h) => [h.name, DockerHost.fromModel(this, `docker-${h.name}`, h)]));
    new HeadscaleServer(this, "headscale", { tailnet, host: hosts.control! });
    new DerpRegion(this, "derp-fra", { tailnet, regionId: 900, hosts });
    const apiToken = new TerraformVariable(this, "cloudflare_api_token", {
      type: "string",
      sensitive: true,
      description: "Cloudflare token with DNS edit on office.example.com",
    });
    const dns = new DnsRecords(this, "dns", { zone: tailnet.dns!, apiToken: apiToken.stringValue });
    // HeadscaleServer and each DerpNode annotate their own warnings; the DNS zone's and the
    // tailnet-wide ones are reported here (the Tailnet construct does this by itself).
    annotateWarnings(
      dns,
      tailnet.warnings.filter((w) => w.subject.kind === "dns" || w.subject.kind === "tailnet"),
    );
  }
}
