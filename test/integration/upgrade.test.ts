/**
 * Upgrades against the real headscale (built with their release versions, which headscale's
 * upgrade check needs): a downgrade is refused by headscale and by the kit; a 0.27 database is
 * not recognised by 0.29's check, so the kit refuses that skip itself, naming the steps; the
 * stepwise path starts at every step; a CLI render remembers the version it rendered. A rollback:
 * the backup script the units run before headscale starts takes 0.28's state before 0.29 migrates
 * it, and restores it before 0.28 starts again, which then runs on it with the same noise key.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "../../cli/main.js";
import { execa } from "execa";
import { beforeStartArgs, relocateHeadscale, validate } from "../../model/index.js";
import { placeHeadscaleFiles, renderBackupFiles, renderTailnet } from "../../render/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { freeLoopbackPorts } from "../support/headscale-process.js";
import { exampleSpec } from "../support/specs.js";
import { upstreamBinary, upstreamSkipReason } from "../support/upstream.js";
import { missingTool, skipReason } from "../support/requirements.js";

const dirs: string[] = [];
afterAll(() =>
  dirs.forEach((d) => {
    rmSync(d, { recursive: true, force: true });
  }),
);

function specFor(version: string, upgradeFrom?: string, rollbackFrom?: string) {
  const spec = exampleSpec();
  spec.headscale.version = version;
  if (upgradeFrom) spec.headscale.upgradeFrom = upgradeFrom;
  if (rollbackFrom) spec.headscale.rollbackFrom = rollbackFrom;
  spec.headscale.tls = { mode: "proxy" };
  return spec;
}

/** Runs `headscale serve` on one state directory for up to `ms`; "running" when it stayed up. */
async function serveOn(
  paths: { configDir: string; stateDir: string; runDir: string },
  version: string,
  ms = 4000,
): Promise<{ result: "running" | number; output: string }> {
  const ports = (await freeLoopbackPorts(3)) as [number, number, number];
  const tailnet = relocateHeadscale(prepareTailnet(specFor(version)), {
    paths,
    listenAddr: `127.0.0.1:${ports[0]}`,
    metricsListenAddr: `127.0.0.1:${ports[1]}`,
    grpcListenAddr: `127.0.0.1:${ports[2]}`,
  });
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
    Object.values(paths).forEach((d) => {
      mkdirSync(d);
    });
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

  it("0.28 -> 0.29 rolled back: the backup taken before 0.29 migrated the database, restored before 0.28 starts again", async () => {
    if (skipReason("upgrade rollback", missingTool("sqlite3"))) return;
    const paths = fresh();
    const backupDir = join(dirname(paths.stateDir), "backups");
    /** Runs one step of the backup script as the unit's ExecStartPre does, for the spec's settings. */
    const beforeStart = async (spec: ReturnType<typeof specFor>) => {
      const tailnet = relocateHeadscale(prepareTailnet(spec), { paths, backupDir });
      const files = renderBackupFiles(tailnet);
      const script = join(paths.configDir, "headscale-backup.sh");
      const config = join(paths.configDir, "headscale-backup.env");
      writeFileSync(script, files.find((f) => f.path.endsWith(".sh"))!.content);
      writeFileSync(config, files.find((f) => f.path.endsWith(".env"))!.content);
      const [step] = tailnet.headscale.backup!.beforeStart;
      return execa("sh", [script, config, ...beforeStartArgs(step!)], { reject: false });
    };
    expect((await serveOn(paths, "0.28.0")).result).toBe("running");
    const key = readFileSync(join(paths.stateDir, "noise_private.key"), "utf8");
    const pre = await beforeStart(specFor("0.29.3", "0.28.0"));
    expect(pre.exitCode, pre.stderr).toBe(0);
    expect(pre.stdout).toMatch(
      /^backup: headscale 0\.28\.0's database and keys are in .*\/backups\/\d{8}T\d{6}Z-0\.28\.0-before-0\.29\.3, kept for a rollback from 0\.29\.3$/m,
    );
    expect((await serveOn(paths, "0.29.3")).result).toBe("running");
    expect((await execa("sqlite3", [join(paths.stateDir, "db.sqlite"), "SELECT version FROM database_versions"])).stdout).toBe("v0.29.3");
    expect((await serveOn(paths, "0.28.0")).result).not.toBe("running"); // headscale refuses the downgrade
    // The kit allows exactly this way back, and its step restores 0.28's database.
    expect(validate(specFor("0.28.0", undefined, "0.29.3")).issues).toEqual([]);
    const back = await beforeStart(specFor("0.28.0", undefined, "0.29.3"));
    expect(back.exitCode, back.stderr).toBe(0);
    const rolled = await serveOn(paths, "0.28.0");
    expect(rolled.result, rolled.output).toBe("running");
    expect(readFileSync(join(paths.stateDir, "noise_private.key"), "utf8")).toBe(key);
    expect((await beforeStart(specFor("0.28.0", undefined, "0.29.3"))).stdout).toBe("backup: headscale was rolled back from 0.29.3 to 0.28.0 already");
  }, 90_000);

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
    // Going back needs rollbackFrom: the error says so, and with it the render goes through.
    const down = await render("0.28.0");
    expect(down.code).toBe(1);
    expect(down.err).toContain(
      'to roll back, write rollbackFrom: "0.29.3" instead of upgradeFrom (the kit restores the backup taken before 0.29.3 was deployed); else set version back to 0.29.3',
    );
    const file = join(dir, "tailnet-rollback.yaml");
    writeFileSync(file, stringify(specFor("0.28.0", undefined, "0.29.3")));
    expect(await runCli(["render", file, "--out", out], { out: () => {}, err: () => {} })).toBe(0);
  });
});
