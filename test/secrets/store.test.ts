/**
 * The secrets directory's layout: every file named by kind and identifier, inside the store
 * whatever the names hold, no two things in one file; files of the earlier flat layout adopted
 * when (and only when) they hold what their new name holds.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDerpMap } from "../../render/index.js";
import { certificatePin, issueSelfSigned, SecretStore } from "../../secrets/index.js";
import { hostileModel } from "../support/hostile-model.js";
import { scratchDir } from "../support/scratch.js";
import { minimalSpec } from "../support/specs.js";

const scratch = () => scratchDir("cdktf-tailnet-store-");
const now = new Date("2026-11-01T00:00:00Z");

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("SecretStore layout", () => {
  it("files each secret by kind and name: derp-mesh/<code>.key, derp-cert/<node>.crt and .key (folders 0700, keys 0600)", () => {
    const root = scratch();
    const store = new SecretStore("home-lab", root);
    const mesh = store.meshKey("hkg");
    const cert = store.selfSignedCertificate("edge-1", "192.0.2.50", 30, 5, now);
    expect(files(root)).toEqual(["home-lab/derp-cert/edge-1.crt", "home-lab/derp-cert/edge-1.key", "home-lab/derp-mesh/hkg.key"]);
    expect([mesh.path, cert.keyFile]).toEqual([join(root, "home-lab/derp-mesh/hkg.key"), join(root, "home-lab/derp-cert/edge-1.key")]);
    for (const d of ["home-lab", "home-lab/derp-mesh", "home-lab/derp-cert"]) expect(statSync(join(root, d)).mode & 0o777).toBe(0o700);
    for (const f of [mesh.path, cert.keyFile]) expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it("a node named like a region's mesh key (mesh-hkg) has a file of its own: neither overwrites the other", () => {
    const store = new SecretStore("t", scratch());
    const mesh = readFileSync(store.meshKey("hkg").path, "utf8");
    const cert = store.selfSignedCertificate("mesh-hkg", "192.0.2.9", 30, 5, now);
    expect(readFileSync(store.meshKey("hkg").path, "utf8")).toBe(mesh);
    expect(cert.keyFile).not.toBe(store.meshKey("hkg").path);
    expect(certificatePin(new X509Certificate(readFileSync(cert.certFile)).raw)).toBe(certificatePin(cert.der));
  });

  it("no name leads out of the store: the tailnet's, a region code's, a node's", () => {
    const root = join(scratch(), "secrets");
    for (const [tailnet, code, node] of [
      ["../../escape", "../x", "../../../etc/evil"],
      ["..", "/abs", "a/../../b"],
      [".", "..", "."],
    ] as const) {
      const store = new SecretStore(tailnet, root);
      store.meshKey(code);
      store.selfSignedCertificate(node, "192.0.2.1", 30, 5, now);
    }
    expect(readdirSync(join(root, ".."))).toEqual(["secrets"]);
    expect(files(root)).toEqual([
      "%2E.%2F..%2Fescape/derp-cert/%2E.%2F..%2F..%2Fetc%2Fevil.crt",
      "%2E.%2F..%2Fescape/derp-cert/%2E.%2F..%2F..%2Fetc%2Fevil.key",
      "%2E.%2F..%2Fescape/derp-mesh/%2E.%2Fx.key",
      "%2E./derp-cert/a%2F..%2F..%2Fb.crt",
      "%2E./derp-cert/a%2F..%2F..%2Fb.key",
      "%2E./derp-mesh/%2Fabs.key",
      "%2E/derp-cert/%2E.crt",
      "%2E/derp-cert/%2E.key",
      "%2E/derp-mesh/%2E..key",
    ]);
    expect(() => new SecretStore("t", root).read("../../x")).toThrow("it leads out of the directory");
  });
});

describe("the earlier flat layout", () => {
  it("a mesh key and a self-signed pair are moved to their new names and keep their content (the pin stays the same)", () => {
    const root = scratch();
    const dir = join(root, "home-lab");
    mkdirSync(dir, { mode: 0o700 });
    const key = `${"ab".repeat(32)}\n`;
    writeFileSync(join(dir, "derp-mesh-hkg.key"), key, { mode: 0o600 });
    const issued = issueSelfSigned("192.0.2.50", 365, now);
    writeFileSync(join(dir, "derp-edge-1.crt"), issued.certPem, { mode: 0o644 });
    writeFileSync(join(dir, "derp-edge-1.key"), issued.keyPem, { mode: 0o600 });
    const store = new SecretStore("home-lab", root);
    expect(readFileSync(store.meshKey("hkg").path, "utf8")).toBe(key);
    expect(certificatePin(store.selfSignedCertificate("edge-1", "192.0.2.50", 365, 30, now).der)).toBe(certificatePin(issued.der));
    expect(files(root)).toEqual(["home-lab/derp-cert/edge-1.crt", "home-lab/derp-cert/edge-1.key", "home-lab/derp-mesh/hkg.key"]);
  });

  it("a file that does not hold what its new name holds is left alone: the node mesh-hkg does not take region hkg's mesh key", () => {
    const root = scratch();
    const dir = join(root, "t");
    mkdirSync(dir, { mode: 0o700 });
    const key = `${"cd".repeat(32)}\n`;
    const stray = issueSelfSigned("192.0.2.7", 365, now);
    writeFileSync(join(dir, "derp-mesh-hkg.key"), key, { mode: 0o600 }); // region hkg's mesh key
    writeFileSync(join(dir, "derp-mesh-hkg.crt"), stray.certPem, { mode: 0o644 }); // node mesh-hkg's certificate, its key overwritten by the mesh key
    const store = new SecretStore("t", root);
    const cert = store.selfSignedCertificate("mesh-hkg", "192.0.2.7", 365, 30, now);
    expect(certificatePin(cert.der)).not.toBe(certificatePin(stray.der)); // a pair that does not match is not adopted
    expect(readFileSync(store.meshKey("hkg").path, "utf8")).toBe(key);
    expect(existsSync(join(dir, "derp-mesh-hkg.crt"))).toBe(true);
  });
});

describe("certificates of a hostile model", () => {
  it("two nodes of one name are refused: one file would hold the certificate of both, and one map pin would be wrong", () => {
    expect(() =>
      hostileModel(
        minimalSpec(),
        (s) => {
          s.derp!.regions![0]!.nodes = [
            { name: "same", hostname: "192.0.2.1", certificate: { mode: "self-signed" } },
            { name: "same", hostname: "192.0.2.2", certificate: { mode: "self-signed" } },
          ];
        },
        scratch(),
      ),
    ).toThrow('cdktf-tailnet: two DERP nodes are named "same"; node names must be unique across the whole map');
  });

  it("a node named ../../x keeps its key inside the store, and the pin in the maps is the certificate on disk", () => {
    const root = join(scratch(), "secrets");
    const model = hostileModel(
      minimalSpec(),
      (s) => {
        s.derp!.regions![0]!.nodes = [{ name: "../../x", hostname: "192.0.2.1", certificate: { mode: "self-signed" } }];
      },
      root,
    );
    const node = model.derp.regions[0]!.nodes[0]!;
    expect(relative(root, node.derper.certificateFiles!.keyFile)).toBe("tailnet/derp-cert/%2E.%2F..%2Fx.key");
    expect(readdirSync(join(root, ".."))).toEqual(["secrets"]);
    const onDisk = new X509Certificate(readFileSync(node.derper.certificateFiles!.certFile));
    expect(buildDerpMap(model, { includeRemovals: false }).Regions[0]![1]!.Nodes[0]!.CertName).toBe(certificatePin(onDisk.raw));
  });
});
