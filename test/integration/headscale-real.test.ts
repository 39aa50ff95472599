/**
 * The real headscale on what the kit renders.
 *
 * 1. Every built version starts on the rendered home-lab example: `configtest` passes, `serve`
 *    answers /health, and /debug/derp lists exactly the regions and nodes derp.json describes.
 * 2. "Refused by both": for each startup rule of headscale's that the validator enforces, the
 *    validator refuses the spec (exact issue path, message naming the problem) AND the real
 *    headscale refuses the equivalent config (the rendered config object with just that change,
 *    serialised as the renderer does), in the phase where headscale checks it: `configtest` for
 *    what `LoadServerConfig` checks, `serve` for the DERP map (configtest never loads it).
 * 2b. "Refused by the validator, broken in headscale": node prefixes that leave no address start
 *    fine, but headscale cannot register a single node (a prefix one step larger can).
 * 3. headscale's quirks the kit works around: the server_url suffix check that a port defeats, and
 *    derp.yaml's spelling (quoted ints are fatal; Tailscale's JSON key names are silently dropped).
 *
 * The rules are exercised on the newest built version, and additionally on the versions where a
 * rule is version-specific (the ephemeral timeout's key, trusted_proxies).
 */
import { execa } from "execa";
import { readFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findHeadscaleVersion, validate, type TailnetSpec } from "../../model/index.js";
import { prepareTailnet } from "../../secrets/index.js";
import { headscaleConfigObject } from "../../render/index.js";
import {
  cleanupSandboxes,
  headscaleConfigtest,
  httpGet,
  prepareHeadscale,
  runningHeadscaleCount,
  serveExpectingRefusal,
  startHeadscale,
  stopAllHeadscale,
  type ConfigObject,
  type HeadscaleSandbox,
  type PrepareOptions,
} from "../support/headscale-process.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";
import { releaseOfVersionAnswer } from "../../cli/doctor-versions.js";

// The spec is parsed YAML, mutated freely by the cases below.
type LooseSpec = any;

const EXAMPLE: LooseSpec = parse(readFileSync(new URL("../../examples/home-lab/tailnet.yaml", import.meta.url), "utf8"));

const VERSIONS: readonly string[] = upstreamVersions.headscale;
const NEWEST = VERSIONS[VERSIONS.length - 1]!;

const bare = (v: string) => v.replace(/^v/, "");
const featuresOf = (v: string) => findHeadscaleVersion(v)!.minor.features;

/**
 * The example targeting `version`, optionally changed. A loopback test cannot obtain a Let's
 * Encrypt certificate, so TLS is terminated in front of headscale (tls.mode proxy) here; the
 * example's own Let's Encrypt configuration is checked with configtest below.
 */
function exampleSpec(version: string, change?: (spec: LooseSpec) => void): TailnetSpec {
  const spec = structuredClone(EXAMPLE);
  spec.headscale.version = bare(version);
  spec.headscale.tls = { mode: "proxy" };
  change?.(spec);
  return spec as TailnetSpec;
}

/** A sandbox with the example rendered for `version`, then changed as `options` says. */
function sandboxFor(version: string, options: PrepareOptions = {}): Promise<HeadscaleSandbox> {
  return prepareHeadscale(prepareTailnet(exampleSpec(version)), options);
}

/**
 * Sets `path` (dotted) in a config object. Every parent must exist, and the key itself too unless
 * `add` is set, so a misspelt path fails loudly instead of changing nothing.
 */
function setIn(config: ConfigObject, path: string, value: unknown, add = false): void {
  const keys = path.split(".");
  let at = config as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null) throw new Error(`config has no ${key} on the way to ${path}`);
    at = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (!add && !(last in at)) throw new Error(`config has no ${path} to change`);
  at[last] = value;
}

