/**
 * Every VM artifact the kit renders, through the real validators:
 * - systemd units, every one the kit renders (the services' `hosts/<host>/systemd/`, and the DNS
 *   helpers' `hosts/<host>/ddns/` and `hosts/<host>/acme/`: services, timers, path units):
 *   `systemd-analyze verify` (in a root holding this machine's unit library, the host's other
 *   units and an executable at every ExecStart path) with no warning at all, and for every service
 *   `systemd-analyze security --offline=true` with an overall exposure of at most 1.5 (upstream's
 *   headscale unit scores 1.7);
 * - nftables rulesets: `nft -c -f` (in a throw-away network namespace);
 * - cloud-init user-data: `cloud-init schema --config-file`;
 * - the install script inside it: `sh -n` and `shellcheck`.
 * Each validator also rejects a broken input, so a pass means something.
 */
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PreparedTailnet } from "../../model/index.js";
import { renderTailnet, renderVmInstallScript } from "../../render/index.js";
import { vmDnsSpec, vmProxySpec, vmSpec } from "../support/vm-specs.js";
import { missingTool, needsRoot, skipReason } from "../support/requirements.js";
import { prepareTailnet } from "../../secrets/index.js";

/**
 * A VM headscale in the middle of an upgrade: its unit backs the database up before starting; the
 * backups are copied to an sftp repository (restic's secrets as credentials, the network allowed).
 */
function vmUpgradeSpec() {
  const spec = vmSpec();
  spec.name = "vm-upgrade";
  spec.headscale.version = "0.29.3";
  spec.headscale.upgradeFrom = "0.28.0";
  spec.headscale.backup = { restic: { repository: "sftp:backup@backup.example.com:/srv/restic/hs" } };
  return spec;
}

/** A VM headscale rolled back: its unit restores the pre-upgrade backup; copies go to a local repository (a mounted disk). */
function vmRollbackSpec() {
  const spec = vmSpec();
  spec.name = "vm-rollback";
  spec.headscale.version = "0.28.0";
  spec.headscale.rollbackFrom = "0.29.3";
  spec.headscale.backup = { interval: "6h", restic: { repository: "/mnt/backup/restic", credentialsFile: "/etc/cdktf-tailnet/restic.env" } };
  return spec;
}

const tailnets: PreparedTailnet[] = [
  prepareTailnet(vmSpec()),
  prepareTailnet(vmProxySpec()),
  prepareTailnet(vmDnsSpec()),
  prepareTailnet(vmUpgradeSpec()),
  prepareTailnet(vmRollbackSpec()),
];
const rendered = tailnets.map((t) => ({ tailnet: t, files: renderTailnet(t) }));
const pick = (re: RegExp) =>
  rendered.flatMap(({ tailnet, files }) => files.filter((f) => re.test(f.path)).map((f) => [`${tailnet.name}/${f.path}`, f, tailnet] as const));
const units = pick(/^hosts\/[^/]+\/(systemd|ddns|acme|backup)\/[^/]+\.(service|timer|path)$/);
const services = units.filter(([label]) => label.endsWith(".service"));
/** The units of the same host as `label` (`<tailnet>/hosts/<host>/...`). */
const hostUnits = (label: string) => units.filter(([other]) => other.split("/").slice(0, 3).join("/") === label.split("/").slice(0, 3).join("/"));
const rulesets = pick(/^hosts\/[^/]+\/nftables\.conf$/);
const userData = pick(/^hosts\/[^/]+\/cloud-init\.yaml$/);

/** Exposure numbers measured, printed at the end for the record. */
const exposures: Record<string, number> = {};

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cdktf-validators-"));
});
afterAll(() => {
  if (Object.keys(exposures).length) console.log(`systemd-analyze security --offline=true exposure: ${JSON.stringify(exposures)}`);
  rmSync(work, { recursive: true, force: true });
});

