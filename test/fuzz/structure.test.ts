/**
 * The fuzzer's structure extractors, one format each: each sees a real injection (the structure
 * changes) and lets a properly escaped value through (it does not), and the real validators it
 * batches complain about a broken file. Without this, a fuzzer run with "0 structure changes"
 * could mean an extractor that sees nothing.
 */
import { describe, expect, it } from "vitest";
import { systemdQuote } from "../../render/index.js";
import { shSingleQuote, shellQuote } from "../../render/escape/shell.js";
import { dockerfileStructure, dockerShellCommands } from "./structure/dockerfile.js";
import { nftStructure } from "./structure/nftables.js";
import { shellStructure } from "./structure/shell.js";
import { systemdWords, unitStructure } from "./structure/systemd-unit.js";
import { embeddedFiles, terraformExpressions, terraformStructure } from "./structure/terraform.js";
import { jsonStructure, treeStructureOf } from "./structure/tree.js";
import { structureChange, type Structure } from "./structure/types.js";
import { checkRulesets, verifyUnits } from "./structure/validators.js";
import { loadersAgree, parseYamlBatch } from "./structure/yaml.js";
import { PAYLOADS } from "./payloads.js";
import { hasCommand } from "../support/commands.js";

const changed = (a: Structure, b: Structure) => structureChange(a, b);

describe("systemd units: (section, directive) multiset, words, specifiers, variables", () => {
  const unit = (description: string, arg: string) => `[Unit]\nDescription=${description}\n\n[Service]\nExecStart=/usr/local/bin/derper -hostname=${arg}\n`;
  const base = unitStructure(unit("DERP node home-1", "home-1"));

  it("a line break and [Service] in a value add a section and a directive", () => {
    const injected = unitStructure(unit("DERP node home-1\n[Service]\nExecStartPre=/bin/true", "home-1"));
    expect(changed(base, injected)).toEqual(["+ [Service] ExecStartPre words=1", "+ section [Service]"]);
  });

  it("systemd's own line breaks count: \\r and NUL end a line too", () => {
    expect(changed(base, unitStructure(unit("DERP\rUser=root", "home-1")))).toEqual(["+ [Unit] User"]);
    expect(changed(base, unitStructure(unit("DERP\0User=root", "home-1")))).toEqual(["+ [Unit] User"]);
  });

  it("%h adds a specifier, a quote or a space adds an argument, $VAR a substitution", () => {
    expect(changed(base, unitStructure(unit("home %h", "home-1")))).toEqual(["+ [Unit] Description specifiers=1", "- [Unit] Description"]);
    expect(changed(base, unitStructure(unit("x", "home-1 -a=:80")))).toEqual(["+ [Service] ExecStart words=3", "- [Service] ExecStart words=2"]);
    expect(changed(base, unitStructure(unit("x", 'home-1"')))[0]).toBe('+ [Service] ExecStart words: unterminated "');
    expect(changed(base, unitStructure(unit("x", "$HOME")))).toEqual(["+ [Service] ExecStart words=2 variables=1", "- [Service] ExecStart words=2"]);
  });

  it("a value quoted as the kit's systemdQuote does it changes nothing", () => {
    for (const payload of ['home-1 "x" %h $HOME \\ ;', "a'b", "%%"]) {
      expect(changed(base, unitStructure(unit("x", systemdQuote(payload)))), payload).toEqual([]);
    }
  });

  it("splits words as systemd does", () => {
    expect(systemdWords(`a "b c" 'd e' f\\ g`)).toEqual(["a", "b c", "d e", "f g"]);
    expect(systemdWords(`a "b`)).toEqual({ error: 'unterminated "' });
    expect(systemdWords("a\u2028b\u00a0c")).toEqual(["a\u2028b\u00a0c"]); // only space, tab, CR and LF separate words
  });
});

