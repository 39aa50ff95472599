/**
 * The doctor against real servers on loopback: a real headscale serving TLS with a test CA's
 * certificate, a real derper with the kit-issued pinned certificate and STUN. Every check passes
 * on the healthy deployment; each broken case yields the finding and the fix the doctor promises.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDoctor, type DoctorFinding } from "../../cli/doctor.js";
import {
  advisoriesFor,
  advisoryLabel,
  clientAdvice,
  findHeadscaleVersion,
  relocateHeadscale,
  type PreparedTailnet,
  type TailnetSpec,
} from "../../model/index.js";
import { placeHeadscaleFiles } from "../../render/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { bindSkipReason, startBind9, type Bind9 } from "../support/bind9.js";
import { scratchDir } from "../support/scratch.js";
import { startDerper } from "../support/derper-process.js";
import { freeLoopbackPorts } from "../support/headscale-process.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";
import { selfSignedReqArgs } from "../support/openssl.js";

const HEADSCALE = upstreamVersions.headscale.at(-1)!;

function testCa(dir: string, host: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  run(...selfSignedReqArgs({ subject: "/CN=cdktf-tailnet doctor test CA", days: 2, keyOut: "ca.key", certOut: "ca.crt" }));
  run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "hs.key", "-out", "hs.csr", "-subj", `/CN=${host}`);
  writeFileSync(join(dir, "ext.cnf"), `subjectAltName=DNS:${host}\n`);
  run("x509", "-req", "-in", "hs.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "hs.crt", "-days", "2", "-extfile", "ext.cnf");
  return { ca: join(dir, "ca.crt"), cert: join(dir, "hs.crt"), key: join(dir, "hs.key") };
}

const byCheck = (findings: DoctorFinding[], check: string) => findings.filter((f) => f.check === check);

describe.skipIf(!!skipReason("doctor", upstreamSkipReason))(`doctor against a real headscale and derper ${upstreamSkipReason ?? ""}`, () => {
  const dir = suiteScratchDir("cdktf-tailnet-doctor-");
  const processes: ChildProcess[] = [];
  let tailnet: PreparedTailnet;
  let ca = "";
  const resolve = { "hs.example.test": "127.0.0.1" };

  beforeAll(async () => {
    const [hsPort, derpPort, stunPort, metrics, grpc] = (await freeLoopbackPorts(5)) as [number, number, number, number, number];
    const tls = testCa(dir, "hs.example.test");
    ca = readFileSync(tls.ca, "utf8");
    const spec: TailnetSpec = {
      name: "doctor",
      headscale: {
        version: HEADSCALE.replace(/^v/, ""),
        serverUrl: `https://hs.example.test:${hsPort}`,
        host: "hs",
        listenAddr: `0.0.0.0:${hsPort}`,
        tls: { mode: "files", certPath: tls.cert, keyPath: tls.key },
        dns: { baseDomain: "tail.example.net" },
      },
      derp: {
        regions: [
          { id: 900, code: "lo", name: "Loopback", nodes: [{ name: "lo-1", host: "relay", hostname: "127.0.0.1", derpPort, stunPort, canPort80: false }] },
        ],
      },
      hosts: [
        { name: "hs", publicIpv4: "127.0.0.1" },
        { name: "relay", publicIpv4: "127.0.0.1" },
      ],
    };
    const prepared = prepareTailnet(spec, { secretsDir: join(dir, "secrets") });
    const paths = { configDir: join(dir, "etc"), stateDir: join(dir, "lib"), runDir: join(dir, "run") };
    for (const d of Object.values(paths)) mkdirSync(d);
    tailnet = relocateHeadscale(prepared, {
      paths,
      listenAddr: `127.0.0.1:${hsPort}`,
      metricsListenAddr: `127.0.0.1:${metrics}`,
      grpcListenAddr: `127.0.0.1:${grpc}`,
    });
    for (const { hostPath, file } of placeHeadscaleFiles(tailnet)) {
      mkdirSync(dirname(hostPath), { recursive: true });
      writeFileSync(hostPath, file.content);
    }
    processes.push(spawn(upstreamBinary("headscale", HEADSCALE), ["serve", "-c", join(paths.configDir, "config.yaml")], { stdio: "ignore" }));

    processes.push(startDerper(tailnet.derp.regions[0]!.nodes[0]!, dir).process);

    let last: DoctorFinding[] = [];
    for (let i = 0; i < 40; i++) {
      last = await runDoctor(tailnet, { resolve, ca, timeoutMs: 500 });
      if (last.every((f) => f.ok || f.check === "headscale version")) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `the deployment did not become healthy:\n${last
        .filter((f) => !f.ok)
        .map((f) => `${f.check}: ${f.detail}`)
        .join("\n")}`,
    );
  }, 60_000);

  afterAll(() => {
    for (const p of processes) if (p.pid) process.kill(p.pid, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds nothing wrong with a healthy deployment but the known advisories of the release it runs", async () => {
    const progress: string[] = [];
    const findings = await runDoctor(tailnet, { resolve, ca, onFinding: (f) => progress.push(f.check) });
    const release = HEADSCALE.replace(/^v/, "");
    const advisories = advisoriesFor("headscale", release);
    // The newest headscale built here (0.29.3) has known advisories; the doctor says so, and how to leave them.
    expect(advisories.length).toBeGreaterThan(0);
    expect(findings.filter((f) => !f.ok)).toEqual([
      {
        check: "headscale version",
        target: tailnet.headscale.serverUrl,
        ok: false,
        detail: `${release} has known advisories: ${advisories.map(advisoryLabel).join("; ")}`,
        fix: "set headscale.version to 0.29.8 (`cdktf-tailnet versions` lists each advisory) and deploy",
      },
    ]);
    expect(findings.map((f) => f.check)).toEqual([
      "dns",
      "headscale /health",
      "headscale tls",
      "headscale version",
      "tailscale clients",
      "headscale /key",
      "headscale /verify",
      "derp tls",
      "derp /derp/probe",
      "stun",
    ]);
    expect(byCheck(findings, "tailscale clients")[0]!.detail).toBe(clientAdvice(findHeadscaleVersion(release)!).join("; "));
    expect(progress).toEqual(findings.map((f) => f.check));
    expect(byCheck(findings, "derp tls")[0]!.detail).toBe("presents the pinned certificate");
    expect(byCheck(findings, "stun")[0]!.detail).toMatch(/^binding answered, mapped 127\.0\.0\.1:\d+$/);
    expect(byCheck(findings, "headscale /verify")[0]!.detail).toBe("refuses an unknown node, as derper expects");
  });

  it("reads the running release from headscale's /version, and reports one the spec does not target", async () => {
    const release = HEADSCALE.replace(/^v/, "");
    const other = release === "0.29.8" ? "0.29.7" : "0.29.8";
    const drifted: PreparedTailnet = { ...tailnet, headscale: { ...tailnet.headscale, version: findHeadscaleVersion(other)! } };
    const f = byCheck(await runDoctor(drifted, { resolve, ca, timeoutMs: 2000 }), "headscale version")[0]!;
    expect(f.ok).toBe(false);
    expect(f.detail).toMatch(new RegExp(`^runs ${release.replaceAll(".", "\\.")}, the spec targets ${other.replaceAll(".", "\\.")}`));
    expect(f.fix).toMatch(new RegExp(`^deploy the spec's headscale ${other.replaceAll(".", "\\.")} \\(render and apply\\)`));
  });

  it("reports a certificate clients do not trust, with the fix", async () => {
    const findings = await runDoctor(tailnet, { resolve, timeoutMs: 2000 });
    const f = byCheck(findings, "headscale tls")[0]!;
    expect(f.ok).toBe(false);
    expect(f.detail).toMatch(/certificate not trusted/);
    expect(f.fix).toMatch(/^serve a certificate for hs\.example\.test from a CA clients trust/);
  });

  it("reports a DERP node whose certificate does not match the pin in the map", async () => {
    const node = tailnet.derp.regions[0]!.nodes[0]!;
    const wrong: PreparedTailnet = {
      ...tailnet,
      derp: { ...tailnet.derp, regions: [{ ...tailnet.derp.regions[0]!, nodes: [{ ...node, certName: `sha256-raw:${"0".repeat(64)}` }] }] },
    };
    const f = byCheck(await runDoctor(wrong, { resolve, ca, timeoutMs: 2000 }), "derp tls")[0]!;
    expect(f.ok).toBe(false);
    expect(f.detail).toMatch(/^presents sha256-raw:[0-9a-f]{64}, not the pinned sha256-raw:0{64}$/);
    expect(f.fix).toMatch(/^render and deploy again so the map's pin matches/);
  });

  it("reports STUN that does not answer and a name that resolves elsewhere", async () => {
    const node = tailnet.derp.regions[0]!.nodes[0]!;
    const [closed] = await freeLoopbackPorts(1);
    const broken: PreparedTailnet = {
      ...tailnet,
      derp: { ...tailnet.derp, regions: [{ ...tailnet.derp.regions[0]!, nodes: [{ ...node, stunPort: closed! }] }] },
    };
    const findings = await runDoctor(broken, { resolve: { "hs.example.test": "127.0.0.2" }, ca, timeoutMs: 1000 });
    const stun = byCheck(findings, "stun")[0]!;
    expect(stun.ok).toBe(false);
    expect(stun.fix).toBe(`open UDP ${closed} to 127.0.0.1 (do not rate-limit STUN)`);
    const dns = byCheck(findings, "dns")[0]!;
    expect(dns).toMatchObject({ ok: false, target: "hs.example.test", detail: "resolves to 127.0.0.2, not 127.0.0.1" });
    expect(dns.fix).toMatch(/^point hs\.example\.test at 127\.0\.0\.1/);
  });
});

describe.skipIf(!!skipReason("doctor (DNS checks)", upstreamSkipReason, bindSkipReason))(
  `doctor's DNS checks against a real BIND 9 ${bindSkipReason ?? ""}`,
  () => {
    let bind: Bind9 | undefined;
    afterAll(async () => bind?.stop());

    it("passes when the zone has the model's addresses, and names the record to fix when it does not", async () => {
      bind = await startBind9({ zone: "example.test", records: ["hs IN A 127.0.0.1", "derp IN A 192.0.2.99"], keys: [] });
      const spec: TailnetSpec = {
        name: "doctor-dns",
        headscale: { serverUrl: "https://hs.example.test", host: "hs", dns: { baseDomain: "tail.example.net" } },
        derp: { regions: [{ id: 900, code: "x", name: "X", nodes: [{ name: "x-1", host: "relay", hostname: "derp.example.test" }] }] },
        hosts: [
          { name: "hs", publicIpv4: "127.0.0.1" },
          { name: "relay", publicIpv4: "192.0.2.10" },
        ],
      };
      const tailnet = prepareTailnet(spec, { secretsDir: scratchDir("cdktf-tailnet-doctor-dns-") });
      const findings = (await runDoctor(tailnet, { dnsServer: `127.0.0.1:${bind.port}`, timeoutMs: 1000 })).filter((f) => f.check === "dns");
      expect(findings).toEqual([
        { check: "dns", target: "hs.example.test", ok: true, detail: "resolves to 127.0.0.1", fix: "" },
        {
          check: "dns",
          target: "derp.example.test",
          ok: false,
          detail: "resolves to 192.0.2.99, not 192.0.2.10",
          fix: "point derp.example.test at 192.0.2.10 (A/AAAA records; the kit's DnsRecords construct manages them)",
        },
      ]);
    });
  },
);
