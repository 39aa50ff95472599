/**
 * constructs/terraform-text.ts: spec text reaches cdk.tf.json so that Terraform reads it back as
 * written (checked with Terraform itself), cdktf never resolves token text that arrived as data,
 * and a whole tailnet built from a model with `${...}` and `%{...}` in every name synthesizes to
 * JSON in which the only interpolations are the kit's own references.
 */
import { createHash } from "node:crypto";
import { TerraformOutput, TerraformVariable } from "cdktf";
import { describe, expect, it } from "vitest";
import { checkModelTokens, contentSha256, holdsTokenText, terraformLiteral, terraformString, terraformValue } from "../../constructs/terraform-text.js";

import { renderDerpYaml } from "../../render/index.js";
import { hasCommand } from "../support/commands.js";
import { hostileStrings } from "../support/hostile-text.js";
import { composeTailnet, hostileModel, renameHost } from "../support/hostile-model.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";
import { synthStack, tempSecretsDir } from "../support/synth.js";
import { terraformOutputs } from "../support/terraform-read-back.js";
import { vmDnsSpec, vmSpec } from "../support/vm-specs.js";
import { prepareTailnet } from "../../secrets/index.js";

/**
 * Interpolations and directives in a Terraform JSON string: a `${` or `%{` not preceded by the same
 * sign (Terraform reads `$${`, `$$${`, ... and `%%{`, ... as literal text with one sign fewer).
 */
function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length - 1; i++) {
    if ((text[i] === "$" || text[i] === "%") && text[i + 1] === "{" && text[i - 1] !== text[i]) found.push(text.slice(i, text.indexOf("}", i) + 1));
  }
  return found;
}