describe("shell: shfmt's syntax tree, literal contents left out", () => {
  const script = (value: string) => `#!/bin/sh\nset -eu\nNODE=${value}\necho "node $NODE" >/dev/null\n`;

  it("a quote that ends the quoting adds a command", async () => {
    const base = await shellStructure(script(shellQuote("home-1")));
    expect(changed(base, await shellStructure(script("'home-1'; id; echo ''")))).toContain("+ {Cmd:Call(cmd:id)}");
    expect(changed(base, await shellStructure(script(`"home-1$(id)"`))).join("\n")).toContain("CmdSubst");
  });

  it("a value quoted as the kit quotes it changes nothing, whichever quoting it needs", async () => {
    const base = await shellStructure(script(shellQuote("home-1")));
    for (const payload of ["home-1'; id; echo '", "$(id)", "`id`", "a\nb", "${x}", "#", "\\"]) {
      expect(changed(base, await shellStructure(script(shellQuote(payload)))), payload).toEqual([]);
      expect(changed(base, await shellStructure(script(shSingleQuote(payload)))), payload).toEqual([]);
    }
  });

  it("positions are not structure: a longer value before an if or a case changes nothing", async () => {
    const block = (value: string) => `X=${value}\nif [ "$X" = y ]; then\n  echo y\nfi\ncase "$X" in\n  a) echo a ;;\n  *) echo b ;;\nesac\n`;
    expect(changed(await shellStructure(block("short")), await shellStructure(block(shellQuote("a much longer value; with a quote '"))))).toEqual([]);
  });

  it("a script that no longer parses is a change", async () => {
    const base = await shellStructure(script("x"));
    expect(changed(base, await shellStructure(script("'x")))[0]).toMatch(/^no longer parses: .*quote/);
  });
});

describe.skipIf(!hasCommand("cloud-init"))("YAML: PyYAML's key paths and types, cloud-init's schema", () => {
  it("a line break and a key in a plain value add a key; escaped, nothing changes", async () => {
    const [base, injected, escaped] = await parseYamlBatch([
      { text: "server_url: https://hs.example.com\n", cloudConfig: false },
      { text: "server_url: https://hs.example.com\nextra: 1\n", cloudConfig: false },
      { text: `server_url: ${JSON.stringify("https://hs.example.com\nextra: 1")}\n`, cloudConfig: false },
    ]);
    const s = (r: typeof base) => ("error" in r! ? r : treeStructureOf(r!.entries));
    expect(changed(s(base), s(injected))).toEqual(['+ ["extra"]: int']);
    expect(changed(s(base), s(escaped))).toEqual([]);
  });

  it("PyYAML breaks lines at U+2028: inside a block literal, the file's indentation breaks", async () => {
    const doc = (name: string) =>
      `#cloud-config\nwrite_files:\n  - path: /etc/headscale/derp.yaml\n    content: |\n      name: ${JSON.stringify(name)}\n      id: 900\n`;
    const [base, injected] = await parseYamlBatch([
      { text: doc("Frankfurt"), cloudConfig: true },
      { text: doc("Frankfurt\u2028x"), cloudConfig: true },
    ]);
    expect(base).toMatchObject({ schemaErrors: [], files: [{ path: "/etc/headscale/derp.yaml", content: 'name: "Frankfurt"\nid: 900\n' }] });
    expect(injected).toMatchObject({ error: expect.stringMatching(/^ScannerError/) });
  });

  it("libyaml reads every payload as cloud-init's pure-Python loader does (the fuzzer uses the faster one)", async () => {
    const texts = PAYLOADS.flatMap((p) => [p.text, `home-1${p.text}x`]).flatMap((v) => [
      `k: ${JSON.stringify(v)}\nz: 1\n`,
      `k: ${v}\nz: 1\n`,
      `${JSON.stringify(v)}: 1\n`,
      `w:\n  - content: |\n      name: ${JSON.stringify(v)}\n      id: 900\n    path: /x\n`,
      `w:\n  - content: |\n      name: ${v}\n      id: 900\n    path: /x\n`,
    ]);
    expect((await loadersAgree(texts)).every(Boolean)).toBe(true);
  });

  it("cloud-init's schema refuses a wrong type, as `cloud-init schema --config-file` does", async () => {
    const [bad] = await parseYamlBatch([{ text: "#cloud-config\nusers:\n  - name: x\n    lock_passwd: maybe\n", cloudConfig: true }]);
    expect(bad).toMatchObject({ schemaErrors: [expect.stringContaining("lock_passwd")] });
  });
});

describe("JSON: key paths and types", () => {
  it("an unescaped quote adds a key; JSON.stringify's escaping changes nothing", () => {
    const base = jsonStructure(`{"name": "home-1", "id": 1}`);
    expect(changed(base, jsonStructure(`{"name": "home-1", "admin": true, "id": 1}`))).toEqual(['+ ["admin"]: bool']);
    expect(changed(base, jsonStructure(`{"name": ${JSON.stringify('home-1", "admin": true, "x": "')}, "id": 1}`))).toEqual([]);
  });
});

