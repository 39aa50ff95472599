/**
 * The lab's plan and its one change step, without starting anything (no root needed):
 * - every host that runs something, every device and each client get a machine with a lab
 *   address; a multi-node region gets two mesh clients, each cut off from the other node;
 * - applyLabChanges changes only what a lab must (addresses, certificates, file paths) and runs
 *   the normal pipeline on the result: the kit issues and pins the IP-only node's certificate for
 *   its lab address, and every derper runs the rendered flags with only the three paths moved;
 * - the `lab` command refuses bad arguments before starting anything.
 */
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { createLabCa, issueLabCertificate } from "../../lab/certs.js";
import { applyLabChanges, labHostsFile, labServerHost, labVariant, type LabChangeInputs, type LabTailnet } from "../../lab/lab-changes.js";
import { machineOfNode, planLab, usersAllowed } from "../../lab/plan.js";
import { howToLabSpec, smallLabSpec } from "../../lab/specs.js";
import { allNodes, nodeNamed, resolve, validate, type ResolvedTailnet, type TailnetSpec } from "../../model/index.js";
import { derperArgs } from "../../render/command-lines.js";
import { certificatePin } from "../../secrets/index.js";
import { exampleSpec } from "../support/specs.js";

const dir = mkdtempSync(join(tmpdir(), "lab-changes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function resolved(spec: TailnetSpec): ResolvedTailnet {
  const v = validate(spec);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return resolve(v.spec);
}

describe("planLab", () => {
  it("gives every busy host, device and client a machine, and a multi-node region two mesh clients", () => {
    const plan = planLab(resolved(exampleSpec()), 2);
    expect(plan.machines.map((m) => `${m.name} ${m.address}`)).toEqual([
      "cloud 10.77.0.10",
      "hk-1 10.77.0.11",
      "hk-2 10.77.0.12",
      "sh-1 10.77.0.13",
      "home 10.77.0.14",
      "edge 10.77.0.15",
      "home-router 10.77.0.16",
      "client-1 10.77.0.17",
      "client-2 10.77.0.18",
      "mesh-hkg-1 10.77.0.19",
      "mesh-hkg-2 10.77.0.20",
    ]);
    expect(plan.machines.find((m) => m.name === "cloud")!.headscale).toBe(true);
    expect(machineOfNode(plan, "edge-1").name).toBe("edge");
    expect(plan.machines.filter((m) => m.mesh).map((m) => [m.name, m.mesh!.node, m.mesh!.blocked])).toEqual([
      ["mesh-hkg-1", "hkg-1", ["hkg-2"]],
      ["mesh-hkg-2", "hkg-2", ["hkg-1"]],
    ]);
  });

  it("numbers machines from .10 of another IPv4 /24, and refuses a subnet that is not one", () => {
    expect(planLab(resolved(exampleSpec()), 1, "10.78.1.0/24").machines[0]!.address).toBe("10.78.1.10");
    for (const bad of ["10.78.1.5/24", "10.78.0.0/16", "2001:db8::/64", "010.78.1.0/24"])
      expect(() => planLab(resolved(exampleSpec()), 1, bad), bad).toThrow(`lab subnet must be an IPv4 /24, got ${bad}`);
  });

  it("gives no mesh clients to a region whose nodes share a host", () => {
    const spec = exampleSpec();
    spec.derp!.regions![0]!.nodes[1]!.host = spec.derp!.regions![0]!.nodes[0]!.host;
    spec.derp!.regions![0]!.nodes[1]!.derpPort = 8443;
    spec.derp!.regions![0]!.nodes[1]!.stunPort = 3479;
    const v = validate(spec);
    expect(v.ok).toBe(true);
    if (v.ok) expect(planLab(resolve(v.spec), 2).machines.some((m) => m.mesh)).toBe(false);
  });
});

describe("planLab: the LAN behind a subnet router, and the user the clients join as", () => {
  it("puts the example's 192.168.100.0/24 behind home-router, and joins the clients as alice, whom the policy lets reach it", () => {
    const plan = planLab(resolved(exampleSpec()), 2);
    expect(plan.lans).toEqual([
      {
        name: "home-router-lan",
        router: "home-router",
        route: "192.168.100.0/24",
        routerAddress: "192.168.100.1",
        listenerAddress: "192.168.100.2",
        prefixLength: 24,
        allowedUsers: ["alice", "home"],
      },
    ]);
    expect(plan.routeClient).toBe("client-1");
    // The router is the example's exit node too: an upstream behind it, and the first client tries it.
    expect(plan.upstreams).toEqual([
      {
        name: "home-router-up",
        exitNode: "home-router",
        exitAddress: "203.0.113.1",
        gatewayAddress: "203.0.113.2",
        listenerAddress: "198.51.100.80",
        prefixLength: 24,
      },
    ]);
    expect(plan.exitClient).toBe("client-1");
    // home-lab (the lab's own user) is in no rule of the example's policy: its nodes would not even see each other.
    expect(plan.clientUser).toEqual({
      name: "alice",
      why: "the policy lets alice's nodes reach each other and the advertised routes, not those of home-lab (the lab's own user)",
    });
    expect(plan.machines.filter((m) => m.kind === "client").map((m) => [m.name, m.user])).toEqual([
      ["client-1", "alice"],
      ["client-2", "alice"],
      ["mesh-hkg-1", "alice"],
      ["mesh-hkg-2", "alice"],
    ]);
  });

  it("keeps the lab's own user without a policy (headscale allows all), and reads groups, hosts and autogroup:member", () => {
    const small = resolved(smallLabSpec({ router: true }));
    expect(planLab(small, 2).clientUser).toEqual({ name: "lab-small", why: undefined });
    const spec = smallLabSpec({ router: true });
    spec.policy = {
      ...spec.policy,
      groups: { "group:ops": ["ops"] },
      hosts: { lan: "192.168.100.0/24" },
      acls: [
        { src: ["group:ops"], dst: ["lan:22"] },
        { src: ["ops"], dst: ["ops:*"] },
      ],
    };
    const t = resolved(spec);
    expect(usersAllowed(t, { address: "192.168.100.2" })).toEqual(["ops"]);
    expect(usersAllowed(t, { address: "192.168.101.2" })).toEqual([]);
    expect(usersAllowed(t, { user: "ops" })).toEqual(["ops"]);
    expect(planLab(t, 1).clientUser.name).toBe("ops");
    spec.policy.acls = [{ src: ["autogroup:member"], dst: ["autogroup:member:*"] }];
    expect(usersAllowed(resolved(spec), { user: "lab-small" })).toBe("*");
  });
});

describe("applyLabChanges on the example", () => {
  let lab: LabTailnet;
  let model: ResolvedTailnet;
  let inputs: LabChangeInputs;
  const plan = () => planLab(model, 2);

  beforeAll(async () => {
    model = resolved(exampleSpec());
    const p = plan();
    const ca = await createLabCa(dir, "test");
    const dnsNodeCertificates = new Map<string, { certFile: string; keyFile: string }>();
    for (const node of allNodes(model)) {
      if (!node.hostnameIsIp) dnsNodeCertificates.set(node.name, await issueLabCertificate(ca, dir, `derp-${node.name}`, [node.hostname]));
    }
    inputs = {
      plan: p,
      model,
      headscaleCertificate: await issueLabCertificate(ca, dir, "headscale", [model.headscale.serverHost]),
      dnsNodeCertificates,
      ipNodeCertificates: new Map(),
      secretsDir: join(dir, "secrets"),
      wrongPin: `sha256-raw:${"ab".repeat(32)}`,
      headscalePaths: { configDir: join(dir, "hs", "etc"), stateDir: join(dir, "hs", "lib"), runDir: join(dir, "hs", "run") },
      derperPaths: (node) => ({ keyFile: join(dir, node, "derper.key"), certDir: join(dir, node, "certs"), meshKeyFile: join(dir, node, "mesh.key") }),
    };
    lab = applyLabChanges(exampleSpec(), inputs);
  });

  it("breaks exactly what a test asks for, each listed as a change", () => {
    const broken = applyLabChanges(exampleSpec(), {
      ...inputs,
      secretsDir: join(dir, "secrets-broken"),
      breaks: ["verify-off", "mesh-key-mismatch", "route-not-auto-approved", "exit-not-approved", "foreign-region", "pin-mismatch", "wrong-pin-matches"],
    });
    const subjects = broken.changes.map((c) => c.subject).filter((s) => s.startsWith("break "));
    expect(subjects).toEqual([
      "break foreign-region: derp region 900 (nyc)",
      "break pin-mismatch: derp node edge-1 certificate served",
      "break wrong-pin-matches: derp region 999 (lab-wrong-pin) certName",
      "break route-not-auto-approved: policy autoApprovers.routes",
      "break exit-not-approved: policy autoApprovers.exitNode",
      "break mesh-key-mismatch: derp node hkg-2 mesh key",
      "break verify-off: derper flags (every node)",
    ]);
    // verify-off: no derper asks headscale; the model still says it should.
    for (const args of broken.derperArgs.values()) expect(args.some((a) => a.startsWith("-verify-client-url"))).toBe(false);
    expect(nodeNamed(broken.tailnet, "hkg-1")!.derper.verifyClientUrl).toBe("https://hs.example.com/verify");
    // mesh-key-mismatch: the two hkg nodes get different keys.
    expect(readFileSync(broken.meshKeys.get("hkg-1")!, "utf8")).not.toBe(readFileSync(broken.meshKeys.get("hkg-2")!, "utf8"));
    // route-not-auto-approved: the rendered policy no longer auto-approves the router's route.
    const policy = JSON.parse(broken.files.find((f) => f.path === "headscale/policy.json")!.content) as {
      autoApprovers: { routes?: Record<string, string[]>; exitNode?: string[] };
    };
    expect(policy.autoApprovers.routes?.["192.168.100.0/24"]).toBeUndefined();
    // exit-not-approved: nor its exit node.
    expect((policy.autoApprovers as { exitNode?: string[] }).exitNode).toBeUndefined();
    // foreign-region: headscale's map has a region the model has not; no derper runs it and the hosts file does not name it.
    expect(broken.foreignRegions).toEqual([900]);
    expect(broken.files.find((f) => f.path === "headscale/derp.yaml")!.content).toContain("derp-nyc.example.net");
    expect(broken.derperArgs.has("nyc-1")).toBe(false);
    expect(labHostsFile(broken.tailnet, plan(), broken.probe)).not.toContain("nyc");
    // pin-mismatch: edge-1 serves another certificate than its pin; wrong-pin-matches: the probe pins what it serves.
    const edge = nodeNamed(broken.tailnet, "edge-1")!;
    const served = new X509Certificate(readFileSync(broken.derperCertificates.get("edge-1")!.certFile));
    expect(certificatePin(served.raw)).not.toBe(edge.certName);
    expect(served.checkIP("10.77.0.15")).toBe("10.77.0.15");
    expect(broken.tailnet.derp.regions.find((r) => r.code === "lab-wrong-pin")!.nodes[0]!.certName).toBe(certificatePin(served.raw));
    expect(broken.probe!.wrongPin).toBe(certificatePin(served.raw));
    // Without breaks, derper serves what the pin names.
    expect(lab.breaks.size).toBe(0);
    expect(certificatePin(new X509Certificate(readFileSync(lab.derperCertificates.get("edge-1")!.certFile)).raw)).toBe(
      nodeNamed(lab.tailnet, "edge-1")!.certName,
    );
  });

  it("refuses a break the model gives nothing to break", async () => {
    const small = resolved(smallLabSpec());
    mkdirSync(join(dir, "small"), { recursive: true });
    const lab1 = await issueLabCertificate(await createLabCa(join(dir, "small"), "small"), join(dir, "small"), "derp-lab-1", ["derp1.example.com"]);
    expect(() =>
      applyLabChanges(smallLabSpec(), {
        ...inputs,
        plan: planLab(small, 2),
        model: small,
        dnsNodeCertificates: new Map([["lab-1", lab1]]),
        wrongPin: undefined,
        breaks: ["pin-mismatch"],
      }),
    ).toThrow(/break pin-mismatch: the model has no DERP node named by an IP address with a pinned certificate/);
  });

  it("refuses a DERP node named by an IPv6 address, saying why (debug derp cannot check it) and what to write instead", async () => {
    const spec = smallLabSpec({ ipv6: true, pinnedRegion: true });
    const edge = spec.derp?.regions?.[1]?.nodes[0];
    if (!edge) throw new Error("the small lab spec has no pinned region");
    edge.hostname = "2001:db8:901::50";
    const model6 = resolved(spec);
    mkdirSync(join(dir, "v6"), { recursive: true });
    const lab1 = await issueLabCertificate(await createLabCa(join(dir, "v6"), "v6"), join(dir, "v6"), "derp-lab-1", ["derp1.example.com"]);
    const changes = { ...inputs, plan: planLab(model6, 2), model: model6, dnsNodeCertificates: new Map([["lab-1", lab1]]), wrongPin: undefined };
    expect(() => applyLabChanges(spec, changes)).toThrow(
      /^derp node edge-1: the lab cannot check a node named by the IPv6 address 2001:db8:901::50: `tailscale debug derp`, which its DERP checks run, builds the node's captive-portal URL without brackets and skips the node \(Tailscale 1\.102\); name it by a DNS name with an ipv6 address, or by an IPv4 address, for the lab$/,
    );
  });

  it("changes only what a lab must change, and says so", () => {
    const allowed =
      /^(headscale listen_addr \(rendered\)|headscale\.(version|serverUrl|tls|listenAddr|policy\.path|embeddedDerp\.ipv[46])|derp\.tailscaleRegions|hosts\.[\w-]+\.publicIpv[46]|derp node [\w-]+ (hostname|ipv4|ipv6|certificate|certName)|derp region \d+ \(lab-wrong-pin\)|secrets|headscale files|derper files \(every node\)|DNS)$/;
    for (const c of lab.changes) expect(c.subject, `${c.subject}: ${c.from} -> ${c.to}`).toMatch(allowed);
    const subjects = lab.changes.map((c) => c.subject);
    expect(subjects).toContain("headscale.tls");
    expect(subjects).toContain("hosts.cloud.publicIpv4");
    expect(subjects).toContain("hosts.cloud.publicIpv6");
    expect(subjects).toContain("derp node edge-1 hostname");
    expect(subjects).toContain("derp node hkg-1 certificate");
    // The kit issues edge-1's certificate itself: the lab does not touch its pin.
    expect(subjects).not.toContain("derp node edge-1 certName");
    for (const c of lab.changes) expect(c.why.length).toBeGreaterThan(10);
  });

  it("the IP-only node is pinned by the kit to a certificate for its lab address", () => {
    const edge = nodeNamed(lab.tailnet, "edge-1")!;
    expect(edge.hostname).toBe("10.77.0.15");
    expect(edge.insecureForTests).toBe(false);
    const cert = new X509Certificate(readFileSync(edge.derper.certificateFiles!.certFile));
    expect(cert.checkIP("10.77.0.15")).toBe("10.77.0.15");
    expect(edge.certName).toBe(certificatePin(cert.raw));
    expect(edge.derper.certificateFiles!.certFile.startsWith(join(dir, "secrets"))).toBe(true);
  });

  it("adds the wrong-pin probe region: never measured, never a home", () => {
    expect(lab.probe).toMatchObject({ regionCode: "lab-wrong-pin", pinnedNode: "edge-1", wrongPin: `sha256-raw:${"ab".repeat(32)}` });
    const region = lab.tailnet.derp.regions.find((r) => r.id === lab.probe!.regionId)!;
    expect(region.noMeasureNoHome).toBe(true);
    expect(region.nodes[0]).toMatchObject({ hostname: "10.77.0.15", certName: lab.probe!.wrongPin });
    expect(lab.derperArgs.has(lab.probe!.nodeName)).toBe(false);
  });

  it("runs every derper with the rendered flags: only file paths, and what the changes list, differ from production", () => {
    const production = new Map(allNodes(model).map((n) => [n.name, derperArgs(n)]));
    expect([...lab.derperArgs.keys()].sort()).toEqual([...production.keys()].sort());
    for (const [node, args] of lab.derperArgs) {
      const prod = production.get(node)!;
      expect(args.map((a) => a.split("=")[0])).toEqual(prod.map((a) => a.split("=")[0]));
      const differing = args.filter((a, i) => a !== prod[i]).map((a) => a.split("=")[0]);
      for (const flag of differing) expect(["-c", "-certdir", "-mesh-psk-file", "-certmode", "-hostname"], `${node} ${flag}`).toContain(flag);
      expect(args).toContain("-verify-client-url=https://hs.example.com/verify");
      expect(args).toContain("-verify-client-url-fail-open=false");
    }
    expect(lab.derperArgs.get("hkg-1")).toContain("-mesh-with=derp-hk2.example.com");
    expect(lab.meshKeys.get("hkg-1")).toBe(lab.meshKeys.get("hkg-2"));
    expect(lab.meshKeys.has("sha-1")).toBe(false);
  });

  it("renders headscale's files for the lab paths, with TLS from the lab CA", () => {
    const config = lab.files.find((f) => f.path === "headscale/config.yaml")!.content;
    expect(config).toContain(`tls_cert_path: "${join(dir, "headscale.crt")}"`);
    expect(config).toContain(`server_url: "https://hs.example.com"`);
    expect(config).toContain(join(dir, "hs", "etc", "derp.yaml"));
    const derpYaml = lab.files.find((f) => f.path === "headscale/derp.yaml")!.content;
    expect(derpYaml).toContain("10.77.0.11");
    expect(derpYaml).not.toContain("198.51.100.11");
  });

  it("the hosts file maps headscale and every DERP DNS name to its lab machine", () => {
    const hosts = labHostsFile(lab.tailnet, plan(), lab.probe);
    expect(hosts).toContain("10.77.0.10 hs.example.com");
    expect(hosts).toContain("10.77.0.11 derp-hk1.example.com");
    expect(hosts).toContain("10.77.0.14 derp-home.example.com");
    expect(hosts).not.toContain("10.77.0.15 10.77.0.15");
  });
});

describe("applyLabChanges on the how-to's tailnet (headscale at an IP address, no policy)", () => {
  it("moves the server URL's address into the lab like every public address, keeping scheme and port, and runs the policy the kit derives", async () => {
    const model = resolved(howToLabSpec());
    const plan = planLab(model, 2);
    const caDir = join(dir, "how-ca");
    mkdirSync(caDir, { recursive: true });
    const ca = await createLabCa(caDir, "how");
    const dnsNodeCertificates = new Map<string, { certFile: string; keyFile: string }>();
    for (const n of allNodes(model)) if (!n.hostnameIsIp) dnsNodeCertificates.set(n.name, await issueLabCertificate(ca, caDir, `derp-${n.name}`, [n.hostname]));
    const headscaleAt = plan.machines.find((m) => m.headscale)!.address;
    const lab = applyLabChanges(howToLabSpec(), {
      plan,
      model,
      headscaleCertificate: undefined,
      dnsNodeCertificates,
      ipNodeCertificates: new Map(),
      secretsDir: join(dir, "secrets-how-to"),
      wrongPin: `sha256-raw:${"cd".repeat(32)}`,
      headscalePaths: { configDir: join(dir, "how", "etc"), stateDir: join(dir, "how", "lib"), runDir: join(dir, "how", "run") },
      derperPaths: (node) => ({
        keyFile: join(dir, "how", node, "derper.key"),
        certDir: join(dir, "how", node, "certs"),
        meshKeyFile: join(dir, "how", node, "mesh.key"),
      }),
    });
    expect(lab.changes.find((c) => c.subject === "headscale.serverUrl")).toEqual({
      subject: "headscale.serverUrl",
      from: "http://192.168.1.10:8080",
      to: `http://${headscaleAt}:8080`,
      why: "public addresses become lab addresses (the server URL names headscale by its IP address)",
    });
    expect(lab.tailnet.headscale.serverUrl).toBe(`http://${headscaleAt}:8080`);
    expect(lab.files.find((f) => f.path === "headscale/config.yaml")!.content).toContain(`listen_addr: "[::]:8080"`);
    for (const args of lab.derperArgs.values()) expect(args).toContain(`-verify-client-url=http://${headscaleAt}:8080/verify`);
    // An address needs no hosts-file entry; the DERP names still get theirs.
    const hosts = labHostsFile(lab.tailnet, plan, lab.probe);
    expect(hosts).not.toMatch(/192\.168\.1\.10|\d+\.\d+\.\d+\.\d+ \d+\.\d+\.\d+\.\d+/);
    expect(hosts).toContain("derp-a.example.com");
    // No policy written: the kit's derived one auto-approves the router's route and the exit node.
    expect(lab.tailnet.policy).toMatchObject({ origin: "derived", autoApprovers: { routes: { "192.168.100.0/24": ["home@"] }, exitNode: ["home@"] } });
    expect(lab.files.find((f) => f.path === "headscale/policy.json")!.content).toMatch(/^\/\/ Rendered by cdktf-tailnet: the spec has no policy/);
  });

  it("makes an upgrade drill's variant with the run's own changes to the resolved model: dual-stack listen, the lab's OIDC provider", async () => {
    const spec = smallLabSpec({ oidc: true });
    const model = resolved(spec);
    const plan = planLab(model, 1);
    const caDir = join(dir, "variant-ca");
    mkdirSync(caDir, { recursive: true });
    const ca = await createLabCa(caDir, "variant");
    const dnsNodeCertificates = new Map<string, { certFile: string; keyFile: string }>();
    for (const n of allNodes(model)) if (!n.hostnameIsIp) dnsNodeCertificates.set(n.name, await issueLabCertificate(ca, caDir, `derp-${n.name}`, [n.hostname]));
    const inputs: LabChangeInputs = {
      plan,
      model,
      headscaleCertificate: await issueLabCertificate(ca, caDir, "headscale", [model.headscale.serverHost]),
      dnsNodeCertificates,
      ipNodeCertificates: new Map(),
      secretsDir: join(dir, "secrets-variant"),
      wrongPin: `sha256-raw:${"ef".repeat(32)}`,
      headscalePaths: { configDir: join(dir, "variant", "etc"), stateDir: join(dir, "variant", "lib"), runDir: join(dir, "variant", "run") },
      derperPaths: (node) => ({
        keyFile: join(dir, "variant", node, "derper.key"),
        certDir: join(dir, "variant", node, "certs"),
        meshKeyFile: join(dir, "variant", node, "mesh.key"),
      }),
      oidc: { issuer: "http://10.77.0.9:10000/oidc", clientSecretFile: join(dir, "variant", "oidc-secret") },
    };
    const lab = applyLabChanges(spec, inputs);
    expect(lab.tailnet.headscale.listenAddr).toMatch(/^\[::\]:\d+$/);
    expect(lab.tailnet.headscale.oidc?.issuer).toBe("http://10.77.0.9:10000/oidc");
    const variant = labVariant(lab, inputs, (hs) => Object.assign(hs, { version: "0.28.0" }));
    expect(variant.tailnet.headscale.version.version).toBe("0.28.0");
    expect(variant.tailnet.headscale.listenAddr).toBe(lab.tailnet.headscale.listenAddr);
    expect(variant.tailnet.headscale.oidc).toEqual(lab.tailnet.headscale.oidc);
    const config = variant.files.find((f) => f.path === "headscale/config.yaml")!.content;
    expect(config).toContain(`listen_addr: "${lab.tailnet.headscale.listenAddr}"`);
    expect(config).toContain('issuer: "http://10.77.0.9:10000/oidc"');
  });

  it("issues headscale's lab certificate for its lab address when an https server URL names an IP address", async () => {
    const spec = howToLabSpec();
    spec.headscale.serverUrl = "https://192.168.1.10";
    spec.headscale.tls = { mode: "files", certPath: "/etc/headscale/tls.crt", keyPath: "/etc/headscale/tls.key" };
    const model = resolved(spec);
    const plan = planLab(model, 1);
    expect(labServerHost(spec.headscale.serverUrl, plan)).toBe(plan.machines.find((m) => m.headscale)!.address);
    expect(labServerHost("https://hs.example.com", plan)).toBe("hs.example.com");
    mkdirSync(join(dir, "ip-ca"), { recursive: true });
    const files = await issueLabCertificate(await createLabCa(join(dir, "ip-ca"), "ip"), join(dir, "ip-ca"), "headscale", [
      labServerHost(spec.headscale.serverUrl, plan),
    ]);
    const cert = new X509Certificate(readFileSync(files.certFile));
    expect(cert.checkIP(labServerHost(spec.headscale.serverUrl, plan))).toBe(labServerHost(spec.headscale.serverUrl, plan));
  });
});

describe("cdktf-tailnet lab: arguments", () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  it("needs a spec", async () => {
    const r = await run(["lab"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cdktf-tailnet lab: expected exactly one spec file, got none/);
  });
  it("needs a whole number of clients", async () => {
    const r = await run(["lab", "examples/home-lab/tailnet.yaml", "--clients", "two"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--clients must be a whole number/);
  });
  it("refuses a headscale version the kit does not render for, before starting anything", async () => {
    const r = await run(["lab", "examples/home-lab/tailnet.yaml", "--headscale-version", "0.26.0"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/0\.26\.0: the kit renders for headscale .*0\.29\.3/);
  });
  it("says which programs are missing and how to get them", async () => {
    const r = await run(["lab", "examples/home-lab/tailnet.yaml", "--bin-dir", join(dir, "no-such-dir")]);
    expect(r.code).toBe(2);
    // Not root or not Linux: that is the message; else the missing programs are.
    if (!/needs (Linux|root)/.test(r.err)) {
      expect(r.err).toMatch(/4 programs the lab needs are missing/);
      // The example targets the default headscale, 0.29.8, and derper's default Tailscale 1.102.5.
      expect(r.err).toMatch(/headscale v0\.29\.8: not found at .*no-such-dir\/headscale/);
      expect(r.err).toMatch(/tailscaled v1\.102\.5: not found at .*no-such-dir\/tailscaled/);
      expect(r.err).toMatch(/or run a headscale release you have built: --headscale-version <release> \(the lab renders for it instead\)/);
      expect(r.err).toMatch(/build-upstream\.sh/);
    }
  });
});
