import { describe, expect, it } from "vitest";
import { validate } from "../../model/index.js";
import { renderHeadscaleConfig, renderPolicy, renderTailnet } from "../../render/index.js";
import { DERIVED_POLICY_COMMENT } from "../../render/policy.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";
import { prepareTailnet } from "../../secrets/index.js";

/** A policy file with its leading `//` comment lines (HuJSON, as headscale reads it) as JSON. */
const parseHujson = (text: string): unknown => JSON.parse(text.replace(/^\/\/.*\n/gm, ""));

describe("policy.json", () => {
  it("renders the example: users spelled name@, the router's route and exit node auto-approved for its tag", () => {
    const policy = JSON.parse(renderPolicy(prepareTailnet(exampleSpec()))!);
    expect(policy).toEqual({
      groups: { "group:admins": ["alice@"] },
      hosts: { "home-lan": "192.168.100.0/24" },
      tagOwners: { "tag:router": ["group:admins", "home@"] },
      acls: [
        { action: "accept", src: ["group:admins"], dst: ["*:*"] },
        { action: "accept", src: ["home@"], dst: ["home-lan:*", "tag:router:*"] },
      ],
      autoApprovers: { routes: { "192.168.100.0/24": ["tag:router"] }, exitNode: ["tag:router"] },
    });
  });

  it("lets everyone reach everything when no ACLs are given, and approves untagged devices by their user", () => {
    const spec = minimalSpec();
    spec.devices = [{ name: "exit", user: "bob", exitNode: true, advertiseRoutes: ["10.1.0.0/16"] }];
    spec.policy = {};
    const policy = JSON.parse(renderPolicy(prepareTailnet(spec))!);
    expect(policy.acls).toEqual([{ action: "accept", src: ["*"], dst: ["*:*"] }]);
    expect(policy.autoApprovers).toEqual({ routes: { "10.1.0.0/16": ["bob@"] }, exitNode: ["bob@"] });
  });

  it("points headscale at the rendered file, and renders none without a policy", () => {
    // In a container the policy has a volume of its own (reloaded without a restart); elsewhere it sits beside config.yaml.
    expect(renderHeadscaleConfig(prepareTailnet(exampleSpec()))).toContain('policy:\n  mode: "file"\n  path: "/etc/headscale/policy/policy.json"\n');
    const plain = minimalSpec();
    plain.policy = {};
    expect(renderHeadscaleConfig(prepareTailnet(plain))).toContain('policy:\n  mode: "file"\n  path: "/etc/headscale/policy.json"\n');
    const bare = prepareTailnet(minimalSpec());
    expect(renderPolicy(bare)).toBeUndefined();
    expect(renderHeadscaleConfig(bare)).toContain('policy:\n  mode: "file"\n  path: ""\n');
  });

  it("is byte-identical whatever order groups and tags are declared in", () => {
    const a = exampleSpec();
    a.policy!.groups = { "group:b": ["alice"], "group:admins": ["alice"], "group:a": ["home"] };
    const b = exampleSpec();
    b.policy!.groups = { "group:a": ["home"], "group:admins": ["alice"], "group:b": ["alice"] };
    expect(renderPolicy(prepareTailnet(a))).toBe(renderPolicy(prepareTailnet(b)));
  });

  describe("without a policy in the spec", () => {
    /** The how-to's shape: a router advertising a LAN, an exit node, no policy written. */
    const howTo = () => {
      const spec = minimalSpec();
      spec.devices = [
        { name: "router", user: "home", advertiseRoutes: ["192.168.100.0/24"], tags: ["tag:router"] },
        { name: "exit", exitNode: true },
      ];
      return spec;
    };

    it("derives one that keeps headscale's allow-all and auto-approves the advertised routes and exit nodes, saying so on its first lines", () => {
      const tailnet = prepareTailnet(howTo());
      expect(tailnet.policy?.origin).toBe("derived");
      const text = renderPolicy(tailnet)!;
      expect(text.startsWith(`${DERIVED_POLICY_COMMENT}\n{`)).toBe(true);
      expect(text).toMatch(/^\/\/ Rendered by cdktf-tailnet: the spec has no policy, but devices advertise routes or exit nodes\.$/m);
      expect(parseHujson(text)).toEqual({
        tagOwners: { "tag:router": ["home@"] },
        acls: [{ action: "accept", src: ["*"], dst: ["*:*"] }],
        autoApprovers: { routes: { "192.168.100.0/24": ["tag:router"] }, exitNode: ["tailnet@"] },
      });
      expect(renderTailnet(tailnet).some((f) => f.path === "headscale/policy.json")).toBe(true);
      expect(renderHeadscaleConfig(tailnet)).toContain('policy:\n  mode: "file"\n  path: "/etc/headscale/policy.json"\n');
      expect(tailnet.warnings.filter((w) => w.path === "policy")).toEqual([]);
    });

    it("derives none when no device advertises anything, and the spec's own policy is never marked derived", () => {
      const spec = minimalSpec();
      spec.devices = [{ name: "laptop", user: "alice" }];
      expect(prepareTailnet(spec).policy).toBeUndefined();
      expect(prepareTailnet(exampleSpec()).policy?.origin).toBe("spec");
      expect(renderPolicy(prepareTailnet(exampleSpec()))!.startsWith("{")).toBe(true);
    });

    it("derives none beside a policy of the user's own (a file, or headscale's database), and warns that the routes wait for approval", () => {
      const own = howTo();
      own.headscale.policy = { path: "/etc/headscale/acl.hujson" };
      const db = howTo();
      db.headscale.policy = { mode: "database" };
      for (const [spec, where] of [
        [own, "your policy file /etc/headscale/acl.hujson"],
        [db, 'the policy in headscale\'s database (headscale.policy.mode "database")'],
      ] as const) {
        const tailnet = prepareTailnet(spec);
        expect(tailnet.policy).toBeUndefined();
        expect(renderPolicy(tailnet)).toBeUndefined();
        const warnings = validate(spec).warnings.filter((w) => w.path === "policy");
        expect(warnings.map((w) => [w.message, w.fix])).toEqual([
          [
            `192.168.100.0/24 of router, exit node exit wait for \`headscale nodes approve-routes\` unless ${where} auto-approves them: the kit renders no policy beside yours`,
            `add them to the autoApprovers of ${where}, or give the spec a policy (the kit then renders it with those autoApprovers derived from the devices)`,
          ],
        ]);
        expect(tailnet.warnings.filter((w) => w.path === "policy")).toEqual(warnings.map((w) => ({ ...w, subject: { kind: "tailnet" } })));
      }
    });
  });

  describe("a non-standard node prefix (headscale 0.29 reads * as Tailscale's ranges only)", () => {
    const tenOne = () => {
      const spec = minimalSpec();
      spec.headscale.version = "0.29.3";
      spec.headscale.prefixes = { v4: "10.1.0.0/16", allowNonStandard: true };
      spec.devices = [{ name: "router", user: "home", advertiseRoutes: ["192.168.100.0/24"] }];
      return spec;
    };

    it("the kit's allow-all names the prefix beside *, so every node still reaches every other", () => {
      expect(prepareTailnet(tenOne()).policy!.acls).toEqual([{ action: "accept", src: ["*", "10.1.0.0/16"], dst: ["*:*", "10.1.0.0/16:*"] }]);
      const standard = tenOne();
      delete standard.headscale.prefixes;
      expect(prepareTailnet(standard).policy!.acls).toEqual([{ action: "accept", src: ["*"], dst: ["*:*"] }]);
    });

    it("warns about the spec's own * rules on 0.29, not on 0.28 (where * is every address)", () => {
      const spec = tenOne();
      spec.policy = {
        acls: [
          { src: ["*"], dst: ["*:*"] },
          { src: ["home"], dst: ["home:22"] },
          { src: ["*", "10.1.0.0/16"], dst: ["*:*", "10.1.0.0/16:*"] },
        ],
      };
      expect(
        validate(spec)
          .warnings.filter((w) => w.path.startsWith("policy.acls"))
          .map((w) => [w.path, w.message, w.fix]),
      ).toEqual([
        [
          "policy.acls[0]",
          `headscale 0.29.3 reads "*" as 100.64.0.0/10, fd7a:115c:a1e0::/48 and the approved routes, which do not hold this tailnet's nodes (10.1.0.0/16): the rule leaves them out`,
          `name 10.1.0.0/16 beside "*" (in dst as "10.1.0.0/16:<ports>"), or use the standard prefixes`,
        ],
      ]);
      spec.headscale.version = "0.28.0";
      expect(validate(spec).warnings.filter((w) => w.path.startsWith("policy.acls"))).toEqual([]);
    });
  });
});
