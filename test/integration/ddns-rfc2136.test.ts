/**
 * The rendered DDNS updater with the RFC 2136 provider, against a real BIND 9 on 127.0.0.1 that
 * accepts updates signed with one TSIG key: the record follows the address, nothing at all is sent
 * to the nameserver while the address stays the same, a wrong key is reported (exit 1, BIND's
 * refusal in the message) and changes nothing, and the secret never appears in the output.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTailnet, type TailnetSpec } from "../../model/index.js";
import { renderDdnsFiles } from "../../render/index.js";
import { bindSkipReason, lookup, startBind9, tsigSecret, type Bind9 } from "../support/bind9.js";
import { envValue, runScript, setEnv, startAddressStub, writeRendered } from "../support/host-scripts.js";
import { minimalSpec } from "../support/specs.js";
import { skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";

const ZONE = "example.test";
const NAME = `derp-home.${ZONE}`;
const KEY = { name: "home-ddns", algorithm: "hmac-sha256", secret: tsigSecret() };

function spec(port: number, secretFile: string, ipUrl: string): TailnetSpec {
  const s = minimalSpec();
  s.derp!.regions![0]!.nodes = [{ name: "home-1", host: "home", hostname: NAME, derpPort: 8443, certificate: { mode: "manual" } }];
  s.hosts = [
    {
      name: "home",
      dynamicIp: true,
      ddns: {
        provider: {
          type: "rfc2136",
          nameserver: "127.0.0.1",
          port,
          zone: ZONE,
          tsigKeyName: KEY.name,
          tsigAlgorithm: "hmac-sha256",
          tsigSecretFile: secretFile,
        },
        ipv4: { url: ipUrl },
        interval: "1m",
      },
    },
  ];
  return s;
}

describe.skipIf(!!skipReason("ddns-rfc2136", bindSkipReason))(`the DDNS updater against a real BIND 9 (RFC 2136, TSIG) ${bindSkipReason ?? ""}`, () => {
  let bind: Bind9;
  let stub: Awaited<ReturnType<typeof startAddressStub>>;
  const dir = suiteScratchDir("cdktf-tailnet-ddns-rfc2136-");
  const secretFile = join(dir, "tsig.secret");
  let script = "";
  let config = "";
  const outputs: string[] = [];
  const run = async () => {
    const r = await runScript(script, [config]);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    bind = await startBind9({ zone: ZONE, records: ["derp-home IN A 192.0.2.1"], keys: [KEY] });
    stub = await startAddressStub("192.0.2.7");
    writeFileSync(secretFile, `${KEY.secret}\n`, { mode: 0o600 });
    const tailnet = loadTailnet(spec(bind.port, secretFile, stub.url));
    const files = renderDdnsFiles(tailnet);
    expect(files.map((f) => f.path).sort()).toEqual(
      [
        "hosts/home/ddns/cdktf-tailnet-ddns.service",
        "hosts/home/ddns/cdktf-tailnet-ddns.timer",
        "hosts/home/ddns/ddns-update.sh",
        "hosts/home/ddns/ddns.env",
      ].sort(),
    );
    const env = files.find((f) => f.path.endsWith("ddns.env"))!.content;
    expect(envValue(env, "DDNS_STATE_DIR")).toBe("/var/lib/cdktf-tailnet-ddns");
    // Only the state directory moves into the temp dir; everything else is what the spec says.
    const paths = writeRendered(files, dir, (f) => (f.path.endsWith("ddns.env") ? setEnv(f.content, { DDNS_STATE_DIR: join(dir, "state") }) : f.content));
    script = paths["ddns-update.sh"]!;
    config = paths["ddns.env"]!;
  }, 30_000);

  afterAll(async () => {
    await bind?.stop();
    await stub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("updates the record when the address differs from the nameserver's", async () => {
    const r = await run();
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`ddns: ${NAME} A 192.0.2.7: updated (was 192.0.2.1)`);
    expect(await lookup(bind, NAME, "A")).toEqual(["192.0.2.7"]);
    expect(bind.updateLog()).toContain(`/key home-ddns: updating zone '${ZONE}/IN': adding an RR at '${NAME}' A 192.0.2.7`);
  });

  it("sends nothing at all while the address stays the same", async () => {
    const updates = bind.updateLog();
    const queries = bind.queryLog();
    const r = await run();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`ddns: ${NAME} A 192.0.2.7: unchanged`);
    expect(bind.updateLog()).toBe(updates);
    expect(bind.queryLog()).toBe(queries);
    expect(await lookup(bind, NAME, "A")).toEqual(["192.0.2.7"]);
  });

  it("follows a new address", async () => {
    stub.set("192.0.2.8");
    const r = await run();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`ddns: ${NAME} A 192.0.2.8: updated (was 192.0.2.7)`);
    expect(await lookup(bind, NAME, "A")).toEqual(["192.0.2.8"]);
  });

  it("reports a wrong TSIG key, changes nothing, and retries on the next run", async () => {
    stub.set("192.0.2.9");
    writeFileSync(secretFile, `${tsigSecret()}\n`);
    const wrong = await run();
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(
      new RegExp(
        `ddns: error: rfc2136: updating ${NAME.replace(/\./g, "\\.")} A at 127\\.0\\.0\\.1 port ${bind.port} with key home-ddns failed: .*update failed: NOTAUTH\\(BADSIG\\)`,
      ),
    );
    expect(await lookup(bind, NAME, "A")).toEqual(["192.0.2.8"]);
    expect(bind.updateLog()).toContain("request has invalid signature: TSIG home-ddns: tsig verify failure (BADSIG)");

    writeFileSync(secretFile, `${KEY.secret}\n`);
    const right = await run();
    expect(right.exitCode).toBe(0);
    expect(right.stdout).toContain(`ddns: ${NAME} A 192.0.2.9: updated (was 192.0.2.8)`);
    expect(await lookup(bind, NAME, "A")).toEqual(["192.0.2.9"]);
  });

  it("reports an address source that fails, and sends nothing", async () => {
    stub.set("not-an-address");
    const queries = bind.queryLog();
    const r = await run();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`ddns: error: not-an-address from ${stub.url} is not an IPv4 address`);
    expect(bind.queryLog()).toBe(queries);
    stub.set("192.0.2.9");
  });

  it("never prints the TSIG secret, and no rendered file holds it", () => {
    for (const out of outputs) expect(out).not.toContain(KEY.secret);
    expect(readFileSync(config, "utf8")).not.toContain(KEY.secret);
    expect(readFileSync(script, "utf8")).not.toContain(KEY.secret);
  });
});
