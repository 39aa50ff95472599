/**
 * The Tailscale table against the go.mod facts (test/fixtures/tailscale-go-lines.txt, the `go`
 * lines the module proxy served): each release the kit knows, and the Go it builds derper with,
 * in the Dockerfile and on a VM, is one that release's go.mod accepts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  compareReleases,
  DEFAULT_DERPER_VERSION,
  DEFAULT_GO_VERSION,
  findTailscaleRelease,
  GO_RELEASES,
  goForTailscale,
  SUPPORTED_TAILSCALE_VERSIONS,
  TAILSCALE_RELEASES,
  validate,
} from "../../model/index.js";
import { derperBuildImage, renderDerperDockerfile, renderVmInstallScript } from "../../render/index.js";
import { FAKE_SHA256, vmSpec } from "../support/vm-specs.js";
import { minimalSpec } from "../support/specs.js";
import { prepareTailnet } from "../../secrets/index.js";

/** release (no `v`) -> the `go` line of its go.mod. */
const goLines = new Map(
  readFileSync(new URL("../fixtures/tailscale-go-lines.txt", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      const m = /^v(\d+\.\d+\.\d+) go (\d+\.\d+\.\d+)$/.exec(l.trim());
      if (!m) throw new Error(`bad fixture line ${JSON.stringify(l)}`);
      return [m[1]!, m[2]!] as const;
    }),
);

const minor = (v: string) => v.split(".").slice(0, 2).join(".");

describe("Tailscale releases and the Go that builds them", () => {
  it("knows exactly the releases whose go.mod was read, each with its go line", () => {
    expect(SUPPORTED_TAILSCALE_VERSIONS).toEqual([...goLines.keys()]);
    for (const r of TAILSCALE_RELEASES) expect(r.goMin, r.version).toBe(goLines.get(r.version));
  });

  it.each([...goLines.entries()])(
    "Tailscale %s (go %s) is built with a Go its go.mod accepts: the newest patch the kit knows of that minor",
    (release, goLine) => {
      const go = goForTailscale(release);
      expect(compareReleases(go, goLine)).toBeGreaterThanOrEqual(0);
      expect(minor(go)).toBe(minor(goLine));
      expect(go).toBe(
        GO_RELEASES.filter((g) => minor(g) === minor(goLine))
          .sort(compareReleases)
          .at(-1),
      );
    },
  );

  it("keeps one Go release per minor", () => {
    expect(new Set(GO_RELEASES.map(minor)).size).toBe(GO_RELEASES.length);
  });

  it("picks Go 1.27.4 for 1.104.x and 1.26.8 for 1.102.x; the default derper is 1.102.5, built with the default Go", () => {
    expect(goForTailscale("1.104.2")).toBe("1.27.4");
    expect(goForTailscale("v1.104.7")).toBe("1.27.4");
    expect(goForTailscale("1.102.3")).toBe("1.26.8");
    expect(DEFAULT_DERPER_VERSION).toBe("1.102.5");
    expect(DEFAULT_GO_VERSION).toBe("1.26.8");
    expect(findTailscaleRelease(DEFAULT_DERPER_VERSION)).toBeDefined();
    expect(() => goForTailscale("1.106.3")).toThrow(
      "Tailscale 1.106.3 is not a release the kit knows (known: 1.102.3, 1.102.4, 1.102.5, 1.104.0, 1.104.1, 1.104.2, 1.104.4, 1.104.5, 1.104.6, 1.104.7)",
    );
  });

  it("the Dockerfile for derper 1.104.7 builds it in the Go image its go.mod accepts", () => {
    const spec = minimalSpec();
    spec.derp!.derper = { version: "1.104.7" };
    const dockerfile = renderDerperDockerfile(prepareTailnet(spec));
    // The Go image is a build argument whose default is the pin, and the build stage is FROM it.
    const from = /^ARG GO_IMAGE=docker\.io\/library\/golang:(\d+\.\d+\.\d+)-bookworm$/m.exec(dockerfile);
    expect(dockerfile).toMatch(/^FROM \$\{GO_IMAGE\} AS build$/m);
    expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/static-debian12:nonroot$/m);
    expect(dockerfile).toMatch(/^FROM \$\{RUNTIME_IMAGE\}$/m);
    // No module source of the kit's own: GOPROXY is declared without a value, so the Go image's default applies.
    expect(dockerfile).toMatch(/^ARG GOPROXY$/m);
    expect(from?.[1]).toBe("1.27.4");
    expect(compareReleases(from![1]!, goLines.get("1.104.7")!)).toBeGreaterThanOrEqual(0);
    expect(dockerfile).toContain("RUN go install tailscale.com/cmd/derper@v1.104.7");
    expect(dockerfile).toContain("# with Go 1.27.4, which its go.mod accepts.");
    expect(derperBuildImage("1.102.5")).toBe("docker.io/library/golang:1.26.8-bookworm");
    expect(renderDerperDockerfile(prepareTailnet(minimalSpec()))).toMatch(/^ARG GO_IMAGE=docker\.io\/library\/golang:1\.26\.8-bookworm$/m);
  });

  it("a VM building derper 1.104.7 downloads Go 1.27.4 by default, and refuses a Go too old for it", () => {
    const spec = vmSpec();
    spec.derp!.derper = { version: "1.104.7" };
    const tailnet = prepareTailnet(spec);
    const host = tailnet.hosts.find((h) => h.vm?.installs.some((i) => i.program === "derper" && "source" in i && i.source === "build"))!;
    const script = renderVmInstallScript(tailnet, host);
    expect(script).toContain(`fetch https://go.dev/dl/go1.27.4.linux-${host.vm!.arch}.tar.gz ${FAKE_SHA256}`);
    expect(script).toContain('"$go_root/bin/go" install "tailscale.com/cmd/derper@v1.104.7"');

    const old = vmSpec();
    old.derp!.derper = { version: "1.104.7" };
    const i = old.hosts!.findIndex((h) => h.vm?.derper?.source === "build");
    old.hosts![i]!.vm!.derper = { source: "build", goVersion: "1.26.8", goSha256: FAKE_SHA256 };
    const result = validate(old);
    expect(result.issues.map((x) => [x.path, x.message, x.fix])).toEqual([
      [
        `hosts[${i}].vm.derper.goVersion`,
        "Go 1.26.8 cannot build derper from Tailscale 1.104.7: its go.mod needs go 1.27.4 (the build runs with GOTOOLCHAIN=local)",
        'set goVersion to "1.27.4" (with that archive\'s goSha256), or remove goVersion and the kit uses 1.27.4',
      ],
    ]);
  });

  it("refuses a derper release the kit does not know, listing the known ones", () => {
    const spec = minimalSpec();
    spec.derp!.derper = { version: "1.106.3" };
    expect(validate(spec).issues).toEqual([
      {
        path: "derp.derper.version",
        message: '"1.106.3" is not a Tailscale release the kit knows',
        fix: 'use one of 1.102.3, 1.102.4, 1.102.5, 1.104.0, 1.104.1, 1.104.2, 1.104.4, 1.104.5, 1.104.6, 1.104.7 (derper is built from it with a Go its go.mod accepts; never "latest", so a rebuild cannot change the relay silently)',
      },
    ]);
  });
});
