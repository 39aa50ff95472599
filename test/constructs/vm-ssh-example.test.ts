import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { VmSshStack } from "../../examples/vm-ssh/stack.js";
import { FAKE_SHA256 } from "../support/vm-specs.js";
import { byPath, tempSecretsDir, testApp, type TfJson } from "../support/synth.js";

describe("examples/vm-ssh: a VM of the stack's own, installed over SSH", () => {
  it("follows the server's address token, takes the key from a sensitive variable, uploads the certificate key by path", () => {
    const stack = new VmSshStack(testApp(), "solo", {
      headscaleSha256: FAKE_SHA256,
      goSha256: FAKE_SHA256,
      adminCidrs: ["192.0.2.0/24"],
      secretsDir: tempSecretsDir(),
    });
    const text = Testing.synth(stack);
    const json = JSON.parse(text) as TfJson;
    const steps = byPath(json, "terraform_data");
    expect(Object.keys(steps).sort()).toEqual(
      [
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
      ].map((s) => `relay-setup_${s}`),
    );
    for (const step of Object.values(steps)) {
      expect(step.connection).toEqual({
        type: "ssh",
        host: "${hcloud_server.relay.ipv4_address}",
        port: 22,
        user: "root",
        timeout: "5m",
        private_key: "${var.ssh_private_key}",
      });
    }
    expect(json.variable!.ssh_private_key!.sensitive).toBe(true);
    expect(text).not.toContain("PRIVATE KEY");
  });
});
