/**
 * Where bootstrap files pre-auth keys, against a headscale CLI that answers like headscale 0.28
 * (in memory; test/integration/bootstrap.test.ts runs the real one): by kind and name, so a
 * device named `user-alice` (another user's, tagged) and the user `alice` never share a key,
 * and a state file of the earlier layout hands nobody a key made for someone else.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { bootstrap } from "../../cli/bootstrap.js";
import { HeadscaleCli } from "../../cli/headscale-cli.js";
import { resolve, type TailnetSpec } from "../../model/index.js";
import { SecretStore } from "../../secrets/index.js";
import { scratchDir } from "../support/scratch.js";
import { minimalSpec } from "../support/specs.js";

/** A headscale CLI in memory: users and keys, with the JSON shapes of 0.28. */
function fakeHeadscale() {
  const users: { id: number; name: string }[] = [];
  const keys: { id: number; key: string; user: { name: string }; acl_tags: string[]; used: boolean; reusable: boolean }[] = [];
  const run = async (args: readonly string[]): Promise<string> => {
    const [noun, verb] = args;
    if (noun === "users" && verb === "list") return JSON.stringify(users);
    if (noun === "users" && verb === "create") {
      const u = { id: users.length + 1, name: args[2]! };
      users.push(u);
      return JSON.stringify(u);
    }
    if (noun === "preauthkeys" && verb === "list") return JSON.stringify(keys);
    if (noun === "preauthkeys" && verb === "create") {
      const user = users.find((u) => String(u.id) === args[args.indexOf("-u") + 1])!;
      const tags = args.includes("--tags") ? args[args.indexOf("--tags") + 1]!.split(",") : [];
      const k = {
        id: keys.length + 1,
        key: `key-${keys.length + 1}-${user.name}-${tags.join("+")}`,
        user: { name: user.name },
        acl_tags: tags,
        used: false,
        reusable: false,
      };
      keys.push(k);
      return JSON.stringify(k);
    }
    throw new Error(`unexpected headscale ${args.join(" ")}`);
  };
  return new HeadscaleCli(run, "0.28.0");
}

/** A tailnet with a device named `user-alice` that belongs to mallory (tagged), and the user alice, who has no device. */
function collidingSpec(): TailnetSpec {
  const spec = minimalSpec();
  spec.users = [{ name: "alice" }, { name: "mallory" }];
  spec.devices = [{ name: "user-alice", user: "mallory", tags: ["tag:router"] }];
  spec.policy = { tagOwners: { "tag:router": ["mallory"] }, acls: [] };
  return spec;
}

describe("bootstrap's key files", () => {
  it("are filed by kind and name: preauth-device/<device>.key and preauth-user/<user>.key", async () => {
    const root = scratchDir("cdktf-tailnet-bootstrap-");
    const store = new SecretStore("tailnet", root);
    const result = await bootstrap(resolve(collidingSpec()), { cli: fakeHeadscale(), store });
    expect(result.devices.map((d) => relative(root, d.keyFile))).toEqual(["tailnet/preauth-device/user-alice.key"]);
    expect(result.userKeys.map((k) => [k.user, relative(root, k.keyFile)])).toEqual([["alice", "tailnet/preauth-user/alice.key"]]);
    expect(readFileSync(result.userKeys[0]!.keyFile, "utf8")).toBe("key-2-alice-\n");
    expect(readFileSync(result.devices[0]!.keyFile, "utf8")).toBe("key-1-mallory-tag:router\n");
    expect(JSON.parse(readFileSync(join(root, "tailnet", "bootstrap.json"), "utf8"))).toEqual({
      version: 2,
      devices: { "user-alice": { id: "1", user: "mallory", file: "preauth-device/user-alice.key" } },
      users: { alice: { id: "2", user: "alice", file: "preauth-user/alice.key" } },
    });
    const again = await bootstrap(resolve(collidingSpec()), { cli: fakeHeadscale(), store, showKeys: true });
    expect(again.devices[0]!.joinCommand).toContain("--auth-key=key-1-mallory-tag:router");
  });

  it("a state file of the earlier layout: alice is not handed the key of the device user-alice, a record of her own is kept", async () => {
    const root = scratchDir("cdktf-tailnet-bootstrap-");
    const dir = join(root, "tailnet");
    mkdirSync(dir, { mode: 0o700 });
    // Before: the device user-alice's key was filed as preauth-user-alice.key under "user-alice", the name alice's key would have.
    writeFileSync(join(dir, "preauth-user-alice.key"), "mallorys-tagged-key\n", { mode: 0o600 });
    writeFileSync(join(dir, "preauth-bob.key"), "bobs-key\n", { mode: 0o600 });
    writeFileSync(
      join(dir, "bootstrap.json"),
      JSON.stringify({
        keys: {
          "user-alice": { id: "7", user: "mallory", file: "preauth-user-alice.key" },
          "user-bob": { id: "8", user: "bob", file: "preauth-bob.key" },
          evil: { id: "9", user: "bob", file: "../../etc/passwd" },
        },
      }),
      { mode: 0o600 },
    );
    const spec = collidingSpec();
    spec.devices = [];
    spec.users!.push({ name: "bob" });
    const result = await bootstrap(resolve(spec), { cli: fakeHeadscale(), store: new SecretStore("tailnet", root) });
    const alice = result.userKeys.find((k) => k.user === "alice")!;
    expect(readFileSync(alice.keyFile, "utf8")).not.toContain("mallory");
    expect(alice.keyStatus).toBe("created");
    const bob = result.userKeys.find((k) => k.user === "bob")!;
    expect([relative(root, bob.keyFile), readFileSync(bob.keyFile, "utf8")]).toEqual(["tailnet/preauth-bob.key", "bobs-key\n"]);
  });
});
