/**
 * The doctor's judgement of headscale's `GET /version` answer (the real answer of a real headscale
 * is read in test/integration/doctor.test.ts): the release against the spec's target and the
 * known advisories.
 */
import { describe, expect, it } from "vitest";
import { clientFinding, headscaleVersionFinding, releaseOfVersionAnswer } from "../../cli/doctor-versions.js";
import { loadTailnet } from "../../model/index.js";
import { minimalSpec } from "../support/specs.js";

const ORIGIN = "https://hs.example.com";
const answer = (version: string) => ({
  status: 200,
  body: `${JSON.stringify({ version, commit: "unknown", buildTime: "unknown", go: { version: "go1.26.8", os: "linux", arch: "amd64" }, dirty: false })}\n`,
});

function targeting(version?: string) {
  const spec = minimalSpec();
  if (version) spec.headscale.version = version;
  return loadTailnet(spec);
}

describe("doctor: headscale's release", () => {
  it("reads the release from /version's JSON, with or without a v", () => {
    expect(releaseOfVersionAnswer(answer("v0.29.3").body)).toBe("0.29.3");
    expect(releaseOfVersionAnswer(answer("0.28.0").body)).toBe("0.28.0");
    expect(releaseOfVersionAnswer(answer("dev").body)).toBeUndefined();
    expect(releaseOfVersionAnswer("<html>")).toBeUndefined();
    expect(releaseOfVersionAnswer("null")).toBeUndefined();
  });

  it("passes the release the spec targets when no advisory applies", () => {
    expect(headscaleVersionFinding(targeting(), ORIGIN, answer("v0.29.8"))).toEqual({
      check: "headscale version",
      target: ORIGIN,
      ok: true,
      detail: "runs 0.29.8, the release the spec targets; no known advisory",
      fix: "",
    });
  });

  it("flags an affected release, and one the spec does not target", () => {
    expect(headscaleVersionFinding(targeting("0.29.3"), ORIGIN, answer("v0.29.3"))).toEqual({
      check: "headscale version",
      target: ORIGIN,
      ok: false,
      detail: "0.29.3 has known advisories: headscale 0.29.7 security release (fixed in 0.29.7); headscale#3724 (fixed in 0.29.8)",
      fix: "set headscale.version to 0.29.8 (`cdktf-tailnet versions` lists each advisory) and deploy",
    });
    expect(headscaleVersionFinding(targeting(), ORIGIN, answer("v0.29.7"))).toMatchObject({
      ok: false,
      detail: "runs 0.29.7, the spec targets 0.29.8; 0.29.7 has known advisories: headscale#3724 (fixed in 0.29.8)",
      fix: "deploy the spec's headscale 0.29.8 (render and apply)",
    });
    expect(headscaleVersionFinding(targeting(), ORIGIN, answer("v0.27.1"))).toMatchObject({
      ok: false,
      fix: expect.stringMatching(/^headscale 0\.27\.1 -> 0\.29\.8 skips 0\.28; .* Deploy 0\.27\.1 -> 0\.28\.0 -> 0\.29\.8/),
    });
    expect(headscaleVersionFinding(targeting(), ORIGIN, answer("v0.30.0"))).toMatchObject({
      ok: false,
      detail: "runs 0.30.0, the spec targets 0.29.8; 0.30.0 is not a release the kit renders for",
    });
  });

  it("does not judge a development build, and fails when /version is not reachable", () => {
    expect(headscaleVersionFinding(targeting(), ORIGIN, answer("dev"))).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^names no release .*: a development build, not compared with the kit's table$/),
    });
    expect(headscaleVersionFinding(targeting(), ORIGIN, { status: 404, body: "404 page not found" })).toEqual({
      check: "headscale version",
      target: ORIGIN,
      ok: false,
      detail: "GET /version answered 404",
      fix: "headscale 0.27 and later answer GET /version: a proxy in front of headscale must pass it through",
    });
  });

  it("advises clients for the release that runs, else the spec's", () => {
    expect(clientFinding(targeting(), ORIGIN, "0.29.3").detail).toMatch(
      /^headscale 0\.29\.3 accepts Tailscale clients 1\.80\.0 or newer; run 1\.104\.4 or newer on every node .*; headscale 0\.29\.3 predates headscale#3724: /,
    );
    expect(clientFinding(targeting(), ORIGIN, undefined).detail).toMatch(
      /; headscale 0\.29\.8 includes headscale#3724: Tailscale 1\.106 and newer clients connect to older clients$/,
    );
  });
});
