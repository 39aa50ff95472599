/**
 * A lab run's steps before the machine is touched (no namespace, no root needed): the setup
 * (lab/setup.ts) and the preparation (lab/prepare.ts), as runLab calls them.
 * - The spec is validated once, and that validation's resolve is the run's model: nothing
 *   validates or resolves the spec again, the `lab` command neither. The lab's spec (the lab's
 *   changes made on it) is validated once too, because a lab change can make a valid spec
 *   invalid (lab/lab-changes.ts says how); nothing is resolved outside a validation.
 * - The preparation writes what the programs read: headscale's files where its relocated paths
 *   point, derper's certificates under the names its flags ask for, the hosts file.
 * validate and resolve are counted through their modules, so a call from anywhere (loadTailnet,
 * prepareTailnet, the model's own validate) counts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../cli/main.js";
import { prepareLab, runDirs } from "../../lab/prepare.js";
import { LabRuntime } from "../../lab/runtime.js";
import { LabSpecInvalid, setUpLab, type LabRun } from "../../lab/setup.js";
import { allNodes } from "../../model/index.js";
import { resolve } from "../../model/resolve.js";
import { validate } from "../../model/validate.js";
import { exampleSpec } from "../support/specs.js";

vi.mock("../../model/validate.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../model/validate.js")>();
  return { ...actual, validate: vi.fn(actual.validate) };
});
vi.mock("../../model/resolve.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../model/resolve.js")>();
  return { ...actual, resolve: vi.fn(actual.resolve) };
});
// The machine check (Linux, root, ip/openssl/curl/mount) is the runtime's: these steps start nothing.
vi.mock("../../lab/runtime.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../lab/runtime.js")>()),
  labUnsupportedReason: () => undefined,
}));

const dir = mkdtempSync(join(tmpdir(), "lab-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Programs are only looked for here: any executable file stands in.
const binaries = { headscale: process.execPath, derper: process.execPath, tailscaled: process.execPath, tailscale: process.execPath };

beforeEach(() => {
  vi.mocked(validate).mockClear();
  vi.mocked(resolve).mockClear();
});

describe("a lab run, up to its files", () => {
  it("validates and resolves the spec once and the lab's spec once, and nothing else", async () => {
    const spec = exampleSpec();
    const setup = setUpLab({ spec, clients: 2, headscaleVersion: "0.29.3", binaries });
    expect(vi.mocked(validate).mock.calls.map(([s]) => s)).toEqual([spec]);
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(setup.model.name).toBe("home-lab");
    expect(setup.plan.machines.length).toBeGreaterThan(0);

    const runDir = join(dir, "run");
    const dirs = runDirs(runDir);
    const etc = { hosts: join(dirs("etc"), "hosts"), resolvConf: join(dirs("etc"), "resolv.conf"), nsswitchConf: join(dirs("etc"), "nsswitch.conf") };
    const progress: string[] = [];
    const run: LabRun = { setup, runId: "test", runDir, logDir: dirs("logs"), rt: new LabRuntime("tltest-", etc, {}), progress: (l) => progress.push(l) };
    const changes: Parameters<typeof prepareLab>[1] = [];
    const { lab } = await prepareLab(run, changes);
    // The one validation of the lab's spec (it resolves it: the lab's model); the spec's model is the setup's.
    expect(vi.mocked(validate).mock.calls.map(([s]) => s)).toEqual([spec, lab.spec]);
    expect(resolve).toHaveBeenCalledTimes(2);
    expect(lab.spec).not.toBe(spec);

    // The changes, listed once each; the files where the programs read them.
    expect(changes.find((c) => c.subject === "headscale.version")).toMatchObject({ from: "0.29.8", to: "0.29.3" });
    expect(progress.filter((l) => l.includes("headscale.version:"))).toHaveLength(1);
    expect(readFileSync(join(lab.tailnet.headscale.paths.configDir, "config.yaml"), "utf8")).toContain(`listen_addr: "[::]:443"`);
    for (const node of allNodes(lab.tailnet).filter((n) => lab.derperArgs.has(n.name))) {
      expect(existsSync(join(runDir, "derper", node.name, "certs", `${node.derper.certFileBase}.crt`)), node.name).toBe(true);
    }
    expect(readFileSync(etc.hosts, "utf8")).toContain("hs.example.com");
  });

  it("the lab command says what is wrong with an invalid spec, validated once, and starts nothing (exit 1)", async () => {
    const spec = exampleSpec();
    spec.headscale.serverUrl = "not a url";
    const file = join(dir, "invalid.json");
    writeFileSync(file, JSON.stringify(spec));
    const err: string[] = [];
    const code = await runCli(["lab", file], { out: () => undefined, err: (t) => err.push(t) });
    expect(code).toBe(1);
    expect(err.join("\n")).toMatch(new RegExp(`^${file}: \\d+ problems?, no lab started:\n.*headscale\\.serverUrl`, "s"));
    expect(validate).toHaveBeenCalledTimes(1);
    // A valid spec is validated once too, by the run (here it stops at the programs, before anything starts).
    vi.mocked(validate).mockClear();
    writeFileSync(file, JSON.stringify(exampleSpec()));
    const missing = await runCli(["lab", file, "--bin-dir", join(dir, "no-programs")], { out: () => undefined, err: (t) => err.push(t) });
    expect(missing).toBe(2);
    expect(err.join("\n")).toMatch(/programs the lab needs are missing/);
    expect(validate).toHaveBeenCalledTimes(1);
  });

  it("refuses an invalid spec with its problems, before anything else", () => {
    const spec = exampleSpec();
    spec.headscale.serverUrl = "not a url";
    expect(() => setUpLab({ spec, binaries })).toThrow(LabSpecInvalid);
    expect(validate).toHaveBeenCalledTimes(1);
    try {
      setUpLab({ spec, binaries });
    } catch (e) {
      expect((e as LabSpecInvalid).issues.some((i) => i.path === "headscale.serverUrl")).toBe(true);
      expect((e as Error).message).toMatch(/^the spec has \d+ problem\(s\):\n/);
    }
  });
});
