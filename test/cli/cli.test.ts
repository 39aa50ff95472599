import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { MANIFEST_NAME } from "../../cli/write-tree.js";
import { prepareTailnet } from "../../secrets/index.js";
import { renderTailnet } from "../../render/index.js";
import { exampleSpec } from "../support/specs.js";

const EXAMPLE = new URL("../../examples/home-lab/tailnet.yaml", import.meta.url).pathname;

/** The example's warnings, as validate, render (and so `npm start`) print them: the model's, the same the constructs annotate. */
const EXAMPLE_WARNINGS = [
  "warning: headscale.backup.restic: headscale's backups stay on host cloud (/var/lib/headscale-backup, a volume on its Docker engine): losing the host loses the tailnet's state and every backup of it",
  '  fix: add headscale.backup.restic with a repository off the host, e.g. { repository: "sftp:backup@backup.example.com:/srv/restic/headscale" } (its password in /etc/cdktf-tailnet/restic-password on the host)',
  "warning: dns: no DNS record for derp-home.example.com is created at deploy time: host home has no address in the spec; its dynamic-DNS updater creates the record when it first runs",
  "  fix: nothing, if the updater on home runs; give the host publicIpv4/publicIpv6 to have the record from the first deploy",
].join("\n");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-cli-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function tree(root: string, prefix = ""): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(root, join(prefix, e.name)) : [join(prefix, e.name)]))
    .sort();
}

describe("cdktf-tailnet warnings", () => {
  it("validate and render print every warning the model knows, the same the constructs annotate", async () => {
    const v = await run("validate", EXAMPLE);
    expect([v.code, v.err]).toEqual([0, EXAMPLE_WARNINGS]);
    const r = await run("render", EXAMPLE, "--out", join(dir, "out"));
    expect([r.code, r.err]).toEqual([0, EXAMPLE_WARNINGS]);
  });
});

