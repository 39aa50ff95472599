/**
 * The lab's certificates, made with the openssl command line, fresh for every run:
 * - a lab CA (ECDSA P-256) that every lab process trusts through SSL_CERT_FILE;
 * - a certificate signed by it for each name a lab server answers to (headscale's server URL
 *   host, or its lab address when the URL names an IP address; each DERP node's host name).
 * Self-signed certificates of IP-named nodes are issued with the kit's own issuer (secrets/x509.ts).
 */
import { execFile } from "node:child_process";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and its key on disk (PEM). */
export interface LabCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 20_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === "ENOENT") throw new Error("openssl is not installed; the lab makes its certificates with it (Debian: apt-get install openssl)");
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Creates the lab CA in `dir` (ca.crt, ca.key). */
export async function createLabCa(dir: string, runId: string): Promise<LabCertificate> {
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  await openssl([
    "req", "-x509", ...EC, "-keyout", keyFile, "-out", certFile, "-days", "2",
    "-subj", `/CN=cdktf-tailnet lab CA ${runId}`,
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { certFile, keyFile };
}

/** A server certificate for `names` (DNS names or IP addresses), signed by the lab CA, written as `<base>.crt/.key` in `dir`. */
export async function issueLabCertificate(ca: LabCertificate, dir: string, base: string, names: readonly string[]): Promise<LabCertificate> {
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  await openssl([
    "req", "-x509", ...EC, "-keyout", keyFile, "-out", certFile, "-days", "2",
    "-CA", ca.certFile, "-CAkey", ca.keyFile,
    "-subj", `/CN=${names[0]}`,
    "-addext", `subjectAltName=${names.map((n) => `${isIP(n) === 0 ? "DNS" : "IP"}:${n}`).join(",")}`,
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature",
    "-addext", "extendedKeyUsage=serverAuth",
  ]);
  return { certFile, keyFile };
}
