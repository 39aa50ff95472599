/**
 * The kit's self-signed certificate in the real derper: derper serves it from its manual-mode
 * certificate directory under the file name the model derives, a client that checks the pin
 * (as Tailscale clients do for CertName "sha256-raw:...") accepts it, ordinary CA verification
 * refuses it, and a wrong pin is refused. Everything on 127.0.0.1.
 */
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareTailnet } from "../../secrets/index.js";
import { startDerper } from "../support/derper-process.js";
import { freeLoopbackPorts } from "../support/headscale-process.js";
import { minimalSpec } from "../support/specs.js";
import { upstreamSkipReason } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";

/** A TLS request to derper that trusts only a certificate whose SHA-256 equals `pin`. */
function pinnedGet(port: number, path: string, pin: string | undefined): Promise<{ status: number; peerPin: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: pin === undefined, servername: undefined }, () => {
      const cert = socket.getPeerCertificate(true) as PeerCertificate;
      const peerPin = `sha256-raw:${createHash("sha256").update(cert.raw).digest("hex")}`;
      if (pin !== undefined && peerPin !== pin) {
        socket.destroy();
        reject(new Error(`certificate pin mismatch: got ${peerPin}`));
        return;
      }
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      let data = "";
      socket.on("data", (d) => (data += d.toString()));
      socket.on("end", () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]), peerPin }));
    });
    socket.on("error", reject);
  });
}

describe.skipIf(!!skipReason("derper-pin", upstreamSkipReason))(`the real derper with a kit-issued pinned certificate ${upstreamSkipReason ?? ""}`, () => {
  let derper: ChildProcess | undefined;
  let port = 0;
  let pin = "";
  const dir = suiteScratchDir("cdktf-tailnet-derper-");

  beforeAll(async () => {
    port = (await freeLoopbackPorts(1))[0]!;
    const spec = minimalSpec();
    spec.derp!.regions![0]!.nodes[0] = { name: "fra-1", hostname: "127.0.0.1", derpPort: port, stunPort: -1 };
    const node = prepareTailnet(spec, { secretsDir: join(dir, "secrets") }).derp.regions[0]!.nodes[0]!;
    expect(node.derper.certificateSource).toBe("self-signed");
    pin = node.certName!;
    const started = startDerper(node, dir);
    expect(started.args).toContain("-certmode=manual");
    derper = started.process;
    for (let i = 0; i < 100; i++) {
      try {
        await pinnedGet(port, "/derp/probe", pin);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error("derper did not start");
  }, 30_000);

  afterAll(() => {
    if (derper?.pid) process.kill(derper.pid, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves exactly the kit-issued certificate, accepted through the pin", async () => {
    const r = await pinnedGet(port, "/derp/probe", pin);
    expect(r.peerPin).toBe(pin);
    expect(r.status).toBe(200);
  });

  it("is refused by ordinary CA verification (the pin is the only trust)", async () => {
    await expect(pinnedGet(port, "/derp/probe", undefined)).rejects.toThrow(/self.signed certificate/i);
  });

  it("is refused under a wrong pin", async () => {
    await expect(pinnedGet(port, "/derp/probe", `sha256-raw:${"0".repeat(64)}`)).rejects.toThrow("certificate pin mismatch");
  });
});
