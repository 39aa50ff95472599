/**
 * The lab's CA and server certificates come from the kit's own issuer (secrets/x509.ts): openssl
 * reads and verifies them, a TLS client that trusts only the lab CA accepts the server, keys are
 * 0600. (The lab test then runs headscale, derper and tailscale on them.)
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { connect, createServer } from "node:tls";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createLabCa, issueLabCertificate } from "../../lab/certs.js";
import { issueCertificate, issueSelfSigned } from "../../secrets/index.js";
import { scratchDir } from "../support/scratch.js";

const openssl = (...args: string[]) => execFileSync("openssl", args, { encoding: "utf8" });
const keyId = (text: string, what: string) => new RegExp(`${what}:\\s*\\n\\s*(?:keyid:)?([0-9A-F:]+)`).exec(text)?.[1];

describe("lab certificates (the kit's own issuer)", () => {
  it("a CA (CA:TRUE, keyCertSign, cRLSign) and server certificates it signs, for DNS names and IP addresses (IPv4-mapped as 16 bytes), keys 0600", async () => {
    const dir = scratchDir("cdktf-tailnet-lab-certs-");
    const ca = await createLabCa(dir, "ab12");
    const server = await issueLabCertificate(ca, dir, "headscale", ["hs.example.com", "10.77.0.10", "2001:db8:77::10", "::ffff:10.77.0.10"]);
    expect(ca).toEqual({ certFile: `${dir}/ca.crt`, keyFile: `${dir}/ca.key` });
    expect(server).toEqual({ certFile: `${dir}/headscale.crt`, keyFile: `${dir}/headscale.key` });
    for (const { certFile, keyFile } of [ca, server]) {
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(statSync(certFile).mode & 0o777).toBe(0o644);
    }

    const caText = openssl("x509", "-in", ca.certFile, "-noout", "-text");
    expect(caText).toContain("Subject: CN = cdktf-tailnet lab CA ab12");
    expect(caText).toMatch(/X509v3 Basic Constraints: critical\s*\n\s*CA:TRUE/);
    expect(caText).toMatch(/X509v3 Key Usage: critical\s*\n\s*Certificate Sign, CRL Sign/);
    expect(caText).toContain("ASN1 OID: prime256v1");

    const text = openssl("x509", "-in", server.certFile, "-noout", "-text");
    expect(text).toContain("Issuer: CN = cdktf-tailnet lab CA ab12");
    expect(text).toContain("Subject: CN = hs.example.com");
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/);
    expect(text).toContain("TLS Web Server Authentication");
    expect(text).toMatch(
      /X509v3 Subject Alternative Name:\s*\n\s*DNS:hs\.example\.com, IP Address:10\.77\.0\.10, IP Address:2001:DB8:77:0:0:0:0:10, IP Address:0:0:0:0:0:FFFF:A4D:A\s*\n/,
    );
    expect(keyId(caText, "X509v3 Subject Key Identifier")).toMatch(/^[0-9A-F]{2}(:[0-9A-F]{2}){19}$/); // SHA-1 of the CA's public key
    expect(keyId(text, "X509v3 Authority Key Identifier")).toBe(keyId(caText, "X509v3 Subject Key Identifier"));
    expect(openssl("verify", "-CAfile", ca.certFile, "-purpose", "sslserver", server.certFile)).toContain(": OK");

    const x = new X509Certificate(readFileSync(server.certFile));
    const caX = new X509Certificate(readFileSync(ca.certFile));
    expect(caX.ca).toBe(true);
    expect(x.ca).toBe(false);
    expect(x.checkIssued(caX)).toBe(true);
    expect(x.verify(caX.publicKey)).toBe(true);
    expect(x.checkHost("hs.example.com")).toBe("hs.example.com");
    expect(x.checkIP("10.77.0.10")).toBe("10.77.0.10");
    expect(x.checkIP("::ffff:10.77.0.10")).toBe("::ffff:10.77.0.10");
  });

  it("a TLS client that trusts only the lab CA accepts a server with its certificate, by name and by address", async () => {
    const dir = scratchDir("cdktf-tailnet-lab-tls-");
    const ca = await createLabCa(dir, "cd34");
    const leaf = await issueLabCertificate(ca, dir, "derp-1", ["derp1.example.com", "127.0.0.1"]);
    const server = createServer({ cert: readFileSync(leaf.certFile), key: readFileSync(leaf.keyFile) }, (s) => s.end("hello"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const hello = (servername: string | undefined) =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port, ca: readFileSync(ca.certFile), ...(servername && { servername }) }, () =>
          s.once("data", (d) => resolve(String(d))),
        );
        s.on("error", reject);
      });
    try {
      expect(await hello("derp1.example.com")).toBe("hello");
      expect(await hello(undefined)).toBe("hello"); // checked against the address, 127.0.0.1
      await expect(hello("other.example.com")).rejects.toThrow(/does not match certificate's altnames/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("signs only with a CA certificate and its own key", async () => {
    const dir = scratchDir("cdktf-tailnet-lab-refuse-");
    const ca = await createLabCa(dir, "ef56");
    const notCa = issueSelfSigned("derp.example.com", 1);
    expect(() => issueCertificate({ commonName: "x.example.com", names: ["x.example.com"], days: 1, issuer: notCa })).toThrow(
      "CN=derp.example.com is not a CA certificate, so it cannot sign others",
    );
    const otherKey = issueCertificate({ commonName: "other", names: [], days: 1, ca: true }).keyPem;
    expect(() =>
      issueCertificate({ commonName: "x.example.com", names: ["x.example.com"], days: 1, issuer: { certPem: readFileSync(ca.certFile), keyPem: otherKey } }),
    ).toThrow("is not the private key of CN=cdktf-tailnet lab CA ef56");
    expect(() => issueCertificate({ commonName: "x", names: [], days: 1 })).toThrow("a server certificate needs at least one name");
  });
});