function expectIssue(spec: TailnetSpec, path: string, message: RegExp): void {
  const result = validate(spec);
  expect(result.ok, "validate() must refuse the spec").toBe(false);
  const issue = result.issues.find((i) => i.path === path);
  expect(issue, `an issue at ${path}; got ${JSON.stringify(result.issues)}`).toBeDefined();
  expect(issue!.message).toMatch(message);
  expect(issue!.fix.length).toBeGreaterThan(0);
}

interface DebugDerpNode {
  name: string;
  hostname: string;
  derp_port: number;
  stun_port?: number;
}
interface DebugDerpRegion {
  region_id: number;
  region_name: string;
  nodes: DebugDerpNode[];
}
interface DebugDerp {
  configured: boolean;
  total_regions: number;
  regions: Record<string, DebugDerpRegion>;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** /debug/derp as headscale would show derp.json's map (nodes sorted: headscale shuffles them). */
function debugViewOfDerpJson(derpJson: string): Record<string, DebugDerpRegion> {
  const map = JSON.parse(derpJson) as {
    Regions: Record<string, { RegionID: number; RegionName: string; Nodes: { Name: string; HostName: string; DERPPort: number; STUNPort: number }[] }>;
  };
  return Object.fromEntries(
    Object.entries(map.Regions).map(([id, r]) => [
      id,
      {
        region_id: r.RegionID,
        region_name: r.RegionName,
        // stun_port is omitempty in headscale's debug JSON.
        nodes: r.Nodes.map((n) => ({ name: n.Name, hostname: n.HostName, derp_port: n.DERPPort, ...(n.STUNPort !== 0 && { stun_port: n.STUNPort }) })).sort(
          byName,
        ),
      },
    ]),
  );
}

/** GET /debug/derp as JSON from a running headscale (polling briefly: the metrics listener may lag /health). */
async function debugDerp(sandbox: HeadscaleSandbox): Promise<DebugDerp> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const res = await httpGet(`${sandbox.metricsBase}/debug/derp`, { Accept: "application/json" });
    if (res?.status === 200) {
      const body = JSON.parse(res.body) as DebugDerp;
      for (const region of Object.values(body.regions ?? {})) region.nodes.sort(byName);
      return body;
    }
    if (Date.now() > deadline) throw new Error(`/debug/derp did not answer: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function derpJsonOf(sandbox: HeadscaleSandbox): string {
  const file = sandbox.rendered.find((f) => f.path === "derp.json");
  expect(file, "renderTailnet() must produce derp.json").toBeDefined();
  return file!.content;
}

const skipNote = upstreamSkipReason ? ` (skipped: ${upstreamSkipReason})` : "";

describe.skipIf(!!skipReason("headscale-real", upstreamSkipReason))(`real headscale on the rendered config${skipNote}`, () => {
  afterEach(async () => {
    await stopAllHeadscale();
    expect(runningHeadscaleCount()).toBe(0);
    cleanupSandboxes();
  });
  afterAll(async () => {
    await stopAllHeadscale();
    cleanupSandboxes();
  });

  it("the example spec itself is valid for every built version (the baseline every case below changes)", () => {
    expect(VERSIONS.length).toBeGreaterThan(0);
    for (const v of VERSIONS) expect(validate(exampleSpec(v)).issues).toEqual([]);
  });

  describe.each(VERSIONS.map((v) => [v]))("headscale %s", (version) => {
    it("passes configtest, serves /health, and loads exactly derp.json's regions and nodes", async () => {
      const bin = upstreamBinary("headscale", version);
      const sandbox = await sandboxFor(version);
      expect(sandbox.configYaml).toContain(`headscale ${bare(version)}`);
      expect((sandbox.configObject.derp as { paths: string[] }).paths).toEqual([sandbox.derpYamlPath]);
      expect(sandbox.derpYaml).toBeDefined();

      const check = await headscaleConfigtest(bin, sandbox);
      expect(check.exitCode, check.output).toBe(0);

      const hs = await startHeadscale(bin, sandbox);
      expect(hs.ready, `headscale serve did not become healthy:\n${hs.output()}`).toBe(true);
      const health = await httpGet(`${sandbox.serverBase}/health`);
      expect(health?.status).toBe(200);
      expect(JSON.parse(health!.body)).toMatchObject({ status: "pass" });
      // The release doctor reads: GET /version on the main listener names it.
      const answer = await httpGet(`${sandbox.serverBase}/version`);
      expect(answer?.status).toBe(200);
      expect(releaseOfVersionAnswer(answer!.body)).toBe(bare(version));

      const expected = debugViewOfDerpJson(derpJsonOf(sandbox));
      expect(Object.keys(expected)).toHaveLength(EXAMPLE.derp.regions.length);
      const actual = await debugDerp(sandbox);
      expect(actual.configured).toBe(true);
      expect(actual.total_regions).toBe(Object.keys(expected).length);
      expect(actual.regions).toEqual(expected);

      await hs.stop();
      expect(hs.exit, "headscale must have exited after stop()").toBeDefined();
    });

    it("accepts the example's own Let's Encrypt configuration in configtest", async () => {
      const bin = upstreamBinary("headscale", version);
      const spec: LooseSpec = structuredClone(EXAMPLE);
      spec.headscale.version = bare(version);
      const sandbox = await prepareHeadscale(prepareTailnet(spec));
      expect(sandbox.configObject.tls_letsencrypt_hostname).toBe("hs.example.com");
      const check = await headscaleConfigtest(bin, sandbox);
      expect(check.exitCode, check.output).toBe(0);
    });
  });

  describe("refused by both the validator and the real headscale", () => {
    interface RuleCase {
      name: string;
      /** The spec change validate() must refuse, where, and with what message. */
      spec: (spec: LooseSpec) => void;
      issuePath: string;
      issueMessage: RegExp;
      /** The same change in headscale's config. */
      config: (config: ConfigObject) => void;
      /** Where headscale checks the rule: configtest (LoadServerConfig) or only serve. */
      phase: "configtest" | "serve";
      /** A recognisable fragment of headscale's error. */
      headscaleError: RegExp;
    }

    const cases: RuleCase[] = [
      {
        name: "base_domain equal to the server URL's host",
        spec: (s) => (s.headscale.dns.baseDomain = "hs.example.com"),
        issuePath: "headscale.dns.baseDomain",
        issueMessage: /equals the server URL's host/,
        config: (c) => setIn(c, "dns.base_domain", "hs.example.com"),
        phase: "configtest",
        headscaleError: /server_url cannot use the same domain as base_domain/,
      },
      {
        name: "base_domain a parent of the server URL's host",
        spec: (s) => (s.headscale.dns.baseDomain = "example.com"),
        issuePath: "headscale.dns.baseDomain",
        issueMessage: /is a parent of the server URL's host "hs\.example\.com"/,
        config: (c) => setIn(c, "dns.base_domain", "example.com"),
        phase: "configtest",
        headscaleError: /server_url cannot be part of base_domain/,
      },
      {
        name: "MagicDNS on with an empty base_domain (log.Fatal)",
        spec: (s) => delete s.headscale.dns.baseDomain,
        issuePath: "headscale.dns.baseDomain",
        issueMessage: /is required while MagicDNS is on/,
        config: (c) => {
          setIn(c, "dns.magic_dns", true);
          setIn(c, "dns.base_domain", "");
        },
        phase: "configtest",
        headscaleError: /dns\.base_domain must be set when using MagicDNS/,
      },
      {
        name: "override_local_dns on with no global nameservers",
        spec: (s) => (s.headscale.dns.nameservers.global = []),
        issuePath: "headscale.dns.nameservers.global",
        issueMessage: /is empty while overrideLocalDns is on/,
        config: (c) => {
          setIn(c, "dns.override_local_dns", true);
          setIn(c, "dns.nameservers.global", []);
        },
        phase: "configtest",
        headscaleError: /dns\.nameservers\.global must be set when dns\.override_local_dns is true/,
      },
      {
        name: "server_url without an http(s) scheme",
        spec: (s) => (s.headscale.serverUrl = "hs.example.com"),
        issuePath: "headscale.serverUrl",
        issueMessage: /"hs\.example\.com" is not an http or https URL/,
        config: (c) => setIn(c, "server_url", "hs.example.com"),
        phase: "configtest",
        headscaleError: /server_url must start with https:\/\/ or http:\/\//,
      },
      {
        name: "dns.extra_records together with dns.extra_records_path (log.Fatal)",
        spec: (s) => {
          s.headscale.dns.extraRecords = [{ name: "grafana.tail.example.net", type: "A", value: "100.64.0.5" }];
          s.headscale.dns.extraRecordsPath = "/etc/headscale/extra-records.json";
        },
        issuePath: "headscale.dns.extraRecordsPath",
        issueMessage: /is set together with extraRecords/,
        config: (c) => {
          setIn(c, "dns.extra_records", [{ name: "grafana.tail.example.net", type: "A", value: "100.64.0.5" }]);
          setIn(c, "dns.extra_records_path", "/etc/headscale/extra-records.json", true);
        },
        phase: "configtest",
        headscaleError: /dns\.extra_records and dns\.extra_records_path are mutually exclusive/,
      },
      {
        name: "no IP prefix at all",
        spec: (s) => (s.headscale.prefixes = { v4: null, v6: null }),
        issuePath: "headscale.prefixes",
        issueMessage: /sets neither v4 nor v6/,
        config: (c) => setIn(c, "prefixes", { allocation: "sequential" }),
        phase: "configtest",
        headscaleError: /no IPv4 or IPv6 prefix configured/,
      },
      {
        name: "tls_letsencrypt_hostname together with tls_cert_path",
        // The spec's TLS union cannot say both: the letsencrypt form has no certPath, so the
        // structural check refuses the key (naming the form it belongs to).
        spec: (s) => (s.headscale.tls = { mode: "letsencrypt", certPath: "/etc/headscale/tls/cert.pem", keyPath: "/etc/headscale/tls/key.pem" }),
        issuePath: "headscale.tls.certPath",
        issueMessage: /belongs to mode "files", not mode "letsencrypt"|unknown key "certPath"/,
        config: (c) => {
          setIn(c, "tls_letsencrypt_hostname", "hs.example.com");
          setIn(c, "tls_cert_path", "/etc/headscale/tls/cert.pem");
          setIn(c, "tls_key_path", "/etc/headscale/tls/key.pem");
        },
        phase: "configtest",
        headscaleError: /set either tls_letsencrypt_hostname or tls_cert_path\/tls_key_path, not both/,
      },
      {
        name: "an empty DERP map (no region, no embedded DERP, no URL)",
        spec: (s) => (s.derp.regions = []),
        issuePath: "derp.regions",
        issueMessage: /no DERP region is left.*empty DERP map/,
        config: (c) => {
          setIn(c, "derp.paths", []);
          setIn(c, "derp.urls", []);
          setIn(c, "derp.server", { enabled: false });
        },
        phase: "serve",
        headscaleError: /initial DERPMap is empty/,
      },
    ];

    it.each(cases.map((c) => [c.name, c] as const))(`%s (headscale ${NEWEST})`, async (_name, rule) => {
      expectIssue(exampleSpec(NEWEST, rule.spec), rule.issuePath, rule.issueMessage);

      const bin = upstreamBinary("headscale", NEWEST);
      const sandbox = await sandboxFor(NEWEST, { config: rule.config });
      expect(sandbox.configObject, "the case must change the rendered config").not.toEqual(headscaleConfigObject(sandbox.tailnet));

      const check = await headscaleConfigtest(bin, sandbox);
      expect(check.timedOut).toBe(false);
      if (rule.phase === "configtest") {
        expect(check.exitCode, check.output).toBeGreaterThan(0);
        expect(check.output).toMatch(rule.headscaleError);
      } else {
        // configtest does not load the DERP map: it passes, and only serve refuses.
        expect(check.exitCode, check.output).toBe(0);
        const served = await serveExpectingRefusal(bin, sandbox);
        expect(served.ready, served.output).toBe(false);
        expect(served.exitCode, served.output).toBeGreaterThan(0);
        expect(served.output).toMatch(rule.headscaleError);
      }
    });

    it.each(VERSIONS.map((v) => [v]))("an ephemeral inactivity timeout of 65s, in the key headscale %s reads", async (version) => {
      expectIssue(
        exampleSpec(version, (s) => (s.headscale.ephemeralInactivityTimeout = "65s")),
        "headscale.ephemeralInactivityTimeout",
        /"65s" is 65s or less/,
      );

      const bin = upstreamBinary("headscale", version);
      const newKey = featuresOf(version).nodeSection;
      // 0.29 reads node.ephemeral.inactivity_timeout; 0.27 and 0.28 ephemeral_node_inactivity_timeout.
      const key = newKey ? "node.ephemeral.inactivity_timeout" : "ephemeral_node_inactivity_timeout";
      const sandbox = await sandboxFor(version, { config: (c) => setIn(c, key, "65s") });
      const check = await headscaleConfigtest(bin, sandbox);
      expect(check.exitCode, check.output).toBeGreaterThan(0);
      expect(check.output).toMatch(new RegExp(`${key.replace(/\./g, "\\.")} \\((65s|1m5s)\\) is set too low`));

      if (!newKey) {
        // The other version's spelling is not read at all: the renderer must pick the key by version.
        const other = await sandboxFor(version, { config: (c) => setIn(c, "node", { ephemeral: { inactivity_timeout: "65s" } }, true) });
        const ignored = await headscaleConfigtest(bin, other);
        expect(ignored.exitCode, ignored.output).toBe(0);
      }
    });

    const withTrustedProxies = VERSIONS.filter((v) => featuresOf(v).trustedProxies);

    it("at least one built version has trusted_proxies", () => {
      expect(withTrustedProxies.length).toBeGreaterThan(0);
    });

    it.each(withTrustedProxies.map((v) => [v]))("trusted_proxies containing 0.0.0.0/0 or ::/0 on headscale %s", async (version) => {
      const bin = upstreamBinary("headscale", version);
      for (const [i, cidr] of [
        [0, "0.0.0.0/0"],
        [1, "::/0"],
      ] as const) {
        const proxies = i === 0 ? [cidr] : ["10.0.0.5/32", cidr];
        expectIssue(
          exampleSpec(version, (s) => (s.headscale.trustedProxies = proxies)),
          `headscale.trustedProxies[${i}]`,
          /trusts every address \(headscale refuses \/0\)/,
        );
        const sandbox = await sandboxFor(version, { config: (c) => setIn(c, "trusted_proxies", proxies) });
        const check = await headscaleConfigtest(bin, sandbox);
        expect(check.exitCode, check.output).toBeGreaterThan(0);
        expect(check.output).toContain(`trusted_proxies[${i}] "${cidr}"`);
        expect(check.output).toMatch(/0\.0\.0\.0\/0 and ::\/0 are not allowed/);
      }
    });
  });

  describe(`refused by the validator, and headscale ${NEWEST} starts but registers no node`, () => {
    /** Registers a node the way `headscale debug create-node` + `auth register` do (0.29's CLI); the command's result. */
    async function registerDebugNode(bin: string, sandbox: HeadscaleSandbox): Promise<{ exitCode: number | undefined; output: string }> {
      const run = (args: string[]) =>
        execa(bin, ["-c", sandbox.configPath, ...args], { reject: false, all: true, extendEnv: false, env: { NO_COLOR: "1" }, timeout: 30_000 });
      const user = await run(["users", "create", "prefix-probe"]);
      expect(user.exitCode, user.all).toBe(0);
      const authId = `hskey-authreq-${"a".repeat(24)}`;
      const created = await run(["debug", "create-node", "--name", "probe", "--user", "prefix-probe", "--key", authId]);
      expect(created.exitCode, created.all).toBe(0);
      const registered = await run(["auth", "register", "--auth-id", authId, "--user", "prefix-probe"]);
      return { exitCode: registered.exitCode, output: registered.all ?? "" };
    }

    it.each([
      ["an IPv4 prefix of /31", { v4: "100.64.0.0/31" }, { v4: "100.64.0.0/30" }, "headscale.prefixes.v4", /allocating IPv4 address: failed to allocate IP/],
      [
        "an IPv6-only prefix of /127",
        { v4: null, v6: "fd7a:115c:a1e0::/127" },
        { v4: null, v6: "fd7a:115c:a1e0::/126" },
        "headscale.prefixes.v6",
        /allocating IPv6 address: failed to allocate IP/,
      ],
    ] as const)("%s", async (_name, tooSmall, roomy, issuePath, headscaleError) => {
      expectIssue(
        exampleSpec(NEWEST, (s) => (s.headscale.prefixes = { ...tooSmall })),
        issuePath,
        /leaves no address for nodes/,
      );
      expect(validate(exampleSpec(NEWEST, (s) => (s.headscale.prefixes = { ...roomy }))).issues).toEqual([]);

      const bin = upstreamBinary("headscale", NEWEST);
      for (const [prefixes, registers] of [
        [tooSmall, false],
        [roomy, true],
      ] as const) {
        const inConfig = Object.fromEntries(Object.entries(prefixes).filter(([, v]) => v !== null));
        const sandbox = await sandboxFor(NEWEST, { config: (c) => setIn(c, "prefixes", { ...inConfig, allocation: "sequential" }) });
        const hs = await startHeadscale(bin, sandbox);
        expect(hs.ready, `headscale must start with ${JSON.stringify(prefixes)}:\n${hs.output()}`).toBe(true);
        const result = await registerDebugNode(bin, sandbox);
        if (registers) {
          expect(result.exitCode, result.output).toBe(0);
        } else {
          expect(result.exitCode, result.output).toBeGreaterThan(0);
          expect(result.output).toMatch(headscaleError);
        }
        await hs.stop();
      }
    });
  });

  describe(`headscale ${NEWEST} quirks the kit works around`, () => {
    it("a port in server_url defeats headscale's suffix check, while the validator still refuses", async () => {
      const spec = exampleSpec(NEWEST, (s) => {
        s.headscale.serverUrl = "https://hs.example.com:443";
        s.headscale.dns.baseDomain = "example.com";
      });
      expectIssue(spec, "headscale.dns.baseDomain", /is a parent of the server URL's host "hs\.example\.com" \(whatever the port\)/);

      const bin = upstreamBinary("headscale", NEWEST);
      const withPort = await sandboxFor(NEWEST, {
        config: (c) => {
          setIn(c, "server_url", "https://hs.example.com:443");
          setIn(c, "dns.base_domain", "example.com");
        },
      });
      expect(withPort.configYaml).toContain('server_url: "https://hs.example.com:443"');
      const accepted = await headscaleConfigtest(bin, withPort);
      expect(accepted.exitCode, accepted.output).toBe(0);
      expect(accepted.output).not.toMatch(/server_url cannot be part of base_domain/);
      const hs = await startHeadscale(bin, withPort);
      expect(hs.ready, hs.output()).toBe(true);
      await hs.stop();

      // The same pair without the port is refused: the port alone is what slips past.
      const withoutPort = await sandboxFor(NEWEST, { config: (c) => setIn(c, "dns.base_domain", "example.com") });
      expect(withoutPort.configObject.server_url).toBe("https://hs.example.com");
      const refused = await headscaleConfigtest(bin, withoutPort);
      expect(refused.exitCode).toBeGreaterThan(0);
      expect(refused.output).toMatch(/server_url cannot be part of base_domain/);
    });

    describe("derp.yaml spelling", () => {
      /** The example's rendered derp.yaml for the newest version. */
      async function renderedDerpYaml(): Promise<string> {
        const sandbox = await sandboxFor(NEWEST);
        expect(sandbox.derpYaml).toBeDefined();
        return sandbox.derpYaml!;
      }

      it('a quoted region key ("901":) is fatal at serve; configtest does not notice', async () => {
        const ours = await renderedDerpYaml();
        expect(ours).toMatch(/^ {2}901:$/m);
        const quoted = ours.replace(/^ {2}901:$/m, '  "901":');
        expect(quoted).toMatch(/^ {2}"901":$/m);

        const bin = upstreamBinary("headscale", NEWEST);
        const sandbox = await sandboxFor(NEWEST, { derpYaml: quoted });
        expect((await headscaleConfigtest(bin, sandbox)).exitCode).toBe(0);
        const served = await serveExpectingRefusal(bin, sandbox);
        expect(served.ready, served.output).toBe(false);
        expect(served.exitCode, served.output).toBeGreaterThan(0);
        expect(served.output).toMatch(/DERPMap/);
        expect(served.output).toMatch(/cannot unmarshal !!str `901` into int/);
      });

      it('a quoted stunport ("3478") is fatal at serve', async () => {
        const ours = await renderedDerpYaml();
        expect(ours).toMatch(/stunport: 3478$/m);
        const quoted = ours.replace(/stunport: 3478$/m, 'stunport: "3478"');
        expect(quoted).toContain('stunport: "3478"');

        const bin = upstreamBinary("headscale", NEWEST);
        const sandbox = await sandboxFor(NEWEST, { derpYaml: quoted });
        const served = await serveExpectingRefusal(bin, sandbox);
        expect(served.ready, served.output).toBe(false);
        expect(served.exitCode, served.output).toBeGreaterThan(0);
        expect(served.output).toMatch(/cannot unmarshal !!str `3478` into int/);
      });

      it("Tailscale's JSON spelling (HostName, DERPPort) is silently dropped: headscale starts with empty host names and port 0", async () => {
        const ours = await renderedDerpYaml();
        const nodeCount = (EXAMPLE.derp.regions as { nodes: unknown[] }[]).reduce((n, r) => n + r.nodes.length, 0);
        expect(ours.match(/^\s+hostname: /gm)).toHaveLength(nodeCount);
        expect(ours.match(/^\s+derpport: /gm)).toHaveLength(nodeCount);
        const jsonSpelling = ours.replace(/^(\s+)hostname: /gm, "$1HostName: ").replace(/^(\s+)derpport: /gm, "$1DERPPort: ");
        expect(jsonSpelling.match(/^\s+HostName: /gm)).toHaveLength(nodeCount);

        const bin = upstreamBinary("headscale", NEWEST);
        const sandbox = await sandboxFor(NEWEST, { derpYaml: jsonSpelling });
        const hs = await startHeadscale(bin, sandbox);
        expect(hs.ready, `headscale should start without a word about the unknown keys:\n${hs.output()}`).toBe(true);
        expect(hs.output()).not.toMatch(/HostName|DERPPort/);

        const intended = debugViewOfDerpJson(derpJsonOf(sandbox));
        const dropped = Object.fromEntries(
          Object.entries(intended).map(([id, r]) => [id, { ...r, nodes: r.nodes.map((n) => ({ ...n, hostname: "", derp_port: 0 })) }]),
        );
        const actual = await debugDerp(sandbox);
        expect(actual.total_regions).toBe(Object.keys(intended).length);
        expect(actual.regions).toEqual(dropped);
        // Names, region ids and STUN ports (still lower-case) survived; only the mis-spelt keys are lost.
        expect(actual.regions).not.toEqual(intended);
      });
    });
  });
});
