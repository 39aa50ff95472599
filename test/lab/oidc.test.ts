/**
 * The lab's OpenID Connect parts that need no root: the provider's users for a model's allowed
 * lists, the confirmation form a browserless login posts back, and the two lab changes.
 */
import { describe, expect, it } from "vitest";
import { labOidcIssuer, labOidcUsers, mockOidcEnv, parseForm, pointOidcAtLab } from "../../lab/oidc.js";
import { planLab } from "../../lab/plan.js";
import { LAB_OIDC, smallLabSpec } from "../../lab/specs.js";
import type { LabChange } from "../../lab/lab-changes.js";
import { loadTailnet, type ResolvedOidc } from "../../model/index.js";

const oidcOf = (extra: Partial<typeof LAB_OIDC> = {}): ResolvedOidc =>
  loadTailnet({ ...smallLabSpec(), headscale: { ...smallLabSpec().headscale, oidc: { ...LAB_OIDC, ...extra } } }).headscale.oidc!;

describe("the lab's OpenID Connect provider", () => {
  it("logs in a user every allowed list admits, then one none admits", () => {
    const users = labOidcUsers(oidcOf());
    expect(users.first).toEqual({
      Subject: "lab-user",
      Email: "lab-user@example.com",
      EmailVerified: true,
      PreferredUsername: "lab-user",
      Groups: ["tailnet-users"],
    });
    expect(users.outsider).toMatchObject({ Email: "outsider@outside.invalid", Groups: ["lab-outsiders"] });
    expect(users.restrictions).toBe("allowedDomains example.com; allowedGroups tailnet-users");
    expect(labOidcUsers(oidcOf({ allowedUsers: ["ann@corp.example"] })).first.Email).toBe("ann@corp.example");
    // Broken on purpose: the outsider logs in first.
    expect(labOidcUsers(oidcOf(), true).first.Email).toBe("outsider@outside.invalid");
    // Nothing restricted: no one to refuse.
    const open = labOidcUsers(oidcOf({ allowedDomains: [], allowedGroups: [] }));
    expect([open.outsider, open.restrictions]).toEqual([undefined, "no allowed users, domains or groups: everyone may log in"]);
  });

  it("runs headscale mockoidc with the model's client id, the run's secret and its users in order", () => {
    const users = labOidcUsers(oidcOf());
    const env = mockOidcEnv(oidcOf(), "10.77.0.15", "s3cret", users);
    expect(env).toMatchObject({ MOCKOIDC_ADDR: "10.77.0.15", MOCKOIDC_PORT: "5556", MOCKOIDC_CLIENT_ID: "headscale", MOCKOIDC_CLIENT_SECRET: "s3cret" });
    expect((JSON.parse(env.MOCKOIDC_USERS!) as { Email: string }[]).map((u) => u.Email)).toEqual(["lab-user@example.com", "outsider@outside.invalid"]);
    expect(labOidcIssuer("10.77.0.15")).toBe("http://10.77.0.15:5556/oidc");
  });

  it("plans a namespace for the provider and one for the login client, neither joined with a key", () => {
    const plan = planLab(loadTailnet(smallLabSpec({ oidc: true })), 2);
    expect(plan.oidc).toEqual({ provider: "oidc-provider", login: "oidc-login" });
    expect(plan.machines.filter((m) => m.kind.startsWith("oidc-")).map((m) => [m.name, m.kind])).toEqual([
      ["oidc-provider", "oidc-provider"],
      ["oidc-login", "oidc-login"],
    ]);
    expect(planLab(loadTailnet(smallLabSpec()), 2).oidc).toBeUndefined();
  });

  it("changes only the issuer and the client secret's path, and says so", () => {
    const tailnet = loadTailnet(smallLabSpec({ oidc: true }));
    const changes: LabChange[] = [];
    const lab = pointOidcAtLab(tailnet, { issuer: "http://10.77.0.15:5556/oidc", clientSecretFile: "/tmp/run/oidc/client-secret" }, (c) => changes.push(c));
    expect(lab.headscale.oidc).toEqual({ ...tailnet.headscale.oidc, issuer: "http://10.77.0.15:5556/oidc", clientSecretPath: "/tmp/run/oidc/client-secret" });
    expect(changes.map((c) => [c.subject, c.from, c.to])).toEqual([
      ["headscale.oidc.issuer", "https://login.example.com", "http://10.77.0.15:5556/oidc"],
      ["headscale.oidc.clientSecretPath", "/etc/headscale/oidc-client-secret", "/tmp/run/oidc/client-secret"],
    ]);
  });

  it("reads a confirmation form's action and hidden fields, entities decoded", () => {
    const html = `<html><body><form method="POST" action="/register/confirm/abc&amp;x"><input type="hidden" name="headscale_register_confirm" value="t0k&amp;en"><input type="submit" value="Confirm"></form></body></html>`;
    expect(parseForm(html)).toEqual({ action: "/register/confirm/abc&x", fields: { headscale_register_confirm: "t0k&en" } });
    expect(parseForm("<p>no form</p>")).toBeUndefined();
  });
});
