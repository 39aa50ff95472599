/**
 * `npx cdktf synth` (or `diff` / `deploy`) in this folder synthesizes the worked example into
 * ./cdktf.out: a VM of the stack's own, installed over SSH. The binaries it installs are pinned by
 * SHA-256: set HEADSCALE_SHA256 (checksums.txt of the headscale release, headscale_<version>_linux_amd64)
 * and GO_SHA256 (go.dev/dl, the Go tarball derper is built with); without them the example uses
 * placeholders that the VM's install script refuses, so nothing unverified ever runs.
 */
import { App } from "cdktf";
import { VmSshStack } from "./stack.js";

const PLACEHOLDER = "0".repeat(64);
const headscaleSha256 = process.env.HEADSCALE_SHA256 ?? PLACEHOLDER;
const goSha256 = process.env.GO_SHA256 ?? PLACEHOLDER;
if (headscaleSha256 === PLACEHOLDER || goSha256 === PLACEHOLDER) {
  console.warn("examples/vm-ssh: HEADSCALE_SHA256 or GO_SHA256 is not set; the synthesized stack carries placeholder checksums the install refuses");
}
const app = new App();
new VmSshStack(app, "vm-ssh", { headscaleSha256, goSha256, adminCidrs: (process.env.ADMIN_CIDRS ?? "192.0.2.0/24").split(",") });
app.synth();
