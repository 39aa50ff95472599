import { describe, expect, it } from "vitest";
import { loadTailnet } from "../../model/index.js";
import { renderHeadscaleConfig, renderPolicy } from "../../render/index.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";

describe("policy.json", () => {
  it("renders the example: users spelled name@, the router's route auto-approved for its tag", () => {
    const policy = JSON.parse(renderPolicy(loadTailnet(exampleSpec()))!);
    expect(policy).toEqual({
      groups: { "group:admins": ["alice@"] },
      hosts: { "home-lan": "192.168.100.0/24" },
      tagOwners: { "tag:router": ["group:admins", "home@"] },
      acls: [
        { action: "accept", src: ["group:admins"], dst: ["*:*"] },
        { action: "accept", src: ["home@"], dst: ["home-lan:*", "tag:router:*"] },
      ],
      autoApprovers: { routes: { "192.168.100.0/24": ["tag:router"] } },
    });
  });

  it("lets everyone reach everything when no ACLs are given, and approves untagged devices by their user", () => {
    const spec = minimalSpec();
    spec.devices = [{ name: "exit", user: "bob", exitNode: true, advertiseRoutes: ["10.1.0.0/16"] }];
    spec.policy = {};
    const policy = JSON.parse(renderPolicy(loadTailnet(spec))!);
    expect(policy.acls).toEqual([{ action: "accept", src: ["*"], dst: ["*:*"] }]);
    expect(policy.autoApprovers).toEqual({ routes: { "10.1.0.0/16": ["bob@"] }, exitNode: ["bob@"] });
  });

  it("points headscale at the rendered file, and renders none without a policy", () => {
    // In a container the policy has a volume of its own (reloaded without a restart); elsewhere it sits beside config.yaml.
    expect(renderHeadscaleConfig(loadTailnet(exampleSpec()))).toContain('policy:\n  mode: "file"\n  path: "/etc/headscale/policy/policy.json"\n');
    const plain = minimalSpec();
    plain.policy = {};
    expect(renderHeadscaleConfig(loadTailnet(plain))).toContain('policy:\n  mode: "file"\n  path: "/etc/headscale/policy.json"\n');
    const bare = loadTailnet(minimalSpec());
    expect(renderPolicy(bare)).toBeUndefined();
    expect(renderHeadscaleConfig(bare)).toContain('policy:\n  mode: "file"\n  path: ""\n');
  });

  it("is byte-identical whatever order groups and tags are declared in", () => {
    const a = exampleSpec();
    a.policy!.groups = { "group:b": ["alice"], "group:admins": ["alice"], "group:a": ["home"] };
    const b = exampleSpec();
    b.policy!.groups = { "group:a": ["home"], "group:admins": ["alice"], "group:b": ["alice"] };
    expect(renderPolicy(loadTailnet(a))).toBe(renderPolicy(loadTailnet(b)));
  });
});