describe("nftables: statements and keywords per block", () => {
  const ruleset = (reason: string) =>
    `table inet t {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 22 accept comment "${reason}"\n\t}\n}\n`;

  it("a quote and a line break in a comment add a rule; the text inside a string changes nothing", () => {
    const base = nftStructure(ruleset("SSH"));
    expect(changed(base, nftStructure(ruleset('SSH"\n\t\taccept comment "x')))).toEqual(["+ table inet t > chain input | accept comment S"]);
    expect(changed(base, nftStructure(ruleset("SSH for 192.0.2.0/24, admins only")))).toEqual([]);
  });

  it.skipIf(!hasCommand("nft") || !hasCommand("unshare") || process.getuid?.() !== 0)("nft -c refuses a broken rule and takes a good one", async () => {
    const [good, bad] = await checkRulesets([ruleset("SSH"), ruleset('SSH"\n\t\ttcp dprt 1 accept comment "x')]);
    expect(good).toEqual([]);
    expect(bad![0]).toMatch(/^exit [1-9]/);
  });
});

describe("Dockerfiles: instructions, forms, variables; RUN as shell", () => {
  const dockerfile = (host: string) =>
    `# for host "${host}"\nFROM debian:12\nCOPY a.sh /usr/local/bin/a.sh\nRUN apt-get update \\\n && apt-get install -y lego\nENTRYPOINT ["/bin/sh", "/usr/local/bin/a.sh"]\n`;

  it("a line break in a comment adds an instruction; a $ adds a substitution", () => {
    const base = dockerfileStructure(dockerfile("home"));
    expect(changed(base, dockerfileStructure(dockerfile("home\nRUN id")))).toEqual(["+ RUN shell", "reordered at 0: RUN shell"].slice(0, 1));
    expect(changed(dockerfileStructure("FROM x\nCOPY a /b\n"), dockerfileStructure("FROM x\nCOPY a /b${X}\n"))).toEqual([
      "+ COPY words=2 variables=1",
      "- COPY words=2",
    ]);
    expect(dockerShellCommands(dockerfile("home"))).toEqual(["apt-get update  && apt-get install -y lego"]);
  });

  it("a carriage return does not end a line for BuildKit", () => {
    expect(changed(dockerfileStructure(dockerfile("home")), dockerfileStructure(dockerfile("home\rRUN id")))).toEqual([]);
  });
});

describe("cdk.tf.json: attributes, and Terraform's expressions per string", () => {
  it("counts expressions and directives, not their escapes", () => {
    expect(terraformExpressions("a ${var.x} %{ if x } $${literal} %%{literal}")).toBe(2);
    // Left to right, as HCL scans: "$" then the escape "$${" (what terraformLiteral makes of "$${x}").
    expect(terraformExpressions("$$${x}")).toBe(0);
  });

  it("an unescaped ${ in a value is a new expression; a new key is a new attribute; hash suffixes are ignored", () => {
    const tf = (content: string, extra: Record<string, unknown> = {}) => ({
      resource: { docker_container: { tailnet_x_1A2B3C4D: { name: "x", upload: [{ file: "/in/a.sh", content }], ...extra } } },
    });
    const base = terraformStructure(tf("echo $${HOME}"));
    expect(changed(base, terraformStructure(tf("echo ${HOME}")))).toEqual([
      "+ resource.docker_container.tailnet_x.upload.[0].content: str expressions=1",
      "- resource.docker_container.tailnet_x.upload.[0].content: str",
    ]);
    expect(changed(base, terraformStructure(tf("x", { privileged: true })))).toEqual(["+ resource.docker_container.tailnet_x.privileged: bool"]);
    expect(embeddedFiles(tf("echo $${HOME}"))).toEqual([{ where: "docker_container.tailnet_x.upload[0]", target: "/in/a.sh", content: "echo ${HOME}" }]);
  });
});

describe.skipIf(!hasCommand("systemd-analyze"))("systemd-analyze verify, many units in one call", () => {
  it("reports each unit's own complaints, with paths and line numbers normalized", async () => {
    const [good, bad] = await verifyUnits([
      { name: "a.service", text: "[Unit]\nDescription=a\n[Service]\nExecStart=/bin/true\n" },
      { name: "b.service", text: "[Unit]\nDescription=b\n[Service]\nExecStart=/bin/true\nFooBar=1\n" },
    ]);
    expect(good).toEqual([]);
    expect(bad).toEqual(["b.service:N: Unknown key 'FooBar' in section [Service], ignoring."]);
  });
});
