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
import { prepareTailnet } from "cdktf-tailnet/secrets";
for (const c of [Tailnet, HeadscaleServer, DerpRegion, DockerHost]) if (typeof c !== "function") throw new Error("missing export");
const spec = {
  name: "consumer",
  headscale: { serverUrl: "https://hs.example.com", host: "vm", dns: { baseDomain: "tail.example.net" } },
  derp: { regions: [{ id: 900, code: "fra", name: "Frankfurt", nodes: [{ name: "fra-1", host: "vm", hostname: "derp.example.com" }] }] },
  hosts: [{ name: "vm", publicIpv4: "203.0.113.7", docker: { daemon: "ssh://root@203.0.113.7" } }],
};
loadTailnet(spec);
// Spec text is parsed strictly (duplicate keys refused), and cdktf-tailnet/secrets prepares it.
try { loadTailnet("name: a\\nname: b"); throw new Error("duplicate key accepted"); } catch (e) { if (!/unique|duplicate/i.test(e.message)) throw e; }
if (prepareTailnet(JSON.stringify(spec)).name !== "consumer") throw new Error("prepareTailnet from text");
const app = new App({ outdir: "cdktf.out" });
new Tailnet(new TerraformStack(app, "consumer"), "tailnet", { spec });
app.synth();
`,
    );
    const run = await execa("node", ["main.mjs"], { cwd: scratch, env: { CHECKPOINT_DISABLE: "1", CDKTF_TAILNET_SECRETS_DIR: join(scratch, "secrets") } });
    expect(run.exitCode).toBe(0);
    const json = JSON.parse(readFileSync(join(scratch, "cdktf.out", "stacks", "consumer", "cdk.tf.json"), "utf8"));
    const names = Object.values(json.resource.docker_container as Record<string, { name: string }>).map((c) => c.name);
    expect(names.sort()).toEqual(["derper-fra-1", "headscale", "headscale-backup", "headscale-config-seed"]);
    const installed = join(scratch, "node_modules", "cdktf-tailnet", "dist");
    expect(readdirSync(join(installed, "constructs"))).toContain("index.d.ts");
    // Bundled: the library's JavaScript is a few files (entry points and shared chunks), not one per source module.
    const modules = readdirSync(installed, { recursive: true }).filter((f) => String(f).endsWith(".js"));
    expect(modules.length).toBeLessThan(20);
    expect(modules.some((f) => String(f).startsWith("bench"))).toBe(false);

    // One copy of each class across entry points: an invalid spec thrown by Tailnet is the model's TailnetSpecError.
    writeFileSync(
      join(scratch, "errors.mjs"),
      `import { App, TerraformStack } from "cdktf";
import { Tailnet } from "cdktf-tailnet";
import { TailnetSpecError } from "cdktf-tailnet/model";
try { new Tailnet(new TerraformStack(new App(), "s"), "t", { spec: { name: "Bad Name" } }); }
catch (e) { console.log(e instanceof TailnetSpecError, e.issues.length > 0); }
`,
    );
    const errors = await execa("node", ["errors.mjs"], { cwd: scratch, env: { CHECKPOINT_DISABLE: "1" } });
    expect(errors.stdout).toBe("true true");

    // A TypeScript consumer type-checks against the shipped declarations.
    writeFileSync(
      join(scratch, "typed.ts"),
      `import { App, TerraformStack } from "cdktf";
import { Tailnet, DockerHost, type TailnetProps } from "cdktf-tailnet";
import { loadTailnet, type PreparedTailnet, type TailnetSpec } from "cdktf-tailnet/model";
import { renderTailnet } from "cdktf-tailnet/render";
import { prepare, prepareTailnet } from "cdktf-tailnet/secrets";
const spec: TailnetSpec = { name: "typed", headscale: { serverUrl: "https://hs.example.com", host: "vm" }, hosts: [{ name: "vm", publicIpv4: "203.0.113.7", docker: { daemon: "ssh://root@203.0.113.7" } }] };
const prepared: PreparedTailnet = prepare(loadTailnet(spec));
const fromText: PreparedTailnet = prepareTailnet("name: typed");
renderTailnet(prepared);
// @ts-expect-error -- a model that skipped prepare() is refused by the renderers
renderTailnet(loadTailnet(spec));
const props: TailnetProps = { spec };
const tailnet = new Tailnet(new TerraformStack(new App(), "typed"), "tailnet", props);
const host: DockerHost | undefined = tailnet.hosts.get("vm");
const listen: string = loadTailnet(spec).headscale.listenAddr;
// @ts-expect-error -- a misspelled spec key is a type error
const wrong: TailnetSpec = { name: "x", headscale: { serverURL: "https://hs.example.com" } };
export { host, listen, wrong, fromText };
`,
    );
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["typed.ts"],
      }),
    );
    const tsc = await execa(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: scratch, reject: false });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.exitCode).toBe(0);
  }, 240_000);
});
