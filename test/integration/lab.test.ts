/**
 * `cdktf-tailnet lab` with the real headscale, derper, tailscaled and tailscale: every host in its
 * own network namespace behind a switch namespace, nothing routed off the machine. One file, so the
 * labs (one at a time on a machine) run one after another in one worker while the other worker
 * runs the rest of the suite.
 *
 * 1. The bundled example (it targets headscale 0.29.8, the kit's default) on the newest headscale
 *    built here (0.29.3, whose rendered files equal 0.29.8's but for the version: the module proxy
 *    here serves nothing newer), as `--headscale-version` does: it has what the checks need: a meshed two-node
 *    region (hkg), a node on port 8443 with manual certificates (home), an IP-only node whose
 *    self-signed certificate the kit issues and pins (edge), Tailscale's public regions dropped, and
 *    a subnet router whose LAN the lab puts behind it, with a listener a client reaches through
 *    the tailnet.
 * 2. The older headscale releases the kit renders for (0.27.1, 0.28.0): a small tailnet (one
 *    region of one DERP node, two clients, a subnet router with its LAN), every check green.
 * 3. Each check fails, with a finding that names the cause, when exactly its precondition is
 *    broken, and every other check still passes. The breaks are lab options (`breaks`, applied in
 *    the one lab-change step and listed with the changes) or a spec change; nothing is patched at
 *    run time. Three small labs share the breaks whose effects do not overlap:
 *    a. one meshed region of two nodes and a subnet router: mesh key mismatch -> mesh; derper run
 *       without -verify-client-url while the model has verification on -> verify; the router's
 *       route removed from the policy's autoApprovers -> route;
 *    b. a region plus a never-home region with an IP-only node the kit pins: the node serves
 *       another certificate than its pin -> pin (and derp:edge, whose TLS is the same); the lab's
 *       wrong-pin region given the pin of what the node serves -> wrong-pin;
 *    c. one region, a tagged device, verification off in the spec: the device's key made without
 *       its tags -> registered; a region the model does not have in headscale's map -> netcheck;
 *       clients allowed to talk directly -> relay-ping; verification off in the model -> verify
 *       skipped, saying why.
 * 4. Life cycle and faults:
 *    - in a region of two meshed nodes, the node two clients use is killed (SIGKILL) and the time
 *      until they relay through the other is measured; headscale is stopped while the peers keep
 *      talking, then restarted, and the time until every node is back online is measured;
 *      meanwhile a second lab is refused with a message naming the running one;
 *    - a lab killed with SIGKILL leaves its namespaces, processes and run directory behind: the
 *      next lab is refused and told to run `lab down`, which removes all of it (found through the
 *      run's record and the `tl<id>-*` namespace names);
 *    - `lab down` stops a running lab, which cleans up after itself; Ctrl-C does the same.
 *
 * Needs Linux and root (network namespaces); skips with the reason otherwise, or when Go is
 * missing (nothing could have built the programs).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadSpecFile } from "../../cli/load-spec.js";
import { isRunning } from "../../fsx/process-id.js";
import { runCli } from "../../cli/main.js";
import { LabBusy, labStateDir, runLab, type LabBreak, type LabReport } from "../../lab/index.js";
import { formatLabTable } from "../../lab/report.js";
import { howToLabSpec, LAB_OIDC, smallLabSpec, type SmallLabSpecOptions } from "../../lab/specs.js";
import type { TailnetSpec } from "../../model/index.js";
import type { LabRunState } from "../../lab/state.js";
import {
  check,
  expectNothingLeft,
  LAB_HEADSCALE,
  labBinaries,
  labPrograms,
  labSkipReason,
  namespacesOf,
  pidsInNamespaces,
  running,
  statuses,
  WAIT_FOR_OTHER_LAB,
} from "../lab/lab-support.js";
import { skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";

const EXAMPLE = new URL("../../examples/home-lab/tailnet.yaml", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;
const work = suiteScratchDir("lab-test-");

describe.skipIf(!!skipReason("lab", labSkipReason))(`cdktf-tailnet lab on the home-lab example ${labSkipReason ? `(skipped: ${labSkipReason})` : ""}`, () => {
  it(
    "brings the whole tailnet up, passes every check, and leaves nothing behind",
    async () => {
      const progress: string[] = [];
      // The example as it ships, and logins through an OpenID Connect provider (the lab runs one).
      const spec = (await loadSpecFile(EXAMPLE)) as TailnetSpec;
      spec.headscale.oidc = LAB_OIDC;
      // And IPv6 for Shanghai's relay (the example gives IPv6 to the coordination server only).
      spec.hosts!.find((h) => h.name === "sh-1")!.publicIpv6 = "2001:db8:21::1";
      const report = await runLab({
        spec,
        clients: 2,
        ...labPrograms(),
        waitForOtherLab: WAIT_FOR_OTHER_LAB,
        onProgress: (line) => progress.push(line),
      });
      console.log(`${progress.join("\n")}\n\n${formatLabTable(report)}`);

      // Every check of the issue ran and passed.
      const expected = [
        "registered",
        "netcheck",
        "derp:hkg",
        "derp:sha",
        "derp:home",
        "derp:edge",
        "pin",
        "wrong-pin",
        "verify",
        "relay-ping",
        "mesh:hkg",
        "route:192.168.100.0/24",
        "exit-node:home-router",
        "oidc-login",
        "ipv6",
      ];
      expect(report.checks.map((c) => c.id).sort()).toEqual([...expected].sort());
      for (const c of report.checks) expect(c.status, `${c.id}: ${c.detail}`).toBe("pass");
      expect(report.error).toBeUndefined();
      expect(report.cleanupProblems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.changes.find((c) => c.subject === "headscale.version")).toMatchObject({ from: "0.29.8", to: LAB_HEADSCALE });
      expect([report.headscaleVersion, report.tailscaleVersion]).toEqual([LAB_HEADSCALE, "1.102.5"]);

      // netcheck: the model's four regions, each with a latency; nothing public.
      const netcheck = check(report, "netcheck").data as { regions: Record<string, { latency: string }> };
      for (const code of ["hkg", "sha", "home", "edge"]) expect(netcheck.regions[code]?.latency, code).toMatch(/^\d/);
      expect(Object.keys(netcheck.regions).sort()).toEqual(["edge", "hkg", "home", "lab-wrong-pin", "sha"]);

      // The relayed pings went through DERP; the mesh ping through hkg, across both hkg nodes.
      expect(check(report, "relay-ping").detail).toMatch(/via DERP\(\w+\)/);
      const mesh = check(report, "mesh:hkg").data as { pongs: { via: string }[]; forwarded: { out1: number; in2: number } };
      expect(mesh.pongs.every((p) => p.via === "hkg")).toBe(true);
      expect(mesh.forwarded.out1).toBeGreaterThan(0);
      expect(mesh.forwarded.in2).toBeGreaterThan(0);

      // The pin: accepted as issued by the kit, a wrong one refused.
      expect(check(report, "wrong-pin").detail).toMatch(/cert hash does not match/);

      // The router's 192.168.100.0/24: approved by the policy alone, and the LAN listener behind it
      // answers a client across the tailnet. The policy keeps the lab's own user (home-lab) from
      // everything, so the clients join as alice (group:admins reaches *).
      expect(check(report, "route:192.168.100.0/24").detail).toMatch(
        /approved with no manual step .* client-1 \(user alice\) reached 192\.168\.100\.2:8080 on the LAN behind home-router/,
      );
      expect(progress.join("\n")).toMatch(/the lab's clients join as user alice: the policy lets alice's nodes reach each other and the advertised routes/);
      expect(report.machines.find((m) => m.name === "home-router-lan")).toMatchObject({ address: "192.168.100.2" });

      // The router is the exit node too: alice's client reaches a listener beyond its upstream only through it.
      expect(check(report, "exit-node:home-router").detail).toMatch(
        /^approved with no manual step .* client-1 could not reach 198\.51\.100\.80:8080 on its own, then through home-router \(100\.64\.\d+\.\d+\) it got the listener's token back, from 203\.0\.113\.1/,
      );
      expect(report.machines.find((m) => m.name === "home-router-up")).toMatchObject({ address: "198.51.100.80" });

      // IPv6: the lab is dual-stack; the client with IPv6 only gets STUN answers over IPv6, homes on
      // sha (the region with IPv6) and relays to an IPv4 client; debug derp connects to sha-1 over
      // both families; every node has an address from both prefixes.
      expect(check(report, "ipv6").detail).toMatch(
        /^STUN over IPv6 \(seen as \[2001:db8:77::\d+\]:\d+; sha [\d.]+(µs|ms)\); homed on sha; 2 pong\(s\) from client-2 .* via DERP\(sha\)/,
      );
      expect(check(report, "derp:sha").detail).toMatch(/TLS over IPv6 too \(sha-1\)/);
      for (const n of check(report, "registered").data as { ip_addresses?: string[] }[]) {
        expect(
          n.ip_addresses?.some((a) => a.startsWith("100.")) && n.ip_addresses?.some((a) => a.startsWith("fd7a:115c:a1e0:")),
          JSON.stringify(n.ip_addresses),
        ).toBe(true);
      }
      expect(report.machines.find((m) => m.name === "client-v6")).toMatchObject({ address: expect.stringMatching(/^2001:db8:77::/) });

      // OIDC: headscale started only once the provider answered (only_start_if_oidc_is_available); a
      // login URL followed with no browser (headscale 0.29's confirmation form posted back), the node
      // registered as the provider's user (PKCE S256); a user outside the domain and group refused.
      expect(progress.join("\n")).toMatch(/oidc provider: headscale mockoidc up on oidc-provider .* before headscale, which refuses to start without it/);
      expect(check(report, "oidc-login").title).toMatch(/PKCE S256/);
      expect(check(report, "oidc-login").detail).toMatch(
        /^lab-user@example\.com logged in without a browser \(2 step\(s\): GET, POST\) and oidc-login registered as user lab-user .*; outsider@outside\.invalid was refused with HTTP 401/,
      );
      expect(report.changes.map((c) => c.subject)).toEqual(expect.arrayContaining(["headscale.oidc.issuer", "headscale.oidc.clientSecretPath"]));

      // The real programs ran with the rendered configuration and flags.
      const derpers = report.processes.filter((p) => p.name.startsWith("derper "));
      expect(derpers.map((p) => p.name).sort()).toEqual(["derper edge-1", "derper hkg-1", "derper hkg-2", "derper home-1", "derper sha-1"]);
      for (const d of derpers) {
        expect(d.argv).toContain("-verify-client-url=https://hs.example.com/verify");
        expect(d.argv).toContain("-verify-client-url-fail-open=false");
        expect(d.argv).toContain("-certmode=manual");
      }
      expect(derpers.find((d) => d.name === "derper home-1")!.argv).toContain("-a=:8443");
      expect(derpers.find((d) => d.name === "derper hkg-1")!.argv.some((a) => a.startsWith("-mesh-with=derp-hk2.example.com"))).toBe(true);
      const tailscaleds = report.processes.filter((p) => p.name.startsWith("tailscaled "));
      expect(tailscaleds.map((p) => p.machine).sort()).toEqual(["client-1", "client-2", "client-v6", "home-router", "mesh-hkg-1", "mesh-hkg-2", "oidc-login"]);

      // Nothing left: no namespace of the run, no process of the run, no record.
      expectNothingLeft(report);

      // The issue's budget: the whole lab in well under 90 s on 2 cores.
      expect(report.durationMs).toBeLessThan(90_000);
      expect(report.startupMs).toBeLessThan(report.durationMs);
    },
    WAIT_FOR_OTHER_LAB + 180_000,
  );
});

describe.skipIf(!!labSkipReason)(`the how-to's tailnet, as users write it ${labSkipReason ? `(skipped: ${labSkipReason})` : ""}`, () => {
  it(
    "headscale at http://<IP address>:8080, node prefix 10.1.0.0/16, a router and an exit node with no policy written: every check green",
    async () => {
      const progress: string[] = [];
      const report = await runLab({
        spec: howToLabSpec(),
        clients: 2,
        ...labPrograms(),
        waitForOtherLab: WAIT_FOR_OTHER_LAB,
        onProgress: (line) => progress.push(line),
      });
      console.log(`${progress.join("\n")}\n\n${formatLabTable(report)}`);
      for (const c of report.checks) expect(c.status, `${c.id}: ${c.detail}`).toBe("pass");
      expect(report.checks.map((c) => c.id)).toEqual(expect.arrayContaining(["registered", "relay-ping", "mesh:home", "pin", "route:192.168.100.0/24"]));
      expect(report.ok).toBe(true);
      // The server URL's address moved into the lab like the hosts' addresses.
      const headscaleAt = report.machines.find((m) => m.runs.includes("headscale"))!.address;
      expect(report.changes.find((c) => c.subject === "headscale.serverUrl")).toMatchObject({
        from: "http://192.168.1.10:8080",
        to: `http://${headscaleAt}:8080`,
      });
      // Nodes got addresses from 10.1.0.0/16; the route was approved by the policy the kit derived.
      const nodes = check(report, "registered").data as { ip_addresses?: string[] }[];
      for (const n of nodes)
        expect(
          n.ip_addresses?.some((a) => a.startsWith("10.1.")),
          JSON.stringify(n.ip_addresses),
        ).toBe(true);
      expect(check(report, "registered").detail).toMatch(
        /router 10\.1\.\d+\.\d+ \[192\.168\.100\.0\/24 advertised\+approved\]; exit 10\.1\.\d+\.\d+ \[exit node advertised\+approved\]/,
      );
      expect(check(report, "route:192.168.100.0/24").detail).toMatch(/^approved with no manual step/);
      expectNothingLeft(report);
    },
    WAIT_FOR_OTHER_LAB + 120_000,
  );
});

describe.skipIf(!!labSkipReason)(`the lab on older headscale releases ${labSkipReason ? `(skipped: ${labSkipReason})` : ""}`, () => {
  for (const version of ["0.27.1", "0.28.0"]) {
    it(
      `headscale ${version}: one region, two clients, a subnet router that is an exit node too, and OIDC logins: every check green`,
      async () => {
        const progress: string[] = [];
        const report = await runLab({
          spec: smallLabSpec({ router: true, exitNode: true, oidc: true }),
          clients: 2,
          headscaleVersion: version,
          binaries: labBinaries(version),
          waitForOtherLab: WAIT_FOR_OTHER_LAB,
          onProgress: (line) => progress.push(line),
        });
        console.log(`${progress.join("\n")}\n\n${formatLabTable(report)}`);
        expect(report.headscaleVersion).toBe(version);
        expect(report.changes.find((c) => c.subject === "headscale.version")).toMatchObject({ to: version });
        expect(statuses(report)).toEqual({
          registered: "pass",
          "derp:lab": "pass",
          netcheck: "pass",
          // The small tailnet has no IP-only node: nothing to pin.
          pin: "skip",
          verify: "pass",
          "relay-ping": "pass",
          "route:192.168.100.0/24": "pass",
          "exit-node:router": "pass",
          "oidc-login": "pass",
        });
        // This release's own OIDC flow: no confirmation form before 0.29; the outsider refused.
        expect(check(report, "oidc-login").detail).toMatch(
          /^lab-user@example\.com logged in without a browser \(1 step\(s\): GET\) and oidc-login registered as user lab-user .*; outsider@outside\.invalid was refused with HTTP 401 "unauthorised (domain|group)"/,
        );
        expect(report.ok).toBe(true);
        expectNothingLeft(report);
      },
      WAIT_FOR_OTHER_LAB + 120_000,
    );
  }
});

async function brokenLab(spec: SmallLabSpecOptions, breaks: LabBreak[]): Promise<LabReport> {
  const progress: string[] = [];
  const report = await runLab({
    spec: smallLabSpec(spec),
    clients: 2,
    breaks,
    ...labPrograms(),
    waitForOtherLab: WAIT_FOR_OTHER_LAB,
    onProgress: (l) => progress.push(l),
  });
  console.log(`${progress.join("\n")}\n\n${formatLabTable(report)}`);
  // The lab came up and went away; only the broken checks fail; each break is listed as a change.
  expect(report.error).toBeUndefined();
  expect(report.ok).toBe(false);
  expect(report.breaks).toEqual(breaks);
  for (const b of breaks)
    expect(
      report.changes.some((c) => c.subject.startsWith(`break ${b}:`)),
      b,
    ).toBe(true);
  expectNothingLeft(report);
  return report;
}

describe.skipIf(!!labSkipReason)(`each check fails when exactly its precondition is broken ${labSkipReason ? `(skipped: ${labSkipReason})` : ""}`, () => {
  it(
    "mesh key mismatch -> mesh; verification dropped behind the model's back -> verify; route not in autoApprovers -> route; exit node not in autoApprovers -> exit-node",
    async () => {
      const report = await brokenLab({ nodes: 2, router: true, exitNode: true }, [
        "mesh-key-mismatch",
        "verify-off",
        "route-not-auto-approved",
        "exit-not-approved",
      ]);
      expect(statuses(report)).toEqual({
        registered: "pass",
        "derp:lab": "pass",
        netcheck: "pass",
        pin: "skip",
        verify: "fail",
        "relay-ping": "pass",
        "mesh:lab": "fail",
        "route:192.168.100.0/24": "fail",
        "exit-node:router": "fail",
      });
      expect(check(report, "exit-node:router").detail).toMatch(
        /^headscale did not approve the exit node router \(advertised: .*0\.0\.0\.0\/0.*; approved: none\): the policy's autoApprovers\.exitNode is empty; no client can use it$/,
      );
      expect(check(report, "mesh:lab").detail).toMatch(/^lab-1 and lab-2 do not mesh: lab-1 knows 0 client\(s\) of its mesh peer, lab-2 knows 0/);
      expect(check(report, "verify").detail).toMatch(/lab-1 runs without -verify-client-url although the model has client verification on/);
      expect(check(report, "verify").detail).toMatch(/lab-2 admitted a DERP client headscale does not know/);
      expect(check(report, "route:192.168.100.0/24").detail).toMatch(
        /headscale did not approve 192\.168\.100\.0\/24 advertised by router \(advertised: 0\.0\.0\.0\/0, ::\/0, 192\.168\.100\.0\/24; approved: none\): the policy's autoApprovers have no entry for it/,
      );
    },
    WAIT_FOR_OTHER_LAB + 180_000,
  );

  it(
    "the pinned node serves another certificate -> pin (and its region's derp check); the wrong-pin region pinned to what it serves -> wrong-pin; IPv6 STUN closed -> ipv6",
    async () => {
      const report = await brokenLab({ pinnedRegion: true, ipv6: true }, ["pin-mismatch", "wrong-pin-matches", "ipv6-stun-closed"]);
      expect(statuses(report)).toEqual({
        registered: "pass",
        "derp:lab": "pass",
        "derp:edge": "fail",
        netcheck: "pass",
        pin: "fail",
        "wrong-pin": "fail",
        verify: "pass",
        "relay-ping": "pass",
        ipv6: "fail",
      });
      // IPv6 STUN dropped at the node: the client with IPv6 only gets no STUN answer, and says so; TLS over IPv6 still works.
      expect(check(report, "ipv6").detail).toMatch(
        /^no IPv6 STUN answer: netcheck on client-v6 says UDP is blocked and IPv6 does not \(the DERP nodes with IPv6 answer STUN on 3478\/udp\)/,
      );
      expect(check(report, "derp:lab").detail).toMatch(/TLS over IPv6 too \(lab-1\)/);
      expect(check(report, "pin").detail).toMatch(
        /^edge-1 at 10\.77\.0\.\d+:443 is refused under its pin sha256-raw:[0-9a-f]+…: .*cert hash does not match expected cert hash/,
      );
      expect(check(report, "derp:edge").detail).toMatch(/cert hash does not match/);
      expect(check(report, "wrong-pin").detail).toMatch(/^the client connected to edge-1's address under the lab region's pin sha256-raw:/);
    },
    WAIT_FOR_OTHER_LAB + 180_000,
  );

  it(
    "a device's key without its tags -> registered; a region outside the model -> netcheck; direct paths allowed -> relay-ping; verification off in the model -> verify skipped; a user outside the allowed lists -> oidc-login",
    async () => {
      const report = await brokenLab({ taggedDevice: true, verifyClients: false, oidc: true }, [
        "device-untagged",
        "foreign-region",
        "direct-allowed",
        "oidc-user-not-allowed",
      ]);
      expect(statuses(report)).toEqual({
        registered: "fail",
        "derp:lab": "pass",
        netcheck: "fail",
        pin: "skip",
        verify: "skip",
        "relay-ping": "fail",
        "oidc-login": "fail",
      });
      expect(check(report, "oidc-login").detail).toMatch(
        /^headscale did not register outsider@outside\.invalid \(allowedDomains example\.com; allowedGroups tailnet-users\): the login ended with HTTP 401 /,
      );
      expect(check(report, "registered").detail).toBe("printer: tag tag:printer missing (has none)");
      expect(check(report, "netcheck").detail).toMatch(/^regions outside the model: nyc /);
      expect(check(report, "relay-ping").detail).toMatch(/^client-2 answered directly \(via 10\.77\.0\.\d+:\d+ in [\d.]+ ms\), not through a relay/);
      expect(check(report, "verify").detail).toBe("the model turns derper's client verification off (derp.derper.verifyClients: false)");
    },
    WAIT_FOR_OTHER_LAB + 180_000,
  );
});

/** `cdktf-tailnet lab` in a process of its own (so it can be killed), on the small tailnet. */
function startCliLab(): { child: ChildProcess; output: () => string; up: Promise<string>; exited: Promise<number | null> } {
  const spec = join(work, "tailnet.yaml");
  writeFileSync(spec, stringify(smallLabSpec({ headscaleVersion: LAB_HEADSCALE })));
  const child = spawn(process.execPath, ["--import", "tsx", "cli/bin.ts", "lab", spec, "--clients", "1", "--wait", String(WAIT_FOR_OTHER_LAB / 1000)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const up = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const id = /lab ([0-9a-f]{4}): \d+ machines/.exec(out)?.[1];
      if (id && /lab up in/.test(out)) resolve(id);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => reject(new Error(`the lab exited before it was up:\n${out}`)));
  });
  up.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, up, exited };
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const statePath = (runId: string) => join(labStateDir(), `run-${runId}.json`);

