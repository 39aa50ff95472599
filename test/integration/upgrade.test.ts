/**
 * Upgrades against the real headscale (built with their release versions, which headscale's
 * upgrade check needs): a downgrade is refused by headscale and by the kit; a 0.27 database is
 * not recognised by 0.29's check, so the kit refuses that skip itself, naming the steps; the
 * stepwise path starts at every step; a CLI render remembers the version it rendered.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "../../cli/main.js";
import { relocateHeadscale, validate } from "../../model/index.js";
import { placeHeadscaleFiles, renderTailnet } from "../../render/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { freeLoopbackPorts } from "../support/headscale-process.js";
import { exampleSpec } from "../support/specs.js";
import { upstreamBinary, upstreamSkipReason } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function specFor(version: string, upgradeFrom?: string) {
  const spec = exampleSpec();
  spec.headscale.version = version;
  if (upgradeFrom) spec.headscale.upgradeFrom = upgradeFrom;
  spec.headscale.tls = { mode: "proxy" };
  return spec;
}

/** Runs `headscale serve` on one state directory for up to `ms`; "running" when it stayed up. */
async function serveOn(paths: { configDir: string; stateDir: string; runDir: string }, version: string, ms = 4000): Promise<{ result: "running" | number; output: string }> {
  const ports = (await freeLoopbackPorts(3)) as [number, number, number];
  const tailnet = relocateHeadscale(prepareTailnet(specFor(version)), { paths, listenAddr: `127.0.0.1:${ports[0]}`, metricsListenAddr: `127.0.0.1:${ports[1]}`, grpcListenAddr: `127.0.0.1:${ports[2]}` });
  for (const { hostPath, file } of placeHeadscaleFiles(tailnet)) {
    mkdirSync(dirname(hostPath), { recursive: true });
    writeFileSync(hostPath, file.content);
  }
  const child = spawn(upstreamBinary("headscale", version), ["serve", "-c", join(paths.configDir, "config.yaml")]);
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const result = await new Promise<"running" | number>((resolve) => {
    const timer = setTimeout(() => resolve("running"), ms);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
  if (result === "running") {
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
  }
  return { result, output };
}

describe("the upgrade rule in the validator", () => {
  it("refuses 0.27 -> 0.29 naming the steps, accepts 0.28 -> 0.29 and renders 0.29's keys", () => {
    const skip = validate(specFor("0.29.3", "0.27.1"));
    expect(skip.issues.map((i) => [i.path, i.message, i.fix])).toEqual([
      [
        "headscale.version",
        "headscale 0.27.1 -> 0.29.3 skips 0.28; headscale upgrades one minor version at a time (0.29 refuses other jumps only on a database a 0.29 or later already used, so it cannot catch this one). Deploy 0.27.1 -> 0.28.0 -> 0.29.3, starting each version once so it migrates the database",
        "set version to 0.28.0 (upgradeFrom 0.27.1), deploy, then continue with 0.29.3",
      ],
    ]);
    expect(validate(specFor("0.28.0", "0.29.3")).issues[0]!.message).toMatch(/^headscale 0\.29\.3 -> 0\.28\.0 is a downgrade/);
    const step = prepareTailnet(specFor("0.29.3", "0.28.0"));
    const config = renderTailnet(step).find((f) => f.path === "headscale/config.yaml")!.content;
    expect(config).toContain("node:\n  ephemeral:\n    inactivity_timeout:");
    expect(config).not.toContain("ephemeral_node_inactivity_timeout");
    expect(config).not.toContain("randomize_client_port");
  });
});

describe.skipIf(!!skipReason("upgrade", upstreamSkipReason))(`the upgrade rule in the real headscale ${upstreamSkipReason ?? ""}`, () => {
  const fresh = () => {
    const root = mkdtempSync(join(tmpdir(), "hs-up-"));
    dirs.push(root);
    const paths = { configDir: join(root, "etc"), stateDir: join(root, "lib"), runDir: join(root, "run") };
    Object.values(paths).forEach((d) => mkdirSync(d));
    return paths;
  };

  it("a downgrade is refused by headscale too: 0.28 will not start on a database 0.29 used", async () => {
    const paths = fresh();
    expect((await serveOn(paths, "0.29.3")).result).toBe("running");
    const down = await serveOn(paths, "0.28.0");
    expect(down.result, down.output).not.toBe("running");
    expect(down.output).toContain("database_versions");
    expect(validate(specFor("0.28.0", "0.29.3")).ok).toBe(false);
  }, 60_000);

  it("0.29 starts on a database 0.27 left (it cannot tell), which is why the kit refuses that skip itself", async () => {
    const paths = fresh();
    expect((await serveOn(paths, "0.27.1")).result).toBe("running");
    expect((await serveOn(paths, "0.29.3")).result).toBe("running");
    expect(validate(specFor("0.29.3", "0.27.1")).ok).toBe(false);
  }, 60_000);

  it("0.27 -> 0.28 -> 0.29, the path the kit names, starts at every step", async () => {
    const paths = fresh();
    for (const v of ["0.27.1", "0.28.0", "0.29.3"]) {
      const run = await serveOn(paths, v);
      expect(run.result, `${v}:\n${run.output}`).toBe("running");
    }
  }, 60_000);
});

describe("a CLI render remembers the version it rendered", () => {
  it("refuses to skip a minor version from the last render, and accepts the next step", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-upgrade-"));
    dirs.push(dir);
    const out = join(dir, "out");
    const render = async (version: string) => {
      const file = join(dir, `tailnet-${version}.yaml`);
      writeFileSync(file, stringify(specFor(version)));
      const err: string[] = [];
      const code = await runCli(["render", file, "--out", out], { out: () => {}, err: (t) => err.push(t) });
      return { code, err: err.join("\n") };
    };
    expect((await render("0.27.1")).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, ".cdktf-tailnet-manifest.json"), "utf8")).headscaleVersion).toBe("0.27.1");
    const skip = await render("0.29.3");
    expect(skip.code).toBe(1);
    expect(skip.err).toContain("headscale 0.27.1 -> 0.29.3 skips 0.28");
    expect((await render("0.28.0")).code).toBe(0);
    expect((await render("0.29.3")).code).toBe(0);
  });
});