function write(path: string, content: string): string {
  const full = join(work, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
  return full;
}

async function exposure(unitPath: string): Promise<{ score: number; exitCode: number | undefined; output: string }> {
  const r = await execa("systemd-analyze", ["security", "--offline=true", "--threshold=15", "--no-pager", unitPath], { reject: false, all: true });
  const m = /Overall exposure level for [^:]+: (\d+(?:\.\d+)?)/.exec(r.all ?? "");
  if (!m) throw new Error(`no exposure level in:\n${r.all}`);
  return { score: Number(m[1]), exitCode: r.exitCode, output: r.all ?? "" };
}

describe.skipIf(!!skipReason("validators: systemd units", missingTool("systemd-analyze")))("systemd units: systemd-analyze", () => {
  /**
   * The root verify looks into: this machine's unit library, kill, the units of the host `label`
   * belongs to (a timer's or path unit's service, derper.service that the ACME units restart), and
   * an executable at each of their ExecStart paths. One root serves every unit; tests in a file run
   * one after another, and each writes its host's units before verifying one.
   */
  function verifyRoot(label: string): string {
    const root = join(work, "root");
    if (!existsSync(root)) {
      cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
      mkdirSync(join(root, "usr/bin"), { recursive: true });
      mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
      execFileSync("ln", ["-s", "usr/lib", join(root, "lib")]);
      execFileSync("ln", ["-s", "usr/bin", join(root, "bin")]);
      cpSync("/usr/bin/kill", join(root, "usr/bin/kill"));
    }
    for (const [, unit] of hostUnits(label)) {
      writeFileSync(join(root, "etc/systemd/system", unit.path.split("/").at(-1)!), unit.content);
      for (const [, program] of unit.content.matchAll(/^ExecStart=(\S+)/gm)) {
        mkdirSync(join(root, dirname(program!)), { recursive: true });
        writeFileSync(join(root, program!), "#!/bin/sh\nexit 0\n");
        chmodSync(join(root, program!), 0o755);
      }
    }
    return root;
  }

  it("found every kind of unit: headscale and derper, with and without the bind capability, and the DNS helpers'", () => {
    expect(units.map(([label]) => label)).toEqual([
      "vm-lab/hosts/edge/systemd/derper.service",
      "vm-lab/hosts/fra-1/systemd/derper.service",
      "vm-lab/hosts/fra-2/systemd/derper.service",
      "vm-lab/hosts/home/systemd/derper.service",
      "vm-lab/hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
      "vm-lab/hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
      "vm-lab/hosts/hs/systemd/headscale.service",
      "vm-proxy/hosts/ams/systemd/derper.service",
      "vm-proxy/hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
      "vm-proxy/hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
      "vm-proxy/hosts/hs/systemd/headscale.service",
      "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1-install.service",
      "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1-installed.path",
      "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1-installed.service",
      "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1-restart.service",
      "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1.service",
      "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1.timer",
      "vm-dns/hosts/home/ddns/cdktf-tailnet-ddns.service",
      "vm-dns/hosts/home/ddns/cdktf-tailnet-ddns.timer",
      "vm-dns/hosts/home/systemd/derper.service",
      "vm-dns/hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
      "vm-dns/hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
      "vm-dns/hosts/hs/systemd/headscale.service",
      "vm-upgrade/hosts/edge/systemd/derper.service",
      "vm-upgrade/hosts/fra-1/systemd/derper.service",
      "vm-upgrade/hosts/fra-2/systemd/derper.service",
      "vm-upgrade/hosts/home/systemd/derper.service",
      "vm-upgrade/hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
      "vm-upgrade/hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
      "vm-upgrade/hosts/hs/systemd/headscale.service",
      "vm-rollback/hosts/edge/systemd/derper.service",
      "vm-rollback/hosts/fra-1/systemd/derper.service",
      "vm-rollback/hosts/fra-2/systemd/derper.service",
      "vm-rollback/hosts/home/systemd/derper.service",
      "vm-rollback/hosts/hs/backup/cdktf-tailnet-headscale-backup.service",
      "vm-rollback/hosts/hs/backup/cdktf-tailnet-headscale-backup.timer",
      "vm-rollback/hosts/hs/systemd/headscale.service",
    ]);
    const servers = services.filter(([label]) => label.includes("/systemd/"));
    const kinds = new Set(
      servers.map(
        ([, f]) => `${/ExecStart=\S*\/(\w+)/.exec(f.content)![1]} ${f.content.includes("AmbientCapabilities=CAP_NET_BIND_SERVICE") ? "cap" : "userns"}`,
      ),
    );
    expect([...kinds].sort()).toEqual(["derper cap", "derper userns", "headscale cap", "headscale userns"]);
    // Every unit file the kit renders anywhere is one of these kinds.
    const names = new Set(
      rendered.flatMap(({ files }) =>
        files.filter((f) => /\.(service|timer|path|socket|mount)$/.test(f.path)).map((f) => f.path.replace(/^hosts\/[^/]+\//, "")),
      ),
    );
    expect(new Set(units.map(([, f]) => f.path.replace(/^hosts\/[^/]+\//, "")))).toEqual(names);
  });

  it.each(units)("%s: systemd-analyze verify reports nothing", async (label, unit) => {
    const root = verifyRoot(label);
    const name = unit.path.split("/").at(-1)!;
    const r = await execa("systemd-analyze", ["verify", `--root=${root}`, `/etc/systemd/system/${name}`], { reject: false, all: true });
    expect(r.all, unit.content).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it.each(services)("%s: systemd-analyze security --offline=true exposure is at most 1.5", async (label, unit) => {
    const path = write(`security/${label}`, unit.content);
    const { score, exitCode, output } = await exposure(path);
    exposures[label] = score;
    expect(score, output).toBeLessThanOrEqual(1.5);
    expect(exitCode).toBe(0); // --threshold=15 is 1.5 on systemd's 0-100 scale
  });

  it("the check has teeth: a unit without the sandbox scores far above 1.5, and verify flags a bad key", async () => {
    const [, unit] = units.find(([label]) => label === "vm-lab/hosts/hs/systemd/headscale.service")!;
    const bare = unit.content.replace(/\n# Files:[\s\S]*?\n\[Install\]/, "\n[Install]");
    const { score, exitCode } = await exposure(write("security/bare/headscale.service", bare));
    expect(score).toBeGreaterThan(5);
    expect(exitCode).not.toBe(0);
    const root = verifyRoot("vm-lab/hosts/hs/systemd/headscale.service");
    writeFileSync(join(root, "etc/systemd/system/headscale.service"), unit.content.replace("Restart=always", "Restart=allways"));
    const r = await execa("systemd-analyze", ["verify", `--root=${root}`, "/etc/systemd/system/headscale.service"], { reject: false, all: true });
    expect(r.all).toContain("Failed to parse service restart specifier");
  });

  it("the check has teeth for the ACME client too: as root with the capabilities an install into derper's directory needs (the kit's earlier unit), lego's unit scores 2.0", async () => {
    const [, unit] = services.find(([label]) => label === "vm-dns/hosts/home/acme/cdktf-tailnet-acme-home-1.service")!;
    const asRoot = unit.content
      .replace(/^DynamicUser=yes\n/m, "")
      .replace(/^PrivateUsers=yes\n/m, "")
      .replace(/^CapabilityBoundingSet=$/m, "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE");
    expect(asRoot).not.toBe(unit.content);
    const { score, exitCode } = await exposure(write("security/root/cdktf-tailnet-acme-home-1.service", asRoot));
    expect(score).toBe(2);
    expect(exitCode).not.toBe(0);
  });
});

describe.skipIf(!!skipReason("validators: nftables", needsRoot("nft -c in a namespace"), missingTool("nft", "unshare")))("nftables rulesets: nft -c -f", () => {
  const check = (path: string) => execa("unshare", ["--net", "nft", "-c", "-f", path], { reject: false, all: true });

  it.each(rulesets)("%s parses", async (label, file) => {
    const r = await check(write(`nft/${label}`, file.content));
    expect(r.all, file.content).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it("the check has teeth: a broken rule is refused", async () => {
    const [label, file] = rulesets[0]!;
    const r = await check(write(`nft-bad/${label}`, file.content.replace("tcp dport", "tcp dprt")));
    expect(r.exitCode).not.toBe(0);
  });
});

describe.skipIf(!!skipReason("validators: cloud-init", missingTool("cloud-init")))("cloud-init user-data: cloud-init schema", () => {
  const schema = (path: string) => execa("cloud-init", ["schema", "--config-file", path], { reject: false, all: true });

  it.each(userData)("%s is valid cloud-config", async (label, file) => {
    const r = await schema(write(`cloud-init/${label}`, file.content));
    expect(r.all).toContain("Valid cloud-config");
    expect(r.exitCode).toBe(0);
  });

  it("the check has teeth: a misspelt key is refused", async () => {
    const [label, file] = userData[0]!;
    const r = await schema(write(`cloud-init-bad/${label}`, file.content.replace("lock_passwd: true", 'lock_passwd: "maybe"')));
    expect(r.exitCode).not.toBe(0);
  });
});

describe("the install script cloud-init runs", () => {
  const scripts = tailnets.flatMap((t) => t.hosts.filter((h) => h.vm).map((h) => [`${t.name}/${h.name}`, renderVmInstallScript(t, h)] as const));

  it.each(scripts)("%s: sh -n parses it", async (label, script) => {
    const r = await execa("sh", ["-n", write(`sh/${label}.sh`, script)], { reject: false, all: true });
    expect(r.all).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it.skipIf(!!skipReason("validators: shellcheck", missingTool("shellcheck"))).each(scripts)("%s: shellcheck finds nothing", async (label, script) => {
    const r = await execa("shellcheck", ["--shell=sh", write(`shellcheck/${label}.sh`, script)], { reject: false, all: true });
    expect(r.all, script).toBe("");
    expect(r.exitCode).toBe(0);
  });
});

describe("the upgrade backup and the rollback in headscale's unit", () => {
  const unit = (label: string) => units.find(([l]) => l === label)![1].content;
  it("runs the backup script before headscale starts, only during an upgrade or a rollback, with the backup directory writable", () => {
    const upgrade = unit("vm-upgrade/hosts/hs/systemd/headscale.service");
    expect(upgrade.split("\n").filter((l) => l.startsWith("ExecStartPre="))).toEqual([
      "ExecStartPre=/bin/sh /usr/local/lib/cdktf-tailnet/headscale-backup.sh /etc/cdktf-tailnet/headscale-backup.env pre-upgrade 0.28.0 0.29.3",
    ]);
    expect(upgrade).toContain("StateDirectory=headscale headscale-backup\n");
    const rollback = unit("vm-rollback/hosts/hs/systemd/headscale.service");
    expect(rollback.split("\n").filter((l) => l.startsWith("ExecStartPre="))).toEqual([
      "ExecStartPre=/bin/sh /usr/local/lib/cdktf-tailnet/headscale-backup.sh /etc/cdktf-tailnet/headscale-backup.env rollback 0.29.3 0.28.0",
    ]);
    const plain = unit("vm-lab/hosts/hs/systemd/headscale.service");
    expect(plain).not.toContain("ExecStartPre=");
    expect(plain).toContain("StateDirectory=headscale\n");
  });

  it("backs up as headscale's user, never root: restic's secrets as credentials, the network only for a remote repository", () => {
    const sftp = unit("vm-upgrade/hosts/hs/backup/cdktf-tailnet-headscale-backup.service");
    expect(sftp).toContain("User=headscale\nGroup=headscale\n");
    expect(sftp).toContain(
      "LoadCredential=restic-password:/etc/cdktf-tailnet/restic-password\nLoadCredential=restic-ssh-key:/etc/cdktf-tailnet/restic-ssh-key\nLoadCredential=restic-known-hosts:/etc/cdktf-tailnet/restic-known-hosts\n",
    );
    expect(sftp).toContain("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n");
    expect(sftp).not.toContain("PrivateNetwork=yes");
    const local = unit("vm-rollback/hosts/hs/backup/cdktf-tailnet-headscale-backup.service");
    expect(local).toContain(
      "LoadCredential=restic-password:/etc/cdktf-tailnet/restic-password\nLoadCredential=restic-credentials:/etc/cdktf-tailnet/restic.env\n",
    );
    expect(local).toContain("ReadWritePaths=/mnt/backup/restic\n");
    expect(local).toContain("RequiresMountsFor=/mnt/backup/restic\n");
    expect(local).toContain("PrivateNetwork=yes\n");
    expect(unit("vm-rollback/hosts/hs/backup/cdktf-tailnet-headscale-backup.timer")).toContain("OnUnitActiveSec=21600s\n");
    for (const [label, f] of units.filter(([l]) => l.includes("/backup/") && l.endsWith(".service"))) {
      expect(f.content, label).not.toMatch(/^User=root$/m);
      expect(f.content, label).toMatch(/^CapabilityBoundingSet=$/m);
      expect(f.content, label).toMatch(/^PrivateUsers=yes$/m);
    }
  });
});
