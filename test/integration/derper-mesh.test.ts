/**
 * The rendered `-mesh-with` in the real derper: it dials each peer as `https://<peer>/derp`, so a
 * peer named by an IPv6 address must be written in brackets (render/command-lines.ts meshPeers).
 * The rendered form starts and dials the peer; the same peer without brackets stops derper at
 * start, which gives the check its teeth. Loopback only: the peers' addresses are documentation
 * addresses that nothing answers.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ResolvedDerpNode } from "../../model/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { derperRunArgs } from "../support/derper-process.js";
import { freeLoopbackPorts } from "../support/headscale-process.js";
import { skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";
import { minimalSpec } from "../support/specs.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";

/** Runs derper with `args` for `ms` (or until it exits), logging into `dir`: its exit code (null: still running, then stopped) and log. */
async function runFor(dir: string, args: string[], ms: number): Promise<{ code: number | null; log: string }> {
  const logFile = join(dir, `derper-${Date.now()}.log`);
  const out = openSync(logFile, "w");
  const child = spawn(upstreamBinary("derper", upstreamVersions.tailscale), args, { stdio: ["ignore", out, out] });
  closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const code = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);
  if (code === null) {
    child.kill("SIGTERM");
    await exited;
  }
  return { code, log: readFileSync(logFile, "utf8") };
}

describe.skipIf(!!skipReason("derper-mesh", upstreamSkipReason))(
  `the real derper meshed with peers named by IPv6 addresses ${upstreamSkipReason ?? ""}`,
  () => {
    const dir = suiteScratchDir("cdktf-tailnet-derper-mesh-");

    it("starts with the rendered -mesh-with and dials the peer; without the brackets derper stops at start", async () => {
      const [p1, p2] = await freeLoopbackPorts(2);
      const spec = minimalSpec();
      spec.derp!.regions![0]!.nodes = [{ name: "v6-1", hostname: "2001:db8::1", derpPort: p1!, stunPort: -1 }];
      const alone = prepareTailnet(spec, { secretsDir: join(dir, "secrets") }).derp.regions[0]!.nodes[0]!;
      // The model meshes only nodes whose certificates a public CA signed (derper checks its peers
      // against the system's CAs), which no IP-named node of a valid spec has yet: the peer is added
      // here, as the model would list it, to hold the rendered flag against the real derper.
      const node: ResolvedDerpNode = { ...alone, derper: { ...alone.derper, mesh: [{ node: "v6-2", hostname: "2001:db8::2", port: p2! }] } };
      const meshKeyFile = join(dir, "mesh.key");
      writeFileSync(meshKeyFile, `${"ab".repeat(32)}\n`, { mode: 0o600 });
      const args = derperRunArgs(node, dir, meshKeyFile);
      const peer = `[2001:db8::2]:${p2}`;
      expect(args).toContain(`-mesh-with=${peer}`);

      const rendered = await runFor(dir, args, 1500);
      expect(rendered.code, rendered.log).toBeNull();
      expect(rendered.log).toContain(`will dial "${peer}"`);

      const unbracketed = await runFor(
        dir,
        args.map((a) => (a.startsWith("-mesh-with=") ? `-mesh-with=2001:db8::2:${p2}` : a)),
        5000,
      );
      expect(unbracketed.code).toBe(1);
      expect(unbracketed.log).toMatch(/startMesh: .*invalid port/);
    }, 30_000);
  },
);
