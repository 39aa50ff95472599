/**
 * The package is consumable from another repository: `npm pack`, install the tarball into a
 * scratch cdktf app outside the repo, import the constructs by the package name, synthesize.
 * Installs come from the local npm cache (`--prefer-offline`); nothing is fetched that the
 * repository's own install did not already fetch.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const repo = new URL("../..", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "cdktf-tailnet-consumer-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm pack -> install in a scratch cdktf app -> synth", () => {
  it("imports Tailnet, HeadscaleServer, DerpRegion and DockerHost from 'cdktf-tailnet' and synthesizes", async () => {
    const pack = await execa("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: repo });
    const tarball = join(scratch, pack.stdout.trim().split("\n").at(-1)!);
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
    writeFileSync(
      join(scratch, "package.json"),
      JSON.stringify({
        name: "consumer",
        private: true,
        type: "module",
        dependencies: { "cdktf-tailnet": `file:${tarball}`, ...pkg.peerDependencies, constructs: pkg.devDependencies.constructs },
      }),
    );
    await execa("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: scratch });
    writeFileSync(
      join(scratch, "main.mjs"),
      `import { App, TerraformStack } from "cdktf";
import { Tailnet, HeadscaleServer, DerpRegion, DockerHost } from "cdktf-tailnet";
import { loadTailnet } from "cdktf-tailnet/model";
for (const c of [Tailnet, HeadscaleServer, DerpRegion, DockerHost]) if (typeof c !== "function") throw new Error("missing export");
const spec = {
  name: "consumer",
  headscale: { serverUrl: "https://hs.example.com", host: "vm", dns: { baseDomain: "tail.example.net" } },
  derp: { regions: [{ id: 900, code: "fra", name: "Frankfurt", nodes: [{ name: "fra-1", host: "vm", hostname: "derp.example.com" }] }] },
  hosts: [{ name: "vm", publicIpv4: "203.0.113.7", docker: { daemon: "ssh://root@203.0.113.7" } }],
};
loadTailnet(spec);
const app = new App({ outdir: "cdktf.out" });
new Tailnet(new TerraformStack(app, "consumer"), "tailnet", { spec });
app.synth();
`,
    );
    const run = await execa("node", ["main.mjs"], { cwd: scratch, env: { CHECKPOINT_DISABLE: "1", CDKTF_TAILNET_SECRETS_DIR: join(scratch, "secrets") } });
    expect(run.exitCode).toBe(0);
    const json = JSON.parse(readFileSync(join(scratch, "cdktf.out", "stacks", "consumer", "cdk.tf.json"), "utf8"));
    expect(Object.keys(json.resource.docker_container)).toHaveLength(2);
    expect(readdirSync(join(scratch, "node_modules", "cdktf-tailnet", "dist", "constructs"))).toContain("index.d.ts");
  }, 240_000);
});
