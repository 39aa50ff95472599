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
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { createLabCa, issueLabCertificate } from "../../lab/certs.js";
import { applyLabChanges, labHostsFile, relocateDerperArgs, type LabTailnet } from "../../lab/lab-changes.js";
import { machineOfNode, planLab } from "../../lab/plan.js";
import { DERPER_PATHS, resolve, validate, type ResolvedTailnet, type TailnetSpec } from "../../model/index.js";
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

describe("applyLabChanges on the example", () => {
  let lab: LabTailnet;
  let model: ResolvedTailnet;
  const plan = () => planLab(model, 2);

  beforeAll(async () => {
    model = resolved(exampleSpec());
    const p = plan();
    const ca = await createLabCa(dir, "test");
    const dnsNodeCertificates = new Map<string, { certFile: string; keyFile: string }>();
    for (const node of model.derp.regions.flatMap((r) => r.nodes)) {
      if (!node.hostnameIsIp) dnsNodeCertificates.set(node.name, await issueLabCertificate(ca, dir, `derp-${node.name}`, [node.hostname]));
    }
    lab = applyLabChanges(exampleSpec(), {
      plan: p,
      model,
      headscaleCertificate: await issueLabCertificate(ca, dir, "headscale", [model.headscale.serverHost]),
      dnsNodeCertificates,
      ipNodeCertificates: new Map(),
      secretsDir: join(dir, "secrets"),
      wrongPin: `sha256-raw:${"ab".repeat(32)}`,
      headscalePaths: { configDir: join(dir, "hs", "etc"), stateDir: join(dir, "hs", "lib"), runDir: join(dir, "hs", "run") },
      derperPaths: (node) => ({ keyFile: join(dir, node, "derper.key"), certDir: join(dir, node, "certs"), meshKeyFile: join(dir, node, "mesh.key") }),
    });
  });

  it("changes only what a lab must change, and says so", () => {
    const allowed =
      /^(headscale\.(version|tls|listenAddr|policy\.path|embeddedDerp\.ipv[46])|derp\.tailscaleRegions|hosts\.[\w-]+\.publicIpv[46]|derp node [\w-]+ (hostname|ipv4|ipv6|certificate|certName)|derp region \d+ \(lab-wrong-pin\)|secrets|headscale files|derper files \(every node\)|DNS)$/;
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
    const edge = lab.tailnet.derp.regions.flatMap((r) => r.nodes).find((n) => n.name === "edge-1")!;
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
    const production = new Map(model.derp.regions.flatMap((r) => r.nodes).map((n) => [n.name, n.derper.args]));
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

describe("relocateDerperArgs", () => {
  const to = { keyFile: "/run/x/derper.key", certDir: "/run/x/certs", meshKeyFile: "/run/x/mesh.key" };
  it("moves the three paths and nothing else", () => {
    expect(relocateDerperArgs([`-c=${DERPER_PATHS.keyFile}`, "-a=:443", `-certdir=${DERPER_PATHS.certDir}`, `-mesh-psk-file=${DERPER_PATHS.meshKeyFile}`], to)).toEqual([
      "-c=/run/x/derper.key",
      "-a=:443",
      "-certdir=/run/x/certs",
      "-mesh-psk-file=/run/x/mesh.key",
    ]);
  });
  it("refuses a path it does not expect", () => {
    expect(() => relocateDerperArgs(["-c=/elsewhere/derper.key"], to)).toThrow(/expected the rendered path/);
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
    expect(r.err).toMatch(/lab takes exactly one spec file/);
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
      expect(r.err).toMatch(/headscale v0\.29\.3: not found at .*no-such-dir\/headscale/);
      expect(r.err).toMatch(/build-upstream\.sh/);
    }
  });
});
