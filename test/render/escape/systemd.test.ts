/**
 * escape/systemd.ts, checked against systemd itself: every value written by unitValue reads back
 * (Description=) as itself, every command-line word written by execWord reaches the program as
 * itself, unit names are what systemd-escape makes of them, and what cannot be said is refused.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UnwritableValueError } from "../../../render/escape/refuse.js";
import { execCommand, execWord, unitDirectories, unitName, unitPath, unitValue } from "../../../render/escape/systemd.js";
import { hasCommand } from "../../support/commands.js";
import { hostileStrings } from "../../support/hostile-text.js";
import { loadUnits } from "../../support/read-back.js";

const values = [...hostileStrings(300, 21), "50%", "%n", "%%", "$HOME", "${X}", "a;b", ";", "-x", "+/bin/sh", "ends in \\", "ends in \\\\"];
const unit = (lines: string) => `[Unit]\n${lines}\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n`;

describe("unitValue", () => {
  it("doubles % and refuses line ends, control characters and a trailing backslash", () => {
    expect(unitValue("derper (Tailscale 1.102.5), 100% ours")).toBe("derper (Tailscale 1.102.5), 100%% ours");
    expect(() => unitValue("x\nExecStartPre=+/bin/sh -c id")).toThrow(
      'cdktf-tailnet: cannot write "x\\nExecStartPre=+/bin/sh -c id" into a systemd unit value: it holds a line break (\\n)',
    );
    expect(() => unitValue("x\rExecStartPre=+/bin/sh")).toThrow("it holds a carriage return (\\r)");
    expect(() => unitValue("a\0")).toThrow("it holds a NUL character");
    expect(() => unitValue("ends in \\")).toThrow("a trailing backslash would join the next line to it");
    expect(unitValue("ends in \\\\")).toBe("ends in \\\\");
    expect(() => unitPath("relative/path")).toThrow("it is not an absolute path");
    expect(() => unitPath("-/etc/x")).toThrow("it is not an absolute path");
  });

  it.skipIf(!hasCommand("systemd-analyze"))("every value it writes, systemd reads back as written (Description=)", () => {
    const written = values.flatMap((v) => {
      try {
        return [[v, unitValue(v)] as const];
      } catch (e) {
        expect(e).toBeInstanceOf(UnwritableValueError);
        expect(v).toMatch(/[\x00-\x08\x0a-\x1f\x7f]|\\$/);
        return [];
      }
    });
    expect(written.length).toBeGreaterThan(100);
    const units = Object.fromEntries(written.map(([, w], i) => [`v${i}.service`, unit(`Description=<${w}>`)]));
    const loaded = loadUnits(units);
    written.forEach(([v], i) => {
      expect(loaded.units.get(`v${i}.service`)?.description, JSON.stringify(v)).toBe(`<${v}>`);
    });
  });

  it.skipIf(!hasCommand("systemd-analyze"))("every absolute path it writes, systemd reads back as written (ConditionPathExists=, WorkingDirectory=)", () => {
    const paths = values.filter((v) => !/[\x00-\x08\x0a-\x1f\x7f]|\\$/.test(v) && v.trim() === v).map((v) => `/x/${v}`);
    const units = Object.fromEntries(
      paths.map((p, i) => [`p${i}.service`, unit(`Description=x\nConditionPathExists=${unitPath(p)}\n[Service]\nWorkingDirectory=${unitPath(p)}`)]),
    );
    const loaded = loadUnits(units);
    paths.forEach((p, i) => {
      const dump = loaded.units.get(`p${i}.service`)?.dump ?? "";
      expect(dump, JSON.stringify(p)).toContain(`\t\tConditionPathExists: ${p} untested\n`);
      expect(dump, JSON.stringify(p)).toContain(`\t\tWorkingDirectory: ${p}\n`);
    });
  });

  it.skipIf(!hasCommand("systemd-analyze"))("the check has teeth: a raw line break adds a directive; escaped it cannot", () => {
    const hostile = "relay\n[Service]\nExecStartPre=+/bin/sh -c id";
    const raw = loadUnits({ "raw.service": `[Unit]\nDescription=${hostile}\n[Service]\nType=oneshot\nExecStart=/bin/true\n` });
    expect(raw.units.get("raw.service")!.commands).toEqual([["/bin/sh", "-c", "id"], ["/bin/true"]]);
    expect(() => unitValue(hostile)).toThrow(UnwritableValueError);
  });
});

describe("execWord / execCommand", () => {
  it("quotes only what needs it, as before", () => {
    expect(execCommand(["/usr/local/bin/derper", "-hostname=derp.example.com", "-a", ":443"])).toBe("/usr/local/bin/derper -hostname=derp.example.com -a :443");
    expect(execWord("a b")).toBe('"a b"');
    expect(execWord("100%")).toBe("100%%");
    expect(execWord("$HOME")).toBe("$$HOME");
    expect(execWord("")).toBe('""');
    expect(execWord("line\nbreak\x01")).toBe('"line\\nbreak\\x01"');
    expect(() => execCommand(["+/bin/sh", "-c", "id"])).toThrow(
      'cdktf-tailnet: cannot write "+/bin/sh" into a systemd command line: the program must be an absolute path (systemd reads a leading + - @ ! : | as a prefix, quoted or not)',
    );
    expect(() => execWord("a\0")).toThrow("a command-line argument cannot hold a NUL byte");
  });

  it.skipIf(!hasCommand("systemd-analyze"))("every word reaches the program as itself", () => {
    const chunks: string[][] = [];
    for (let i = 0; i < values.length; i += 40) chunks.push(values.slice(i, i + 40));
    const units = Object.fromEntries(
      chunks.map((words, i) => [`c${i}.service`, `[Unit]\nDescription=x\n[Service]\nType=oneshot\nExecStart=${execCommand(["/bin/echo", ...words])}\n`]),
    );
    const loaded = loadUnits(units);
    expect(loaded.stderr).toBe("");
    chunks.forEach((words, i) => {
      expect(loaded.units.get(`c${i}.service`)?.commands).toEqual([["/bin/echo", ...words]]);
    });
  });

  it.skipIf(!hasCommand("systemd-analyze"))("why the program must be an absolute path: systemd takes + as a prefix even inside quotes", () => {
    const loaded = loadUnits({ "p.service": `[Unit]\nDescription=x\n[Service]\nType=oneshot\nExecStart="+/bin/true"\n` });
    expect(loaded.units.get("p.service")?.commands).toEqual([["/bin/true"]]);
    expect(() => execCommand(["+/bin/true"])).toThrow(UnwritableValueError);
  });
});

describe("unitName", () => {
  it("keeps valid names and escapes every other byte as \\xNN", () => {
    expect(unitName("cdktf-tailnet-acme-home-1.service")).toBe("cdktf-tailnet-acme-home-1.service");
    expect(unitName("cdktf-tailnet-acme-home-1;id>PWN;true.timer")).toBe("cdktf-tailnet-acme-home-1\\x3bid\\x3ePWN\\x3btrue.timer");
    expect(unitName("a\\x3bb")).toBe("a\\x5cx3bb"); // a backslash too, so two names never meet
    expect(unitName("a@b.service")).toBe("a\\x40b.service");
    expect(() => unitName("")).toThrow("a unit name has 1 to 255 characters");
    expect(() => unitName(`${"x".repeat(250)} .service`)).toThrow("a unit name has 1 to 255 characters");
  });

  it.skipIf(!hasCommand("systemd-escape"))("escapes as systemd-escape does (which also escapes - and turns / into -)", () => {
    const names = hostileStrings(200, 31, 6, /[-/]|^\./).filter((s) => !s.startsWith("."));
    const escaped = execFileSync("systemd-escape", ["--", ...names], { encoding: "utf8" })
      .trimEnd()
      .split(" ");
    expect(names.map(unitName)).toEqual(escaped);
  });

  it.skipIf(!hasCommand("systemd-analyze"))("systemd loads a unit by its escaped name, and resolves references to it", () => {
    const target = unitName("acme-home;id.service");
    const loaded = loadUnits({
      [target]: unit("Description=target"),
      "ref.service": unit(`Description=ref\nOnSuccess=${target}\nAfter=${target}`),
    });
    expect(loaded.stderr).toBe("");
    expect(loaded.units.get(target)?.description).toBe("target");
    expect(loaded.units.get("ref.service")?.dump).toContain(`OnSuccess: ${target}`);
  });
});

describe("unitDirectories", () => {
  it("writes plain relative paths and refuses the rest", () => {
    expect(unitDirectories(["cdktf-tailnet/acme/home-1", "derper"])).toBe("cdktf-tailnet/acme/home-1 derper");
    expect(() => unitDirectories(["cdktf-tailnet/acme/a b"])).toThrow("it holds the character U+0020 ( )");
    expect(() => unitDirectories(["cdktf-tailnet/acme/a:b"])).toThrow("it holds the character U+003A (:)");
    expect(() => unitDirectories(["cdktf-tailnet/acme/../../etc"])).toThrow("each entry is a relative path of plain segments");
    expect(() => unitDirectories(["/var/lib/x"])).toThrow("each entry is a relative path of plain segments");
  });
});