describe("cdktf-tailnet render", () => {
  it("writes exactly the rendered files, with their modes and a manifest", async () => {
    const out = join(dir, "out");
    const r = await run("render", EXAMPLE, "--out", out);
    expect(r.code).toBe(0);
    const expected = renderTailnet(prepareTailnet(exampleSpec()));
    expect(r.out).toContain(`rendered ${expected.length} files for headscale 0.29.8 into ${out}/`);
    expect(tree(out)).toEqual([MANIFEST_NAME, ...expected.map((f) => f.path)].sort());
    expect(tree(out)).toEqual(
      expect.arrayContaining(["derp.json", "derper/Dockerfile", "headscale/config.yaml", "headscale/derp.yaml", "headscale/policy.json"]),
    );
    for (const file of expected) {
      expect(readFileSync(join(out, file.path), "utf8")).toBe(file.content);
      expect(statSync(join(out, file.path)).mode & 0o777).toBe(file.mode);
    }
    expect(statSync(out).mode & 0o777).toBe(0o755);
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST_NAME), "utf8"));
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(expected.map((f) => f.path));
  });

  it("renders byte-identical trees on every run, replacing its own earlier output", async () => {
    const out = join(dir, "out");
    await run("render", EXAMPLE, "--out", out);
    const first = tree(out).map((f) => readFileSync(join(out, f), "utf8"));
    expect((await run("render", EXAMPLE, "--out", out)).code).toBe(0);
    expect(tree(out).map((f) => readFileSync(join(out, f), "utf8"))).toEqual(first);
    expect(readdirSync(dir)).toEqual(["out"]); // no staging directory, old tree or lock left behind
  });

  it("writes nothing and exits 1 when the spec has problems, leaving earlier output intact", async () => {
    const out = join(dir, "out");
    await run("render", EXAMPLE, "--out", out);
    const before = readFileSync(join(out, "headscale/config.yaml"), "utf8");
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, readFileSync(EXAMPLE, "utf8").replace("baseDomain: tail.example.net", "baseDomain: example.com").replace("id: 902", "id: 1902"));
    const r = await run("render", bad, "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain("2 problems, nothing written");
    expect(r.err).toContain('headscale.dns.baseDomain: "example.com" is a parent of the server URL\'s host "hs.example.com"');
    expect(r.err).toContain("derp.regions[1].id: 1902 is outside 900-999");
    expect(readFileSync(join(out, "headscale/config.yaml"), "utf8")).toBe(before);
    const fresh = join(dir, "fresh");
    expect((await run("render", bad, "--out", fresh)).code).toBe(1);
    expect(existsSync(fresh)).toBe(false);
  });

  it("names a missing certificate file once, in validate, render and doctor alike, and writes nothing", async () => {
    const bad = join(dir, "missing-cert.yaml");
    const missing = join(dir, "gone.crt");
    writeFileSync(
      bad,
      readFileSync(EXAMPLE, "utf8").replace(
        "{ name: edge-1, host: edge, hostname: 192.0.2.50, certificate: { mode: self-signed } }",
        `{ name: edge-1, host: edge, hostname: derp-edge.example.com, certificate: { mode: manual, certFile: ${JSON.stringify(missing)}, keyFile: ${JSON.stringify(join(dir, "gone.key"))} } }`,
      ),
    );
    const out = join(dir, "out");
    const secrets = join(dir, "secrets");
    for (const argv of [
      ["validate", bad],
      ["render", bad, "--out", out, "--secrets-dir", secrets],
      ["doctor", bad, "--secrets-dir", secrets],
    ]) {
      const r = await run(...argv);
      expect([argv[0], r.code]).toEqual([argv[0], 1]);
      expect(r.err).toContain("2 problems, nothing written");
      expect(r.err).toContain(`derp.regions[3].nodes[0].certificate.keyFile: ${join(dir, "gone.key")} does not exist`);
      expect(r.err.split(`${missing} does not exist`).length - 1).toBe(1); // reported once, not by two checks
    }
    expect(existsSync(out)).toBe(false);
  });

  it("refuses to replace a directory it did not write", async () => {
    const out = join(dir, "mine");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "precious");
    const r = await run("render", EXAMPLE, "--out", out);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `cdktf-tailnet render: ${out} is not empty and was not written by cdktf-tailnet (no ${MANIFEST_NAME}): notes.txt\n  fix: choose a new or empty --out directory`,
    );
    expect(readdirSync(out)).toEqual(["notes.txt"]);
  });

  it("refuses to replace its own earlier output once someone added to it", async () => {
    const out = join(dir, "out");
    await run("render", EXAMPLE, "--out", out);
    writeFileSync(join(out, "stale.txt"), "left over");
    const r = await run("render", EXAMPLE, "--out", out);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `cdktf-tailnet render: ${out} does not hold exactly the tree cdktf-tailnet rendered there, and a render replaces the whole directory:\n` +
        "  not rendered by cdktf-tailnet: stale.txt\n" +
        `  fix: move what you want to keep out of ${out} (or delete it), or choose another --out`,
    );
    expect(readFileSync(join(out, "stale.txt"), "utf8")).toBe("left over");
  });

  it("loads a TypeScript module exporting the spec", async () => {
    const specFile = join(dir, "tailnet.ts");
    const spec = exampleSpec();
    writeFileSync(
      specFile,
      `import type { TailnetSpec } from ${JSON.stringify(new URL("../../model/index.ts", import.meta.url).pathname)};\nconst spec: TailnetSpec = ${JSON.stringify(spec)};\nexport default spec;\n`,
    );
    const r = await run("validate", specFile);
    expect(r.err).toBe(EXAMPLE_WARNINGS);
    expect(r.out).toBe(`${specFile}: valid (headscale 0.29.8, 4 DERP regions, 5 nodes, 6 hosts)`);
  });

  it("reports YAML mistakes with their place: duplicate keys, bad syntax", async () => {
    const dup = join(dir, "dup.yaml");
    writeFileSync(dup, "headscale:\n  serverUrl: https://a.example.com\n  serverUrl: https://b.example.com\n");
    const r = await run("validate", dup);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not valid YAML");
    expect(r.err).toMatch(/Map keys must be unique at line 3/);
  });

  it("explains usage errors with exit code 2", async () => {
    expect((await run("render")).code).toBe(2);
    expect((await run("deploy", EXAMPLE)).err).toContain('unknown command "deploy"');
    expect((await run("validate", join(dir, "tailnet.toml"))).err).toContain("unknown spec file type");
    expect((await run("validate", join(dir, "missing.yaml"))).err).toBe(
      `cdktf-tailnet validate: cannot read the spec ${join(dir, "missing.yaml")}: no such file or directory\n  fix: check the path (a spec is a tailnet.yaml, or a .ts/.js module exporting the spec)`,
    );
  });

  it("explains bootstrap and doctor usage mistakes", async () => {
    const noVia = await run("bootstrap", EXAMPLE);
    expect(noVia.code).toBe(2);
    expect(noVia.err).toContain("bootstrap needs --via: how to reach the headscale CLI");
    const badVia = await run("bootstrap", EXAMPLE, "--via", "telnet:hs");
    expect(badVia.code).toBe(2);
    expect(badVia.err).toContain('--via "telnet:hs": use local:<binary>[,<config>], docker:<container>[@ssh://user@host] or ssh:<user@host>');
    const badResolve = await run("doctor", EXAMPLE, "--resolve", "hs.example.com");
    expect(badResolve.code).toBe(2);
    expect(badResolve.err).toContain('--resolve "hs.example.com": write host=address');
  });

  it("runs as a real process with the documented exit codes", async () => {
    const bin = new URL("../../cli/bin.ts", import.meta.url).pathname;
    const ok = await execa(process.execPath, ["--import", "tsx", bin, "validate", EXAMPLE], { reject: false });
    expect(ok.exitCode).toBe(0);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "headscale: { serverUrl: hs.example.com }\n");
    const failed = await execa(process.execPath, ["--import", "tsx", bin, "validate", bad], { reject: false });
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('headscale.serverUrl: "hs.example.com" is not an http or https URL');
  });
});