/** Every string and object key in a JSON value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

/** The references the kit itself writes: resources, variables, data sources, a postcondition, file(). */
const KIT_REFERENCE =
  /^\$\{(docker_\w+|cloudflare_\w+|data\.cloudflare_zone|var|terraform_data)\.[\w.-]+\}$|^\$\{self\.exit_code == 0\}$|^\$\{file\("[^"]*"\)\}$/;

describe("terraformString", () => {
  it("(the scan below tells an interpolation from escaped text as Terraform does)", () => {
    expect(interpolations("a ${H} %{ if x }")).toEqual(["${H}", "%{ if x }"]);
    expect(interpolations("a $${H} $$${H} %%{H} %%%{H}")).toEqual([]);
  });

  it("escapes ${ and %{ and refuses cdktf token text, even inside $${", () => {
    expect(terraformString("x ${y} %{z}")).toBe("x $${y} %%{z}");
    expect(terraformString("$${y}")).toBe("$$${y}");
    expect(() => terraformString("Shanghai ${TfToken[TOKEN.29]}")).toThrow(
      'cdktf-tailnet: cannot write "Shanghai ${TfToken[TOKEN.29]}" into Terraform JSON: it holds the text of a cdktf token',
    );
    expect(() => terraformString("$${TfToken[TOKEN.29]}")).toThrow("it holds the text of a cdktf token");
    expect(() => terraformString("#{TfToken[TOKEN.3]}")).toThrow("it holds the text of a cdktf token");
    expect(terraformLiteral("ip ${TfToken[TOKEN.1]} and ${HOME} %{x}")).toBe("ip ${TfToken[TOKEN.1]} and $${HOME} %%{x}");
    expect(terraformValue("ssh://root@${TfToken[TOKEN.1]}")).toBe("ssh://root@${TfToken[TOKEN.1]}");
  });

  it("finds a number token written as text, which cdktf would also resolve", () => {
    const numberToken = String(new TerraformVariable(synthStack(() => {}).stack, "n", { type: "number" }).numberValue);
    expect(holdsTokenText(`port ${numberToken}`)).toBe(true);
    expect(holdsTokenText("1e5, 2.5e+10, sha256 12e345abc")).toBe(false);
  });

  it.skipIf(!hasCommand("terraform"))("Terraform reads every escaped string back as written, as a value and as a map key", () => {
    const texts = [
      ...hostileStrings(300, 91).filter((s) => !holdsTokenText(s)),
      "${",
      "%{",
      "$${",
      "%%{",
      "$",
      "%",
      "${x}",
      "%{ if true }x%{ endif }",
      "${var.secret}",
    ];
    const read = terraformOutputs(texts.map(terraformString), texts.filter((t) => t !== "").map(terraformString));
    expect(read.values).toEqual(texts);
    expect(read.keys).toEqual(texts.filter((t) => t !== ""));
  });
});

describe("checkModelTokens", () => {
  it("refuses token text anywhere but an address: a region name would substitute a sensitive variable into derp.yaml", () => {
    const { stack } = synthStack(() => {});
    const secret = new TerraformVariable(stack, "dns_secret", { type: "string", sensitive: true }).stringValue;
    // Validation refuses it (the grammar); the model here is resolved without, as if it got past.
    const model = resolveUnchecked(minimalSpec(), (s) => (s.derp!.regions![0]!.name = `Shanghai ${secret}`));
    expect(renderDerpYaml(model)).toContain(secret); // the renderer writes it as text; cdktf would resolve it
    expect(() => checkModelTokens(model)).toThrow(
      `cdktf-tailnet: cannot write "Shanghai ${secret}" into the tailnet at derp.regions[0].name: it holds the text of a cdktf token`,
    );
  });

  it("accepts a whole token as an address, and tokens in a Docker daemon URL", () => {
    const spec = minimalSpec();
    spec.hosts = [{ name: "vm", publicIpv4: "${TfToken[TOKEN.1]}", docker: { daemon: "ssh://root@${TfToken[TOKEN.1]}" } }];
    spec.derp!.regions![0]!.nodes[0]!.host = "vm";
    expect(() => checkModelTokens(prepareTailnet(spec))).not.toThrow();
    const mixed = resolveUnchecked(minimalSpec(), (s) => (s.hosts = [{ name: "vm", publicIpv4: "10.0.0.1 ${TfToken[TOKEN.1]}" }]));
    expect(() => checkModelTokens(mixed)).toThrow("into the tailnet at hosts[0].publicIpv4");
  });
});

function resolveUnchecked(spec: ReturnType<typeof minimalSpec>, change: (s: ReturnType<typeof minimalSpec>) => void) {
  return hostileModel(spec, change, tempSecretsDir());
}

describe("a tailnet whose every name holds ${...} and %{...}", () => {
  const MARK = "X${H}Y%{H}Z";
  it.each([
    ["the example (Docker hosts)", exampleSpec],
    ["VMs installed over SSH", vmSpec],
    ["a VM with the DNS helpers", vmDnsSpec],
  ])("%s: the only interpolations in cdk.tf.json are the kit's own references", (_, make) => {
    const dir = tempSecretsDir();
    const model = hostileModel(
      make(),
      (s) => {
        s.name = `t${MARK}`;
        for (const r of s.derp!.regions!) {
          r.name += MARK;
          // A dns-01 node's name is a file name in its image's build context: refused there (escape/dockerfile.ts).
          for (const n of r.nodes)
            if ((n.certificate as { mode?: string } | undefined)?.mode !== "dns-01" || !s.hosts?.find((h) => h.name === n.host)?.docker) n.name += MARK;
        }
        for (const h of [...(s.hosts ?? [])]) renameHost(s, h.name, h.name + MARK);
        for (const h of s.hosts ?? []) if (h.docker) h.docker.daemon += MARK;
      },
      dir,
    );
    const { json } = synthStack((stack) => composeTailnet(stack, model, dir));
    const all = strings(json);
    expect(all.filter((s) => s.includes("H}")).length).toBeGreaterThan(0);
    const found = all.flatMap(interpolations);
    if (make === exampleSpec) expect(found.filter((i) => KIT_REFERENCE.test(i)).length).toBeGreaterThan(20); // the scan sees the kit's own references
    const foreign = all.filter((s) => interpolations(s).some((i) => !KIT_REFERENCE.test(i)));
    expect(foreign).toEqual([]);
  });
});

describe("contentSha256", () => {
  it("is the plain digest of the parts, each followed by the terminator, when they hold no token", () => {
    expect(contentSha256(["a", "b"])).toBe(createHash("sha256").update("a\0b\0").digest("hex"));
    expect(contentSha256(["a"], "")).toBe(createHash("sha256").update("a").digest("hex"));
  });

  it("hashes a token's value in Terraform, not its text, so cdktf's token numbering cannot change it", () => {
    const labelOf = (extraTokens: number) => {
      let value = "";
      const { json } = synthStack((stack) => {
        for (let i = 0; i < extraTokens; i++) new TerraformVariable(stack, `unrelated${i}`, { type: "string" }).stringValue;
        const ip = new TerraformVariable(stack, "ip", { type: "string" });
        value = contentSha256([`address ${ip.stringValue}\n`, "rest"]);
        new TerraformOutput(stack, "label", { value });
      });
      return (json as unknown as { output: Record<string, { value: string }> }).output.label!.value;
    };
    const label = labelOf(0);
    expect(label).toMatch(/^\$\{sha256\(join\("\\n", \["[0-9a-f]{64}", var\.ip\]\)\)\}$/);
    expect(labelOf(7)).toBe(label);
  });
});