/** The body of the SIGKILL test: kills the lab, then checks what it left, the refusal and `lab down`. */
async function killedLabLeftovers(lab: ReturnType<typeof startCliLab>, runId: string): Promise<void> {
  lab.child.kill("SIGKILL");
  await lab.exited;

  // What the killed lab left: its namespaces, its processes (still running), its run directory, its record.
  const state = JSON.parse(readFileSync(statePath(runId), "utf8")) as LabRunState;
  // A command the lab had started (a check's `tailscale status`, say) may outlive it by a
  // moment, and would count as a leftover too: wait until only the long-running programs remain.
  const recorded = state.processes.map((p) => p.pid).sort((a, b) => a - b);
  for (let i = 0; i < 100 && pidsInNamespaces(runId).join() !== recorded.join(); i++) await new Promise((r) => setTimeout(r, 200));
  expect(pidsInNamespaces(runId)).toEqual(recorded);
  expect(namespacesOf(runId).sort()).toEqual([`tl${runId}-client-1`, `tl${runId}-headscale`, `tl${runId}-lab-1`, `tl${runId}-switch`]);
  expect(state.processes.map((p) => p.name).sort()).toEqual(["derper lab-1", "headscale", "tailscaled client-1"]);
  const programs = new Map(state.processes.map((p) => [p.pid, readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0")[0]!]));
  for (const p of state.processes) expect(running(p.pid, programs.get(p.pid)!), p.name).toBe(true);
  expect(existsSync(state.runDir!)).toBe(true);

  // The next lab is refused, and told what to do.
  const next = await cli(["lab", join(work, "tailnet.yaml"), "--clients", "1"]);
  expect(next.code).toBe(2);
  expect(next.err).toMatch(
    new RegExp(
      `a lab that did not end cleanly \\(run ${runId} of tailnet lab-small, started \\d+ (?:s|min) ago by pid ${lab.child.pid}, which is gone: killed\\?\\) left 4 namespaces \\(.*\\), 3 processes \\(pid .*\\), its run directory ${state.runDir} behind`,
    ),
  );
  expect(next.err).toMatch(/Remove them first: `cdktf-tailnet lab down`/);

  // lab down: every process by pid, every namespace, the run directory, the record.
  const down = await cli(["lab", "down"]);
  expect(down.err).toBe("");
  expect(down.code).toBe(0);
  expect(down.out).toMatch(new RegExp(`lab down: run ${runId} \\(lab-small\\): 3 processes killed, 4 namespaces deleted, 1 run directory removed`));
  expect(namespacesOf(runId)).toEqual([]);
  for (const p of state.processes) expect(running(p.pid, programs.get(p.pid)!), p.name).toBe(false);
  expect(existsSync(state.runDir!)).toBe(false);
  expect(existsSync(statePath(runId))).toBe(false);
}

describe.skipIf(!!labSkipReason)(`the lab's life cycle and faults ${labSkipReason ? `(skipped: ${labSkipReason})` : ""}`, () => {
  it(
    "faults: a DERP node killed, headscale stopped and restarted, each measured; the disaster drills (a damaged backup refused, a restore after the database and noise key are deleted, 0.28 -> 0.29 rolled back with its backup), each measured; a second lab meanwhile is refused",
    async () => {
      const progress: string[] = [];
      let second: Promise<unknown> | undefined;
      // On 0.28.0, so the upgrade drill deploys 0.29 and rolls it back.
      const report: LabReport = await runLab({
        spec: smallLabSpec({ nodes: 2 }),
        clients: 2,
        faults: true,
        ...labPrograms("0.28.0"),
        upgradeTo: { version: LAB_HEADSCALE, headscale: labBinaries(LAB_HEADSCALE).headscale! },
        waitForOtherLab: WAIT_FOR_OTHER_LAB,
        onProgress: (line) => {
          progress.push(line);
          if (/^lab up in/.test(line))
            second = runLab({ spec: smallLabSpec(), clients: 1, ...labPrograms() }).then(
              () => "started",
              (e: unknown) => e,
            );
        },
      });
      console.log(`${progress.join("\n")}\n\n${formatLabTable(report)}`);
      expect(statuses(report)).toEqual({
        registered: "pass",
        "derp:lab": "pass",
        netcheck: "pass",
        pin: "skip",
        verify: "pass",
        "relay-ping": "pass",
        "mesh:lab": "pass",
        "fault:derp-failover": "pass",
        "fault:headscale-down": "pass",
        "fault:headscale-restart": "pass",
        "drill:corrupt-backup": "pass",
        "drill:restore": "pass",
        "drill:upgrade-rollback": "pass",
      });
      expectNothingLeft(report);

      // The drills: what was refused, what was lost, how long each recovery took.
      expect(check(report, "drill:corrupt-backup").detail).toMatch(
        /^refused: backup \d{8}T\d{6}Z-0\.28\.0 is damaged: db\.sqlite: FAILED; it was not restored, nothing was changed, headscale keeps running$/,
      );
      const restore = check(report, "drill:restore").data as { downtimeMs: number; recoveryMs: number; lost: { nodes: string[]; users: string[] } };
      expect(restore.lost).toEqual({ nodes: [], users: ["registered-after-backup"] });
      expect(check(report, "drill:restore").detail).toMatch(/each with its node id \(none registered again\).*relayed ping client-1 -> client-2 answers/);
      expect(restore.recoveryMs).toBeLessThan(60_000);
      const rollback = check(report, "drill:upgrade-rollback").data as { upgradeMs: number; rollbackMs: number };
      expect(check(report, "drill:upgrade-rollback").detail).toMatch(/^upgrade: the pre-upgrade backup first \(headscale 0\.28\.0's database and keys are in /);
      expect(check(report, "drill:upgrade-rollback").detail).toContain(`-0.28.0-before-${LAB_HEADSCALE}, kept for a rollback from`);
      console.log(
        `drill figures: restore ${restore.recoveryMs} ms until every node was online (headscale down ${restore.downtimeMs} ms); upgrade ${rollback.upgradeMs} ms, rollback ${rollback.rollbackMs} ms until every node was online`,
      );

      // The figures.
      const failover = check(report, "fault:derp-failover").data as {
        failoverMs: number;
        victim: string;
        survivor: string;
        homes: { survivorBefore: number; survivorAfter: number };
      };
      const down = check(report, "fault:headscale-down").data as { downMs: number; sent: number; answered: number };
      const restart = check(report, "fault:headscale-restart").data as { healthyMs: number; onlineMs: number };
      console.log(
        `fault figures: failover ${failover.failoverMs} ms (${failover.victim} killed, clients on ${failover.survivor}); headscale down ${down.downMs} ms with ${down.answered}/${down.sent} relayed pings answered; restart: healthy after ${restart.healthyMs} ms, every node online after ${restart.onlineMs} ms`,
      );
      expect(failover.homes.survivorAfter - failover.homes.survivorBefore).toBeGreaterThanOrEqual(2);
      expect(failover.failoverMs).toBeLessThan(30_000);
      expect(down.answered).toBe(down.sent);
      expect(down.downMs).toBeGreaterThanOrEqual(5_000);
      expect(restart.onlineMs).toBeLessThan(60_000);

      // The second lab, started while this one ran, was refused before it made anything.
      const refused = await second;
      expect(refused).toBeInstanceOf(LabBusy);
      expect((refused as LabBusy).reason).toBe("running");
      expect((refused as LabBusy).message).toMatch(
        new RegExp(`^another lab is running on this machine: run ${report.runId} of tailnet lab-small, started \\d+ (?:s|min) ago by pid ${process.pid} `),
      );
      expect((refused as LabBusy).message).toMatch(
        /Only one lab runs at a time: wait for it to end, stop it with Ctrl-C where it runs, or run `cdktf-tailnet lab down`/,
      );
    },
    WAIT_FOR_OTHER_LAB + 240_000,
  );

  it(
    "a lab killed with SIGKILL leaves its namespaces and processes; the next lab is refused; `lab down` removes everything",
    async () => {
      const lab = startCliLab();
      const runId = await lab.up;
      try {
        await killedLabLeftovers(lab, runId);
      } finally {
        // A failed assertion must not leave the killed lab to the next tests (they would wait for it).
        if (namespacesOf(runId).length > 0) await cli(["lab", "down"]);
      }
    },
    WAIT_FOR_OTHER_LAB + 120_000,
  );

  it(
    "`lab down` stops a running lab, which removes everything itself",
    async () => {
      const lab = startCliLab();
      const runId = await lab.up;
      const down = await cli(["lab", "down"]);
      expect(down.code).toBe(0);
      expect(down.out).toMatch(new RegExp(`lab down: run ${runId} \\(lab-small\\): lab process ${lab.child.pid} stopped and cleaned up after itself`));
      expect(await lab.exited).toBe(130);
      expect(lab.output()).toMatch(/lab interrupted: /);
      expect(namespacesOf(runId)).toEqual([]);
      expect(existsSync(statePath(runId))).toBe(false);
    },
    WAIT_FOR_OTHER_LAB + 120_000,
  );

  it(
    "Ctrl-C stops a running lab, which removes everything",
    async () => {
      const lab = startCliLab();
      const runId = await lab.up;
      const state = JSON.parse(readFileSync(statePath(runId), "utf8")) as LabRunState;
      lab.child.kill("SIGINT");
      expect(await lab.exited).toBe(130);
      expect(lab.output()).toMatch(/interrupted: stopping every lab process and deleting the namespaces/);
      expect(lab.output()).toMatch(/lab interrupted: /);
      expect(namespacesOf(runId)).toEqual([]);
      for (const p of state.processes) expect(isRunning(p), p.name).toBe(false);
      expect(existsSync(state.runDir!)).toBe(false);
      expect(existsSync(statePath(runId))).toBe(false);
    },
    WAIT_FOR_OTHER_LAB + 120_000,
  );
});
