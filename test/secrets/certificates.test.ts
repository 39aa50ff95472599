import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTailnet, TailnetSpecError } from "../../model/index.js";
import { renderDerpJson, renderDerpYaml } from "../../render/index.js";
import { certificatePin, checkCertificateFiles, issueSelfSigned, prepareTailnet } from "../../secrets/index.js";
import { scratchDir } from "../support/scratch.js";
import { exampleSpec, minimalSpec } from "../support/specs.js";
import { derperArgs } from "../../render/command-lines.js";

const scratch = () => scratchDir("cdktf-tailnet-certs-");

describe("kit-issued self-signed certificates", () => {
  it("carry the IP as SAN, and the pin is the SHA-256 of the DER bytes (checked by openssl)", () => {
    const dir = scratch();
    const cert = issueSelfSigned("192.0.2.50", 1826);
    writeFileSync(join(dir, "c.pem"), cert.certPem);
    const text = execFileSync("openssl", ["x509", "-in", join(dir, "c.pem"), "-noout", "-text"], { encoding: "utf8" });
    expect(text).toMatch(/Subject Alternative Name:\s*\n\s*IP Address:192\.0\.2\.50/);
    expect(text).toContain("ASN1 OID: prime256v1");
    expect(text).toContain("Signature Algorithm: ecdsa-with-SHA256");
    expect(text).toContain("TLS Web Server Authentication");
    const der = execFileSync("openssl", ["x509", "-in", join(dir, "c.pem"), "-outform", "der"]);
    expect(certificatePin(cert.der)).toBe(`sha256-raw:${createHash("sha256").update(der).digest("hex")}`);
    expect(execFileSync("openssl", ["verify", "-CAfile", join(dir, "c.pem"), "-purpose", "sslserver", join(dir, "c.pem")], { encoding: "utf8" })).toContain(
      ": OK",
    );
    const x = new X509Certificate(cert.certPem);
    expect(x.checkIP("192.0.2.50")).toBe("192.0.2.50");
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it("issues for IPv6 addresses and DNS names too", () => {
    expect(new X509Certificate(issueSelfSigned("2001:db8::10", 365).certPem).checkIP("2001:db8::10")).toBeDefined();
    expect(new X509Certificate(issueSelfSigned("derp.example.com", 365).certPem).checkHost("derp.example.com")).toBe("derp.example.com");
  });

  it("encodes an IPv4-mapped or embedded-IPv4 address as its 16 bytes (validation refuses mapped ones; the encoder is still exact)", () => {
    const issued = issueSelfSigned("::ffff:192.0.2.1", 365);
    const mapped = new X509Certificate(issued.certPem);
    expect(mapped.subjectAltName).toBe("IP Address:0:0:0:0:0:FFFF:C000:201");
    expect(mapped.checkIP("::ffff:192.0.2.1")).toBe("::ffff:192.0.2.1");
    expect(mapped.checkIP("::ffff:c000:201")).toBe("::ffff:c000:201");
    expect(mapped.checkIP("192.0.2.1")).toBeUndefined(); // 16 bytes, not the 4 of the IPv4 address
    const file = join(scratch(), "mapped.pem");
    writeFileSync(file, issued.certPem);
    const text = execFileSync("openssl", ["x509", "-in", file, "-noout", "-text"], { encoding: "utf8" });
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s*\n\s*IP Address:0:0:0:0:0:FFFF:C000:201\s*\n/);
    const der = execFileSync("openssl", ["x509", "-in", file, "-outform", "der"]);
    const san = [0x87, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1];
    expect(der.includes(Buffer.from(san)), "an iPAddress SAN of 16 bytes").toBe(true);
    expect(new X509Certificate(issueSelfSigned("64:ff9b::198.51.100.7", 365).certPem).subjectAltName).toBe("IP Address:64:FF9B:0:0:0:0:C633:6407");
  });

  it("refuses an address with a zone: a certificate holds an address's bytes, and a zone is not one of them", () => {
    expect(() => issueSelfSigned("fe80::1%eth0", 365)).toThrow('"fe80::1%eth0" carries the zone "%eth0", which names an interface of one machine');
  });

  it("pins the example's IP-only node in both maps, key 0600, the same pin on every run", () => {
    const secretsDir = scratch();
    const first = prepareTailnet(exampleSpec(), { secretsDir });
    const node = first.derp.regions.find((r) => r.code === "edge")!.nodes[0]!;
    expect(node.certName).toMatch(/^sha256-raw:[0-9a-f]{64}$/);
    const files = node.derper.certificateFiles!;
    expect(statSync(files.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(secretsDir, "home-lab")).mode & 0o777).toBe(0o700);
    expect(certificatePin(new X509Certificate(readFileSync(files.certFile)).raw)).toBe(node.certName);
    expect(JSON.parse(renderDerpJson(first)).Regions["904"].Nodes[0].CertName).toBe(node.certName);
    expect(renderDerpYaml(first)).toContain(`certname: "${node.certName}"`);
    expect(derperArgs(node)).toContain("-certmode=manual");
    const again = prepareTailnet(exampleSpec(), { secretsDir });
    expect(again.derp.regions.find((r) => r.code === "edge")!.nodes[0]!.certName).toBe(node.certName);
  });

  it("reissues (and re-pins) a certificate close to expiry, or one issued for another address", () => {
    const secretsDir = scratch();
    const pin = (t: ReturnType<typeof prepareTailnet>) => t.derp.regions.find((r) => r.code === "edge")!.nodes[0]!.certName;
    const now = prepareTailnet(exampleSpec(), { secretsDir });
    const later = prepareTailnet(exampleSpec(), { secretsDir, now: new Date(Date.now() + 1810 * 86400_000) });
    expect(pin(later)).not.toBe(pin(now));
    const moved = exampleSpec();
    moved.derp!.regions!.find((r) => r.code === "edge")!.nodes[0]!.hostname = "192.0.2.51";
    moved.hosts!.find((h) => h.name === "edge")!.publicIpv4 = "192.0.2.51";
    const movedPin = pin(prepareTailnet(moved, { secretsDir }));
    expect(movedPin).not.toBe(pin(later));
  });

  it("reuses a DNS-named node's self-signed certificate on the next run (it was reissued, or crashed, before)", () => {
    const secretsDir = scratch();
    const spec = minimalSpec();
    spec.derp!.regions![0]!.nodes![0]!.certificate = { mode: "self-signed" };
    const pin = (t: ReturnType<typeof prepareTailnet>) => t.derp.regions[0]!.nodes[0]!.certName;
    const first = prepareTailnet(spec, { secretsDir });
    expect(pin(first)).toMatch(/^sha256-raw:[0-9a-f]{64}$/);
    expect(pin(prepareTailnet(spec, { secretsDir }))).toBe(pin(first));
  });

  it("refuses to render a model that skipped prepare: the compiler does, and at run time the missing pin", () => {
    const resolved = loadTailnet(exampleSpec());
    // @ts-expect-error a ResolvedTailnet is not a PreparedTailnet (tsc fails here if it ever is)
    expect(() => renderDerpJson(resolved)).toThrow("DERP node edge-1 has a kit-issued self-signed certificate that was not issued yet");
  });
});

describe("certificates users supply", () => {
  function userCert(dir: string, name: string, opts: { name?: string; days?: number; now?: Date; otherKey?: boolean } = {}) {
    const cert = issueSelfSigned(name, opts.days ?? 90, opts.now);
    writeFileSync(join(dir, "u.crt"), cert.certPem);
    writeFileSync(join(dir, "u.key"), opts.otherKey ? issueSelfSigned(name, 90).keyPem : cert.keyPem, { mode: 0o600 });
    return { certFile: join(dir, "u.crt"), keyFile: join(dir, "u.key") };
  }

  function specWith(files: { certFile: string; keyFile: string }) {
    const spec = minimalSpec();
    spec.derp!.regions![0]!.nodes[0]!.certificate = { mode: "manual", ...files };
    return spec;
  }

  it("accepts a valid certificate for the node's name with its key", () => {
    const files = userCert(scratch(), "derp.example.com");
    const tailnet = prepareTailnet(specWith(files), { secretsDir: scratch() });
    expect(tailnet.derp.regions[0]!.nodes[0]!.derper.certificateFiles).toEqual(files);
  });

  it.each([
    ["a certificate for another host", { name: "other.example.com" }, "certFile", /u\.crt is for DNS:other\.example\.com, not for derp\.example\.com/],
    ["an expired certificate", { name: "derp.example.com", days: 10, now: new Date(Date.now() - 30 * 86400_000) }, "certFile", /u\.crt expired on \d{4}-/],
    ["a key that does not match", { name: "derp.example.com", otherKey: true }, "keyFile", /u\.key is not the private key of .*u\.crt/],
  ] as [string, { name: string; days?: number; now?: Date; otherKey?: boolean }, string, RegExp][])(
    "refuses %s with a clear message naming its field, before anything is issued",
    (_what, opts, field, message) => {
      const files = userCert(scratch(), opts.name, opts);
      let error: unknown;
      try {
        prepareTailnet(specWith(files), { secretsDir: scratch() });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TailnetSpecError);
      const issue = (error as TailnetSpecError).issues[0]!;
      expect(issue.path).toBe(`derp.regions[0].nodes[0].certificate.${field}`);
      expect(issue.message).toMatch(message);
      expect(issue.fix).toBe("give a certificate for derp.example.com that is valid now, with its own private key");
    },
  );

  it("reports missing files, and directories given as files, by name", () => {
    const node = prepareTailnet(minimalSpec()).derp.regions[0]!.nodes[0]!;
    expect(checkCertificateFiles(node, "/nonexistent/a.crt", "/nonexistent/a.key")).toEqual([
      { field: "certFile", problem: "/nonexistent/a.crt does not exist" },
      { field: "keyFile", problem: "/nonexistent/a.key does not exist" },
    ]);
    expect(checkCertificateFiles(node, "/", "/nonexistent/a.key")).toEqual([
      { field: "certFile", problem: "/ is not a file" },
      { field: "keyFile", problem: "/nonexistent/a.key does not exist" },
    ]);
  });
});
