/**
 * Worked example: a VM you already create in your stack, set up over SSH by Terraform itself
 * (built-in `terraform_data` and provisioners, no extra provider): headscale and a DERP node run
 * under the kit's hardened systemd units behind its nftables firewall. The DERP node on 8443 has a
 * kit-issued certificate pinned in the DERP maps; its key is uploaded from the local secrets
 * directory by path.
 *
 * The VM is a Hetzner Cloud server declared through cdktf's generic TerraformResource (as in
 * examples/existing-stack); its address is a token the SSH connection follows. The private key
 * comes from a sensitive variable (`TF_VAR_ssh_private_key`), so cdk.tf.json never holds it; give
 * `privateKeyFile` instead to have Terraform read a file when it plans.
 *
 * The connection follows the server's address, so Terraform installs only once the server exists.
 * Redeploying re-runs only what changed: a policy edit reloads headscale, a config.yaml edit
 * restarts headscale alone, a new nftables ruleset reloads only the firewall.
 */
import { TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { VmHost } from "../../constructs/index.js";
import type { TailnetSpec } from "../../model/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { HcloudProvider, hcloudServer } from "../hcloud.js";

export interface VmSshStackProps {
  /** SHA-256 of headscale's release binary (checksums.txt of the release). */
  readonly headscaleSha256: string;
  /** SHA-256 of the Go toolchain archive derper is built with on the VM (go.dev/dl). */
  readonly goSha256: string;
  /** Networks you administer the VM from: only they reach SSH once the firewall is loaded. */
  readonly adminCidrs: string[];
  /**
   * Root of the local secrets directory (the DERP node's kit-issued certificate key).
   * @default - `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`
   */
  readonly secretsDir?: string;
}

export class VmSshStack extends TerraformStack {
  readonly host: VmHost;

  constructor(scope: Construct, id: string, props: VmSshStackProps) {
    super(scope, id);
    new HcloudProvider(this, "hcloud");
    const ip = hcloudServer(this, "relay").getStringAttribute("ipv4_address");

    const spec: TailnetSpec = {
      name: "solo",
      headscale: {
        serverUrl: "https://hs.solo.example.com",
        host: "relay",
        tls: { mode: "letsencrypt", email: "ops@solo.example.com" },
        dns: { baseDomain: "tail.solo.example.net" },
      },
      policy: { acls: [{ src: ["*"], dst: ["*:*"] }] },
      derp: {
        regions: [
          {
            id: 900,
            code: "fsn",
            name: "Falkenstein",
            nodes: [{ name: "fsn-1", host: "relay", hostname: "derp.solo.example.com", derpPort: 8443, certificate: { mode: "self-signed" } }],
          },
        ],
      },
      hosts: [
        {
          name: "relay",
          publicIpv4: ip,
          firewall: { adminCidrs: props.adminCidrs },
          vm: { headscale: { sha256: props.headscaleSha256 }, derper: { source: "build", goSha256: props.goSha256 } },
        },
      ],
    };
    const key = new TerraformVariable(this, "ssh_private_key", {
      type: "string",
      sensitive: true,
      description: "private key Terraform logs in to the VM with",
    });
    this.host = new VmHost(this, "relay-setup", {
      tailnet: prepareTailnet(spec, { secretsDir: props.secretsDir }),
      hostName: "relay",
      secretsDir: props.secretsDir,
      connection: { user: "root", privateKey: key.stringValue },
    });
  }
}
