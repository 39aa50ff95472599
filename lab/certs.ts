/**
 * The lab's certificates, issued by the kit's one certificate issuer (secrets/x509.ts, no openssl
 * command line), fresh for every run:
 * - a lab CA (ECDSA P-256, CA:TRUE) that every lab process trusts through SSL_CERT_FILE;
 * - a certificate signed by it for each name a lab server answers to (headscale's server URL
 *   host, or its lab address when the URL names an IP address; each DERP node's host name).
 * Self-signed certificates of IP-named nodes come from the same issuer. Keys are written 0600,
 * certificates 0644, each atomically (fsx/atomic-file.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fsx/atomic-file.js";
import { issueCertificate, type KitCertificate } from "../secrets/x509.js";

/** A certificate and its key on disk (PEM). */
export interface LabCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

/** How long the lab's certificates are valid: a run lasts minutes. */
const DAYS = 2;

/** Writes `issued` as `<base>.crt` (0644) and `<base>.key` (0600) in `dir`, the key first. */
export function writeLabCertificate(dir: string, base: string, issued: KitCertificate): LabCertificate {
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  writeFileAtomic(keyFile, issued.keyPem, 0o600);
  writeFileAtomic(certFile, issued.certPem, 0o644);
  return { certFile, keyFile };
}

/** Creates the lab CA in `dir` (ca.crt, ca.key). */
export async function createLabCa(dir: string, runId: string): Promise<LabCertificate> {
  return writeLabCertificate(dir, "ca", issueCertificate({ commonName: `cdktf-tailnet lab CA ${runId}`, names: [], days: DAYS, ca: true }));
}

/** A server certificate for `names` (DNS names or IP addresses), signed by the lab CA, written as `<base>.crt/.key` in `dir`. */
export async function issueLabCertificate(ca: LabCertificate, dir: string, base: string, names: readonly string[]): Promise<LabCertificate> {
  const issuer = { certPem: readFileSync(ca.certFile), keyPem: readFileSync(ca.keyFile) };
  return writeLabCertificate(dir, base, issueCertificate({ commonName: names[0] ?? base, names, days: DAYS, issuer }));
}