describe("cdktf-tailnet versions and advisories", () => {
  it("lists every release with the default marked and an advisory column, then what clients should run", async () => {
    const r = await run("versions");
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toMatch(/^headscale\s+clients\s+known advisories$/);
    expect(lines).toContain("0.29.8     default  1.80.0+  none known");
    expect(lines).toContain("0.29.7              1.80.0+  headscale#3724 (fixed in 0.29.8)");
    expect(lines).toContain("0.29.3              1.80.0+  headscale 0.29.7 security release (fixed in 0.29.7); headscale#3724 (fixed in 0.29.8)");
    expect(lines).toContain("0.27.1              1.64.0+  headscale 0.29.7 security release (fixed in 0.29.7); headscale#3724 (fixed in 0.29.8)");
    expect(lines.filter((l) => / default /.test(l))).toEqual([
      "0.29.8     default  1.80.0+  none known",
      "1.102.5  default  1.26.8  derper: none known; as a client (tailscaled): TS-2026-014 (fixed in 1.104.4)",
    ]);
    expect(lines).toContain("1.104.7           1.27.4  derper: none known");
    expect(lines).toContain("  headscale 0.29.8 includes headscale#3724: Tailscale 1.106 and newer clients connect to older clients");
    expect(r.out).toMatch(/\n {2}headscale 0\.29\.8 accepts Tailscale clients 1\.80\.0 or newer; run 1\.104\.4 or newer on every node \(TS-2026-014: /);
    expect(r.out).toMatch(
      /\n {2}headscale 0\.29\.7 security release \(security\): headscale: denial of service .*; fixed in 0\.29\.7\. https:\/\/raw\.githubusercontent\.com\/juanfont\/headscale\/v0\.29\.8\/CHANGELOG\.md/,
    );
  });

  it("validate warns about a pinned release with a known advisory, and still accepts it", async () => {
    const spec = join(dir, "pinned.yaml");
    writeFileSync(spec, readFileSync(EXAMPLE, "utf8").replace('version: "0.29.8"', 'version: "0.29.3"'));
    const r = await run("validate", spec);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${spec}: valid (headscale 0.29.3, 4 DERP regions, 5 nodes, 6 hosts)`);
    expect(r.err).toContain(
      "warning: headscale.version: headscale 0.29.3 has a known security advisory: headscale 0.29.7 security release, headscale: denial of service",
    );
    expect(r.err).toContain("fixed in 0.29.7");
    expect(r.err).toContain('  fix: set headscale.version to 0.29.8 (with upgradeFrom: "0.29.3" while it deploys)');
    // The advisories first (validation's warnings), then the example's own.
    expect(r.err.startsWith("warning: headscale.version: headscale 0.29.3 has a known security advisory: ")).toBe(true);
    expect(r.err.endsWith(`\n${EXAMPLE_WARNINGS}`)).toBe(true);
    const clean = await run("validate", EXAMPLE);
    expect(clean.err).toBe(EXAMPLE_WARNINGS);
  });
});
