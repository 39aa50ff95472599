/**
 * Policy and bootstrap against the real headscale: the rendered policy is what headscale loads
 * (and `headscale policy check` accepts), bootstrap creates the model's users and pre-auth keys
 * once, a second run creates nothing, and the join commands carry the right flags.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { bootstrap } from "../../cli/bootstrap.js";
import { HeadscaleCli, runnerFor } from "../../cli/headscale-cli.js";
import { clientAdvice, validate } from "../../model/index.js";
import { renderPolicy } from "../../render/index.js";
import { prepareTailnet, SecretStore } from "../../secrets/index.js";
import { cleanupSandboxes, prepareHeadscale, startHeadscale, stopAllHeadscale } from "../support/headscale-process.js";
import { exampleSpec } from "../support/specs.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";

const scratch: string[] = [];
function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

afterAll(async () => {
  await stopAllHeadscale();
  cleanupSandboxes();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function exampleFor(version: string) {
  const spec = exampleSpec();
  spec.headscale.version = version.replace(/^v/, "");
  spec.headscale.tls = { mode: "proxy" }; // loopback: no Let's Encrypt
  return prepareTailnet(spec);
}

describe.skipIf(!!skipReason("bootstrap", upstreamSkipReason))(`policy and bootstrap on the real headscale ${upstreamSkipReason ?? ""}`, () => {
  it.each(upstreamVersions.headscale)("headscale %s loads the rendered policy; bootstrap is idempotent", async (version) => {
    const bin = upstreamBinary("headscale", version);
    const sandbox = await prepareHeadscale(exampleFor(version));
    const policyPath = sandbox.tailnet.headscale.policy.path;
    expect(policyPath.startsWith(sandbox.configDir)).toBe(true);
    expect(sandbox.configObject.policy).toEqual({ mode: "file", path: policyPath });
    const hs = await startHeadscale(bin, sandbox);
    expect(hs.ready, hs.output()).toBe(true);

    // headscale's own policy checker agrees (0.29 resolves users through the running server).
    // (0.27 and 0.28 check offline and take no config there; 0.29 asks the running server.)
    const needsServer = sandbox.tailnet.headscale.version.minor.minor === "0.29";
    const check = await execa(bin, [...(needsServer ? ["-c", sandbox.configPath] : []), "policy", "check", "--file", policyPath], { reject: false });
    expect(check.stdout + check.stderr).toContain("Policy is valid");
    const loaded = await execa(bin, ["-c", sandbox.configPath, "policy", "get"], { reject: false });
    if (loaded.exitCode === 0) expect(loaded.stdout).toContain("192.168.100.0/24");

    const store = new SecretStore("home-lab", scratchDir("cdktf-tailnet-bootstrap-"));
    const cli = new HeadscaleCli(runnerFor(`local:${bin},${sandbox.configPath}`), version.replace(/^v/, ""));
    const first = await bootstrap(sandbox.tailnet, { cli, store });
    expect(first.createdUsers).toEqual(["alice", "home"]);
    expect(first.devices.map((d) => [d.name, d.keyStatus])).toEqual([["home-router", "created"]]);
    expect(first.userKeys.map((k) => [k.user, k.keyStatus])).toEqual([["alice", "created"]]);
    const router = first.devices[0]!;
    expect(statSync(router.keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(router.keyFile, "utf8").trim();
    expect(key.length).toBeGreaterThan(20);
    expect(router.joinCommand).toBe(
      `tailscale up --login-server=https://hs.example.com --auth-key=file:${router.keyFile} --hostname=home-router --accept-routes --advertise-routes=192.168.100.0/24 --advertise-exit-node --advertise-tags=tag:router`,
    );
    expect(router.joinCommand).not.toContain(key);
    expect(router.forwarding.join("\n")).toContain("net.ipv4.ip_forward = 1");
    // The join commands come with the client minimum of this headscale and the release every node should run.
    const minClient = sandbox.tailnet.headscale.version.minor.minClientVersion;
    expect(first.clientAdvice[0]).toMatch(
      new RegExp(
        `^headscale ${version.replace(/^v/, "").replaceAll(".", "\\.")} accepts Tailscale clients ${minClient.replaceAll(".", "\\.")} or newer; run 1\\.104\\.4 or newer on every node \\(TS-2026-014: `,
      ),
    );
    expect(first.clientAdvice).toEqual(clientAdvice(sandbox.tailnet.headscale.version));

    const users = JSON.parse((await execa(bin, ["-c", sandbox.configPath, "users", "list", "-o", "json"])).stdout) as { name: string }[];
    expect(users.map((u) => u.name).sort()).toEqual(["alice", "home"]);
    const keys = await cli.preAuthKeys(await cli.users());
    expect(keys).toHaveLength(2);
    const routerKey = keys.find((k) => k.key === key || key.startsWith(k.key.replace(/\*+$/, "")) || k.aclTags.includes("tag:router"));
    expect(routerKey?.aclTags).toContain("tag:router");

    const second = await bootstrap(sandbox.tailnet, { cli, store });
    expect(second.createdUsers).toEqual([]);
    expect(second.devices[0]!.keyStatus).toBe("kept");
    expect(await cli.preAuthKeys(await cli.users())).toHaveLength(2);
    expect(readFileSync(router.keyFile, "utf8").trim()).toBe(key);

    const rotated = await bootstrap(sandbox.tailnet, { cli, store, rotateKeys: true, showKeys: true });
    expect(rotated.devices[0]!.keyStatus).toBe("rotated");
    const newKey = readFileSync(router.keyFile, "utf8").trim();
    expect(newKey).not.toBe(key);
    expect(rotated.devices[0]!.joinCommand).toContain(`--auth-key=${newKey}`);
    await hs.stop();
  });
});

describe.skipIf(!!upstreamSkipReason)(`a broken policy ${upstreamSkipReason ?? ""}`, () => {
  it("is refused by the kit before headscale sees it, and headscale refuses the same file", async () => {
    const spec = exampleSpec();
    spec.policy!.acls!.push({ src: ["group:ops"], dst: ["tag:router:22"] });
    expect(validate(spec).issues.map((i) => [i.path, i.message])).toEqual([
      ["policy.acls[2].src[0]", 'names "group:ops", which policy.groups does not define'],
    ]);
    // The same rule written into the rendered file by hand:
    const policy = JSON.parse(renderPolicy(prepareTailnet(exampleSpec()))!);
    policy.acls.push({ action: "accept", src: ["group:ops"], dst: ["tag:router:22"] });
    const file = join(scratchDir("cdktf-tailnet-policy-"), "policy.json");
    writeFileSync(file, JSON.stringify(policy));
    const check = await execa(upstreamBinary("headscale", "v0.28.0"), ["policy", "check", "--file", file], { reject: false });
    expect(check.exitCode).not.toBe(0);
    expect(check.stdout + check.stderr).toMatch(/group:ops/);
  });

  it("a policy the kit derives (no policy in the spec, a router and an exit node) opens with its HuJSON comment and passes headscale's own check", async () => {
    const spec = exampleSpec();
    delete spec.policy;
    spec.devices!.push({ name: "exit", user: "alice", exitNode: true });
    const text = renderPolicy(prepareTailnet(spec))!;
    expect(text.startsWith("// Rendered by cdktf-tailnet: the spec has no policy")).toBe(true);
    const file = join(scratchDir("cdktf-tailnet-policy-"), "policy.json");
    writeFileSync(file, text);
    // 0.27 and 0.28 check offline; 0.29 runs the same file in the lab (test/integration/lab.test.ts, the how-to's tailnet).
    for (const version of ["v0.27.1", "v0.28.0"]) {
      const check = await execa(upstreamBinary("headscale", version), ["policy", "check", "--file", file], { reject: false });
      expect(check.stdout + check.stderr, version).toContain("Policy is valid");
    }
  });
});
