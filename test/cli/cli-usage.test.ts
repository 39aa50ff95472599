/**
 * The CLI's words for mistakes: `--help`/`-h` on every command prints that command's usage and
 * exits 0; an unknown option, a missing value or a value given to a flag names the option and
 * shows the command's usage (never Node's parser text); a file that cannot be read or written is
 * explained in words with the path and the fix. Exact output throughout.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { describeFileError } from "../../cli/file-errors.js";
import { LAB, LAB_DOWN } from "../../cli/lab.js";
import { runCli } from "../../cli/main.js";
import { BOOTSTRAP, DOCTOR, RENDER, USAGE, VALIDATE, VERSIONS } from "../../cli/usage.js";
import { bundle } from "../support/bundle.js";
import { scratchDir } from "../support/scratch.js";

const EXAMPLE = new URL("../../examples/home-lab/tailnet.yaml", import.meta.url).pathname;
const COMMANDS = [VALIDATE, RENDER, BOOTSTRAP, DOCTOR, LAB, LAB_DOWN, VERSIONS];

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

let dir: string;
beforeAll(() => {
  dir = scratchDir("cdktf-tailnet-cli-usage-");
});

describe("--help on every command", () => {
  for (const command of COMMANDS) {
    for (const flag of ["--help", "-h"]) {
      it(`${command.name} ${flag} prints its usage and exits 0`, async () => {
        const r = await run(...command.name.split(" "), flag);
        expect(r).toEqual({ code: 0, out: command.usage, err: "" });
        expect(r.out.split("\n")[0]).toMatch(new RegExp(`^usage: cdktf-tailnet ${command.name}( |$)`));
      });
    }
    it(`help ${command.name} says the same`, async () => {
      expect(await run("help", ...command.name.split(" "))).toEqual({ code: 0, out: command.usage, err: "" });
    });
  }

  it("wins over everything else on the line, up to --", async () => {
    expect(await run("render", EXAMPLE, "--out", join(dir, "never"), "--bogus", "-h")).toEqual({ code: 0, out: RENDER.usage, err: "" });
    expect(await run("lab", "down", "--json", "--help")).toEqual({ code: 0, out: LAB_DOWN.usage, err: "" });
  });

  it("prints exactly these words", async () => {
    expect((await run("versions", "--help")).out).toBe(
      "usage: cdktf-tailnet versions\n  list the headscale releases the kit renders for (the oldest Tailscale client each accepts) and the\n  Tailscale releases it builds derper from (with the Go each needs), defaults marked, each with its\n  known advisories; then what Tailscale clients should run",
    );
    expect((await run("validate", "-h")).out).toBe(
      [
        "usage: cdktf-tailnet validate <spec>",
        "  check the spec and report every problem at once, each with its path and fix; writes nothing",
        "<spec> is a tailnet.yaml (or .yml, .json), or a .ts/.js module whose default export is the spec.",
        "exit codes: 0 valid, 1 the spec has problems, 2 usage or file error",
      ].join("\n"),
    );
    expect((await run("render", "--help")).out).toBe(
      [
        "usage: cdktf-tailnet render <spec> [--out <dir>] [--secrets-dir <dir>]",
        "  validate the spec and write every rendered file into <dir>, replacing it whole: a kill at any",
        "  moment leaves the old tree or the new one, and the next render finishes or undoes what a killed",
        "  one left (and says so)",
        "  options:",
        "    -o, --out <dir>       where to write (default: out): a new or empty directory, or one render",
        "                          wrote and nobody changed since; never a symbolic link",
        "    --secrets-dir <dir>   where kit-issued certificates and keys are kept",
        "                          (default: $CDKTF_TAILNET_SECRETS_DIR or ./.cdktf-tailnet-secrets)",
        "<spec> is a tailnet.yaml (or .yml, .json), or a .ts/.js module whose default export is the spec.",
        "exit codes: 0 written, 1 the spec has problems (nothing written), 2 usage or file error",
      ].join("\n"),
    );
    expect((await run("--help")).out).toBe(USAGE);
    expect(USAGE.split("\n")[0]).toBe("usage: cdktf-tailnet <command> [options]");
  });
});

describe("mistakes on the command line", () => {
  const mistake = (command: { name: string; usage: string }, message: string) => ({
    code: 2,
    out: "",
    err: `cdktf-tailnet ${command.name}: ${message}\n${command.usage}`,
  });

  for (const command of COMMANDS) {
    it(`${command.name}: an unknown option is named, with the command's usage`, async () => {
      expect(await run(...command.name.split(" "), "--bogus")).toEqual(mistake(command, "unknown option --bogus"));
      expect(await run(...command.name.split(" "), "-z")).toEqual(mistake(command, "unknown option -z"));
    });
  }

  it("an option without its value, and a value given to a flag", async () => {
    expect(await run("render", EXAMPLE, "--out")).toEqual(mistake(RENDER, "--out needs a value"));
    expect(await run("render", EXAMPLE, "-o")).toEqual(mistake(RENDER, "-o needs a value"));
    expect(await run("render", EXAMPLE, "--out", "--secrets-dir", "s")).toEqual(
      mistake(RENDER, "--out needs a value, got the option --secrets-dir (write --out=<value> for a value that starts with -)"),
    );
    expect(await run("doctor", EXAMPLE, "--json=yes")).toEqual(mistake(DOCTOR, '--json takes no value, got "yes"'));
    expect(await run("lab", EXAMPLE, "--wait")).toEqual(mistake(LAB, "--wait needs a value"));
  });

  it("the wrong number of arguments", async () => {
    expect(await run("validate")).toEqual(mistake(VALIDATE, "expected exactly one spec file, got none"));
    expect(await run("render", "a.yaml", "b.yaml")).toEqual(mistake(RENDER, "expected exactly one spec file, got a.yaml b.yaml"));
    expect(await run("versions", "all")).toEqual(mistake(VERSIONS, "expected no arguments, got all"));
    expect(await run("lab", "down", "now")).toEqual(mistake(LAB_DOWN, "expected no arguments, got now"));
  });

  it("option values each command checks itself", async () => {
    expect(await run("bootstrap", EXAMPLE)).toEqual(mistake(BOOTSTRAP, "bootstrap needs --via: how to reach the headscale CLI"));
    expect(await run("doctor", EXAMPLE, "--resolve", "hs.example.com")).toEqual(mistake(DOCTOR, '--resolve "hs.example.com": write host=address'));
    expect(await run("lab", EXAMPLE, "--clients", "two")).toEqual(mistake(LAB, '--clients must be a whole number, got "two"'));
    expect(await run("lab", EXAMPLE, "--fault-derp", "melt")).toEqual(mistake(LAB, '--fault-derp must be kill or link-down, got "melt"'));
  });

  it("an unknown command, or none, shows the whole usage", async () => {
    expect(await run("deploy", EXAMPLE)).toEqual({ code: 2, out: "", err: `cdktf-tailnet: unknown command "deploy"\n${USAGE}` });
    expect(await run()).toEqual({ code: 2, out: "", err: `cdktf-tailnet: no command given\n${USAGE}` });
    expect(await run("help", "deploy")).toEqual({ code: 2, out: "", err: `cdktf-tailnet: no command "deploy"\n${USAGE}` });
  });
});

describe("file errors in words", () => {
  const specFix = "check the path (a spec is a tailnet.yaml, or a .ts/.js module exporting the spec)";

  it("a spec that is missing, or a directory", async () => {
    const missing = join(dir, "missing.yaml");
    expect(await run("validate", missing)).toEqual({
      code: 2,
      out: "",
      err: `cdktf-tailnet validate: cannot read the spec ${missing}: no such file or directory\n  fix: ${specFix}`,
    });
    const module = join(dir, "missing.ts");
    expect(await run("lab", module)).toEqual({
      code: 2,
      out: "",
      err: `cdktf-tailnet lab: cannot read the spec ${module}: no such file or directory\n  fix: ${specFix}`,
    });
    const folder = join(dir, "specs.yaml");
    mkdirSync(folder);
    expect(await run("render", folder, "--out", join(dir, "out"))).toEqual({
      code: 2,
      out: "",
      err: `cdktf-tailnet render: cannot read the spec ${folder}: is a directory\n  fix: give the file inside ${folder}, not the directory`,
    });
  });

  it("--ca-file, --out and --secrets-dir paths that cannot be used", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    expect(await run("doctor", EXAMPLE, "--ca-file", join(dir, "ca.pem"))).toEqual({
      code: 2,
      out: "",
      err: `cdktf-tailnet doctor: cannot read the --ca-file ${join(dir, "ca.pem")}: no such file or directory\n  fix: check the path given to --ca-file`,
    });
    expect(await run("render", EXAMPLE, "--out", join(file, "out"))).toEqual({
      code: 2,
      out: "",
      err: `cdktf-tailnet render: cannot write the output directory ${join(file, "out")}: a part of the path is not a directory\n  fix: check the path: one of its directories is a file`,
    });
    // (After the example's warnings: the spec is valid, its secrets cannot be kept.)
    const secrets = await run("render", EXAMPLE, "--out", join(dir, "out"), "--secrets-dir", join(file, "secrets"));
    expect({ ...secrets, err: secrets.err.split("\n").slice(-2).join("\n") }).toEqual({
      code: 2,
      out: "",
      err: `cdktf-tailnet render: cannot create the directory ${join(file, "secrets", "home-lab")}: a part of the path is not a directory\n  fix: check the path: one of its directories is a file`,
    });
    expect(
      secrets.err
        .split("\n")
        .slice(0, -2)
        .every((l) => l.startsWith("warning: ") || l.startsWith("  fix: ")),
    ).toBe(true);
  });

  it("a spec this user may not read (the real CLI, run as nobody)", async () => {
    const spec = join(dir, "private.yaml");
    writeFileSync(spec, "name: x\n", { mode: 0o600 });
    chmodSync(dir, 0o755); // nobody may enter the directory, not read the file
    const cli = await bundle("cli/bin.ts", dir);
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cli, "validate", spec], { encoding: "utf8" });
    expect(r.stderr).toBe(
      `cdktf-tailnet validate: cannot read the spec ${spec}: permission denied\n  fix: make ${spec} readable by this user (and its directories searchable), or run as a user who may read it\n`,
    );
    expect(r.status).toBe(2);
    expect(execFileSync("id", ["-u"], { encoding: "utf8" }).trim()).toBe("0"); // the test itself runs as root
  }, 30_000);

  it("a reader that stops early (`versions | head -1`) ends the command quietly, exit code 0", async () => {
    const cli = await bundle("cli/bin.ts", dir);
    const r = spawnSync("sh", ["-c", `"$0" "$1" versions | head -1`, process.execPath, cli], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^headscale +clients +known advisories\n$/);
    expect(r.stderr).toBe("");
    const status = spawnSync("bash", ["-c", `"$0" "$1" versions | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`, process.execPath, cli], {
      encoding: "utf8",
    });
    expect(status.stdout).toBe("0\n");
  }, 30_000);

  it("each error code has its words and its fix", () => {
    const err = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: raw`), { code, syscall, path });
    expect(describeFileError(err("EACCES", "mkdir", "/srv/out"))).toBe(
      "cannot create the directory /srv/out: permission denied\n  fix: make /srv/out writable by this user (and its directories searchable), or run as a user who may write it",
    );
    expect(describeFileError(err("EROFS", "open", "/usr/out.lock"))).toBe(
      "cannot open /usr/out.lock: read-only file system\n  fix: choose a path on a writable file system",
    );
    expect(describeFileError(err("ENOSPC", "write", "/var/out"))).toBe(
      "cannot write /var/out: no space left on the device\n  fix: free some space on that file system, or choose a path on another",
    );
    expect(describeFileError(err("ELOOP", "open", "/a/b"))).toBe(
      "cannot open /a/b: too many levels of symbolic links\n  fix: check the symbolic links in the path: one points back to itself",
    );
    expect(describeFileError(err("EISDIR", "open", "/etc"), "/etc", { doing: "write", access: "write" })).toBe(
      "cannot write /etc: is a directory\n  fix: move the directory /etc away, or choose another path",
    );
  });
});
