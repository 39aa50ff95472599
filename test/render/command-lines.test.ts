/**
 * Command lines rendered from the model's settings (render/command-lines.ts): derper's flags in
 * their fixed order, with the file paths and the listen address as parameters, so the lab and the
 * tests place derper's files without parsing flags back.
 */
import { describe, expect, it } from "vitest";
import { DERPER_PATHS, loadTailnet, nodeNamed } from "../../model/index.js";
import { derperArgs, headscaleArgs, meshPeers } from "../../render/command-lines.js";
import { exampleSpec } from "../support/specs.js";
import { vmSpec } from "../support/vm-specs.js";

const example = loadTailnet(exampleSpec());

describe("derperArgs", () => {
  it("renders a meshed node's settings with the container's and VM's paths", () => {
    expect(derperArgs(nodeNamed(example, "hkg-1")!)).toEqual([
      "-hostname=derp-hk1.example.com",
      "-a=:443",
      "-http-port=80",
      "-stun=true",
      "-stun-port=3478",
      `-c=${DERPER_PATHS.keyFile}`,
      "-certmode=letsencrypt",
      `-certdir=${DERPER_PATHS.certDir}`,
      "-verify-client-url=https://hs.example.com/verify",
      "-verify-client-url-fail-open=false",
      "-mesh-with=derp-hk2.example.com",
      `-mesh-psk-file=${DERPER_PATHS.meshKeyFile}`,
    ]);
  });

  it("takes other file paths and a listen address as parameters; every other flag stays", () => {
    const node = nodeNamed(example, "hkg-2")!;
    const files = { keyFile: "/run/x/derper.key", certDir: "/run/x/certs", meshKeyFile: "/run/x/mesh.key" };
    const moved = derperArgs(node, files, "127.0.0.1");
    const rendered = derperArgs(node);
    expect(moved.filter((a, i) => a !== rendered[i])).toEqual([
      "-a=127.0.0.1:443",
      "-c=/run/x/derper.key",
      "-certdir=/run/x/certs",
      "-mesh-psk-file=/run/x/mesh.key",
    ]);
    expect(derperArgs(node, files, "::1")).toContain("-a=[::1]:443");
  });

  it("writes a node off port 443 with its port, in -a and in its peers' -mesh-with", () => {
    const home = nodeNamed(example, "home-1")!;
    expect(derperArgs(home).slice(0, 5)).toEqual(["-hostname=derp-home.example.com", "-a=:8443", "-http-port=-1", "-stun=true", "-stun-port=3478"]);
    const peer = {
      ...home.derper,
      mesh: [
        { node: "home-1", hostname: "derp-home.example.com", port: 8443 },
        { node: "hkg-1", hostname: "derp-hk1.example.com", port: 443 },
        { node: "v6-1", hostname: "2001:db8::1", port: 443 },
        { node: "v6-2", hostname: "2001:db8::2", port: 8443 },
      ],
    };
    // derper dials each as https://<peer>/derp: an IPv6 address needs its brackets there.
    expect(meshPeers(peer)).toEqual(["derp-home.example.com:8443", "derp-hk1.example.com", "[2001:db8::1]", "[2001:db8::2]:8443"]);
  });

  it("leaves client verification out when the model turns it off", () => {
    const spec = vmSpec();
    spec.derp!.derper = { verifyClients: false };
    const args = derperArgs(nodeNamed(loadTailnet(spec), "fra-1")!);
    expect(args.some((a) => a.startsWith("-verify-client-url"))).toBe(false);
    expect(args).toContain("-mesh-with=derp-fra2.example.com");
  });
});

describe("headscaleArgs", () => {
  it("serves the configuration at the given path", () => {
    expect(headscaleArgs("/etc/headscale/config.yaml")).toEqual(["serve", "--config", "/etc/headscale/config.yaml"]);
  });
});
