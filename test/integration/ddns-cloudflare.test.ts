/**
 * The rendered DDNS updater with the Cloudflare provider, against a local stand-in for Cloudflare's
 * API that records every request: the documented endpoints, methods, bodies and the
 * `Authorization: Bearer <token>` header; no request at all while the address is unchanged; API
 * errors surfaced with Cloudflare's own messages (exit 1); a missing record created; the zone id
 * looked up by name when the spec gives only the zone's name. The token is never printed.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUDFLARE_API_URL, loadTailnet, type TailnetSpec } from "../../model/index.js";
import { renderDdnsFiles } from "../../render/index.js";
import { startCloudflareStub, type CloudflareStub } from "../support/cloudflare-stub.js";
import { envValue, runScript, setEnv, startAddressStub, writeRendered } from "../support/host-scripts.js";
import { minimalSpec } from "../support/specs.js";
import { missingTool, skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";

const TOKEN = "Xq9-cdktf-tailnet-test-token_0123456789abcdef";
const ZONE = { id: "023e105f4ecef8ad9ca31a8372d0c353", name: "example.com" };
const NAME = "derp-home.example.com";
const missing = skipReason("ddns-cloudflare", missingTool("curl", "jq"));

function spec(tokenFile: string, ipUrl: string, withZoneId: boolean): TailnetSpec {
  const s = minimalSpec();
  s.derp!.regions![0]!.nodes = [{ name: "home-1", host: "home", hostname: NAME, derpPort: 8443, certificate: { mode: "manual" } }];
  s.hosts = [{ name: "home", dynamicIp: true, ddns: { provider: { type: "cloudflare", tokenFile }, ipv4: { url: ipUrl } } }];
  s.dns = withZoneId ? { provider: "cloudflare", zoneId: ZONE.id, zoneName: ZONE.name } : { provider: "cloudflare", zoneName: ZONE.name };
  return s;
}

/** Renders the updater for `spec`, pointed at the stub; returns how to run it. */
function install(dir: string, s: TailnetSpec, api: CloudflareStub, outputs: string[]) {
  mkdirSync(dir, { recursive: true });
  const files = renderDdnsFiles(loadTailnet(s));
  const env = files.find((f) => f.path.endsWith("ddns.env"))!.content;
  expect(envValue(env, "CLOUDFLARE_API_URL")).toBe(CLOUDFLARE_API_URL);
  const paths = writeRendered(files, dir, (f) =>
    f.path.endsWith("ddns.env") ? setEnv(f.content, { CLOUDFLARE_API_URL: api.apiUrl, DDNS_STATE_DIR: join(dir, "state") }) : f.content,
  );
  return async () => {
    const r = await runScript(paths["ddns-update.sh"]!, [paths["ddns.env"]!]);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
}

describe.skipIf(!!missing)(`the DDNS updater against a recording Cloudflare API stand-in ${missing ?? ""}`, () => {
  const dir = suiteScratchDir("cdktf-tailnet-ddns-cloudflare-");
  const tokenFile = join(dir, "cloudflare-token");
  const outputs: string[] = [];
  let ip: Awaited<ReturnType<typeof startAddressStub>>;
  let api: CloudflareStub;
  let run: () => ReturnType<typeof runScript>;
  const list = {
    method: "GET",
    path: `/zones/${ZONE.id}/dns_records?type=A&name=${NAME}`,
    authorization: `Bearer ${TOKEN}`,
    contentType: undefined,
    body: undefined,
  };
  const patch = (content: string, id = "rec-home") => ({
    method: "PATCH",
    path: `/zones/${ZONE.id}/dns_records/${id}`,
    authorization: `Bearer ${TOKEN}`,
    contentType: "application/json",
    body: { content },
  });

  beforeAll(async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    ip = await startAddressStub("198.51.100.7");
    api = await startCloudflareStub(ZONE, TOKEN, [{ id: "rec-home", type: "A", name: NAME, content: "198.51.100.1", ttl: 300, proxied: false }]);
    run = install(join(dir, "with-zone-id"), spec(tokenFile, ip.url, true), api, outputs);
  });

  afterAll(async () => {
    await ip?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the record, then edits its content with PATCH, authenticated with the bearer token", async () => {
    const r = await run();
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`ddns: ${NAME} A 198.51.100.7: updated (was 198.51.100.1)`);
    expect(api.requests).toEqual([list, patch("198.51.100.7")]);
    expect(api.records[0]).toMatchObject({ content: "198.51.100.7", ttl: 300, proxied: false });
  });

  it("sends no request while the address is unchanged", async () => {
    api.requests.length = 0;
    const r = await run();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`ddns: ${NAME} A 198.51.100.7: unchanged`);
    expect(api.requests).toEqual([]);
  });

  it("surfaces an API error with Cloudflare's message, and catches up once the API answers again", async () => {
    ip.set("198.51.100.8");
    api.requests.length = 0;
    api.token = "another-token";
    const denied = await run();
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toBe(`ddns: error: cloudflare: GET /zones/${ZONE.id}/dns_records?type=A&name=${NAME} failed (HTTP 403): 10000 Authentication error`);
    expect(api.requests).toEqual([list]);

    api.token = TOKEN;
    api.failWith({ status: 400, errors: [{ code: 9005, message: "Content for A record is invalid." }] });
    const invalid = await run();
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stderr).toContain("(HTTP 400): 9005 Content for A record is invalid.");
    api.failWith(undefined);

    api.requests.length = 0;
    const ok = await run();
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain(`ddns: ${NAME} A 198.51.100.8: updated (was 198.51.100.7)`);
    expect(api.requests).toEqual([list, patch("198.51.100.8")]);
  });

  it("looks the zone up by name (once) when the spec has no zone id, and creates a missing record", async () => {
    const byName = await startCloudflareStub(ZONE, TOKEN);
    try {
      const runByName = install(join(dir, "zone-name-only"), spec(tokenFile, ip.url, false), byName, outputs);
      const first = await runByName();
      expect(first.stderr).toBe("");
      expect(first.stdout).toContain(`ddns: ${NAME} A 198.51.100.8: created`);
      expect(byName.requests).toEqual([
        { method: "GET", path: `/zones?name=${ZONE.name}`, authorization: `Bearer ${TOKEN}`, contentType: undefined, body: undefined },
        list,
        {
          method: "POST",
          path: `/zones/${ZONE.id}/dns_records`,
          authorization: `Bearer ${TOKEN}`,
          contentType: "application/json",
          body: { type: "A", name: NAME, content: "198.51.100.8", ttl: 60, proxied: false, comment: "cdktf-tailnet: kept current by the updater on host home" },
        },
      ]);
      ip.set("198.51.100.9");
      byName.requests.length = 0;
      const second = await runByName();
      expect(second.exitCode).toBe(0);
      expect(byName.requests).toEqual([list, patch("198.51.100.9", "rec1")]);
    } finally {
      await byName.close();
      ip.set("198.51.100.8");
    }
  });

  it("never prints the token, and no rendered file holds it", () => {
    expect(outputs.length).toBeGreaterThan(0);
    for (const out of outputs) expect(out).not.toContain(TOKEN);
    for (const f of renderDdnsFiles(loadTailnet(spec(tokenFile, ip.url, true)))) expect(f.content).not.toContain(TOKEN);
  });
});
