/**
 * The structural check's handling of hostile input: keys objects already have, map keys outside
 * their grammar, values echoed bounded and never when they may be secrets, Terraform tokens only
 * in TypeScript specs, and semantic follow-ups of a refused value left out.
 */
import { describe, expect, it } from "vitest";
import { parseSpecYaml } from "../../cli/load-spec.js";
import { echo, looksSecret } from "../../model/echo.js";
import { validate } from "../../model/index.js";
import { isSpecFromText, markSpecFromText } from "../../model/tokens.js";
import { minimalSpec } from "../support/specs.js";
import { stringify } from "yaml";

function problems(spec: unknown): [string, string][] {
  return validate(spec).issues.map((i) => [i.path, i.message]);
}

describe("keys", () => {
  it("refuses constructor, toString and __proto__ like any unknown key", () => {
    const spec: any = minimalSpec();
    spec.headscale.constructor = "x";
    spec.derp.regions[0].toString = "x";
    Object.defineProperty(spec.derp, "__proto__", { value: { regions: [] }, enumerable: true });
    expect(problems(spec)).toEqual([
      ["headscale.constructor", expect.stringMatching(/^unknown key "constructor" \(allowed here: version, /)],
      ["derp.regions[0].toString", 'unknown key "toString" (allowed here: id, code, name, noMeasureNoHome, nodes)'],
      ["derp.__proto__", 'unknown key "__proto__" (allowed here: tailscaleRegions, regions, derper)'],
    ]);
  });

  it("refuses them from YAML too, where __proto__ is an ordinary key", () => {
    const spec = parseSpecYaml(`${stringify(minimalSpec())}constructor: 1\n__proto__: { headscale: 1 }\n`, "t.yaml");
    expect(problems(spec).map(([p]) => p)).toEqual(["constructor", "__proto__"]);
  });

  it("refuses map keys that objects already have, and keys outside the map's key grammar", () => {
    const spec: any = minimalSpec();
    spec.users = [{ name: "alice" }];
    spec.policy = JSON.parse(
      '{"groups": {"group:admins": ["alice"], "__proto__": ["alice"], "constructor": ["alice"]}, "hosts": {"toString": "192.0.2.1", "home-lan": "192.168.100.0/24", "Bad Name": "192.0.2.2"}, "tagOwners": {"tag:ok\\n": ["alice"]}}',
    );
    spec.headscale.oidc = {
      issuer: "https://login.example.com",
      clientId: "hs",
      clientSecretPath: "/etc/headscale/oidc",
      extraParams: { valueOf: "x", domain_hint: "example.com" },
    };
    expect(problems(spec)).toEqual([
      ["headscale.oidc.extraParams.valueOf", '"valueOf" cannot be a key here: every JavaScript object already has a property of that name'],
      ["policy.groups.__proto__", '"__proto__" cannot be a key here: every JavaScript object already has a property of that name'],
      ["policy.groups.constructor", '"constructor" cannot be a key here: every JavaScript object already has a property of that name'],
      ["policy.hosts.toString", '"toString" cannot be a key here: every JavaScript object already has a property of that name'],
      ['policy.hosts["Bad Name"]', '"Bad Name" is not an identifier'],
      ['policy.tagOwners["tag:ok\\n"]', '"tag:ok\\n" contains a line break (U+000A), which a tag never holds'],
    ]);
  });

  it("bounds a long key in the path and the message", () => {
    const spec: any = minimalSpec();
    spec.headscale["k".repeat(5000)] = 1;
    const [[path, message]] = problems(spec) as [[string, string]];
    expect(path).toBe(`headscale["${"k".repeat(40)}…"]`);
    expect(message).toMatch(new RegExp(`^unknown key "${"k".repeat(40)}…" \\(allowed here`));
  });
});

describe("echoed values", () => {
  it("cuts long values, escapes line breaks and controls, and shows objects only by kind", () => {
    expect(echo("x".repeat(41))).toBe(`"${"x".repeat(40)}…"`);
    expect(echo("a\u2028b\u0085c\u202ed")).toBe('"a\\u2028b\\u0085c\\u202ed"');
    expect(echo({ secret: "hunter2" })).toBe("an object");
    expect(echo(["hunter2"])).toBe("an array");
    expect(echo(5)).toBe("5");
  });

  it("never shows a value under a secret's name, or one that looks like a credential", () => {
    expect(echo("hunter2", "password")).toBe("a 7-character value (not shown: it may be a secret)");
    expect(echo("/etc/headscale/secret", "clientSecretPath")).toBe('"/etc/headscale/secret"');
    const token = "Xk9_t2Lq8vR4mZ7wP1sN6bY3cD5fG0hJ-aE8uI2o";
    expect(looksSecret(token)).toBe(true);
    expect(echo(token, "tokenFile")).toBe("a 40-character value (not shown: it may be a secret)");
    expect(looksSecret("derp-home.example.com")).toBe(false);
    expect(looksSecret("-----BEGIN PRIVATE KEY-----")).toBe(true);
  });

  it("type errors show the kind of a structure and at most 40 characters of a value, never a secret", () => {
    const spec: any = minimalSpec();
    const token = "Xk9_t2Lq8vR4mZ7wP1sN6bY3cD5fG0hJ-aE8uI2o";
    spec.headscale.serverUrl = { token };
    spec.derp.regions[0].id = "9".repeat(100);
    spec.hosts = [{ name: "a", ddns: { provider: { type: "cloudflare", tokenFile: token }, interval: 5 } }];
    const issues = problems(spec);
    expect(issues).toEqual([
      ["headscale.serverUrl", "must be string, not object"],
      ["derp.regions[0].id", `must be number, not string "${"9".repeat(40)}…"`],
      ["hosts[0].ddns.provider.tokenFile", "a 40-character value (not shown: it may be a secret) is not an absolute path"],
      ["hosts[0].ddns.interval", "must be string, not integer 5"],
    ]);
    expect(JSON.stringify(validate(spec).issues)).not.toContain(token);
  });
});

describe("Terraform tokens", () => {
  const withTokens = () => {
    const spec: any = minimalSpec();
    spec.hosts = [{ name: "vm", publicIpv4: "${TfToken[TOKEN.29]}", docker: { daemon: "ssh://root@${TfToken[TOKEN.29]}" } }];
    spec.derp.regions[0].nodes[0].host = "vm";
    return spec;
  };

  it("are accepted where a field allows them in a spec built in TypeScript", () => {
    expect(problems(withTokens())).toEqual([]);
  });

  it("are refused in a spec read from YAML, where they would name whatever cdktf numbered so", () => {
    const spec = parseSpecYaml(stringify(withTokens()), "tailnet.yaml");
    expect(isSpecFromText(spec)).toBe(true);
    expect(problems(spec)).toEqual([
      ["hosts[0].publicIpv4", '"${TfToken[TOKEN.29]}" holds a Terraform token, which only a spec written in TypeScript with cdktf can hold'],
      ["hosts[0].docker.daemon", '"ssh://root@${TfToken[TOKEN.29]}" holds a Terraform token, which only a spec written in TypeScript with cdktf can hold'],
    ]);
  });

  it("the mark survives a copy of the spec's top level", () => {
    const spec = markSpecFromText(withTokens());
    expect(problems({ ...spec, name: "copy" })).toHaveLength(2);
  });
});

describe("follow-ups of a refused value", () => {
  it("are left out: an invalid baseDomain is not also missing", () => {
    const spec: any = minimalSpec();
    spec.headscale.dns.baseDomain = "tail example";
    expect(problems(spec)).toEqual([["headscale.dns.baseDomain", '"tail example" is not a DNS name']]);
  });

  it("other problems are still all reported", () => {
    const spec: any = minimalSpec();
    spec.headscale.dns.baseDomain = "tail example";
    spec.derp.regions[0].id = 5;
    expect(problems(spec).map(([p]) => p)).toEqual(["headscale.dns.baseDomain", "derp.regions[0].id"]);
  });
});
