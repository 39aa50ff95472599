/**
 * The local secrets directory: key material the kit generates (DERP mesh keys, private keys of
 * self-signed certificates) lives in `.cdktf-tailnet-secrets/<tailnet>/`, mode 0700,
 * each file 0600, git-ignored. Terraform gets paths and hashes, never the bytes, so no secret
 * reaches cdk.tf.json, rendered output or logs. A secret is created once and reused on every
 * synth, so deploys are stable.
 */
import { X509Certificate, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { issueSelfSigned } from "./x509.js";

/** A kit-issued certificate on disk. */
export interface IssuedCertificate {
  /** Certificate (PEM, 0644: public). */
  readonly certFile: string;
  /** Private key (PEM, 0600). */
  readonly keyFile: string;
  /** The certificate's DER bytes (what the pin is computed over). */
  readonly der: Buffer;
}

/** Where a secret lives and a hash of it (safe to publish: the secret has 256 bits). */
export interface SecretFile {
  /** Absolute path of the 0600 file. */
  readonly path: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
}

/** Default root of the secrets directory: `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`. */
export function defaultSecretsRoot(): string {
  return resolve(process.env.CDKTF_TAILNET_SECRETS_DIR ?? ".cdktf-tailnet-secrets");
}

/** A tailnet's secrets directory. */
export class SecretStore {
  readonly dir: string;

  constructor(tailnetName: string, root: string = defaultSecretsRoot()) {
    this.dir = join(root, tailnetName);
  }

  #ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  /**
   * A DERP mesh key for a region (64 lower-case hex characters, as derper's -mesh-psk-file
   * expects), created on first use.
   */
  meshKey(regionCode: string): SecretFile {
    return this.#getOrCreate(`derp-mesh-${regionCode}.key`, () => `${randomBytes(32).toString("hex")}\n`);
  }

  /**
   * The self-signed certificate of DERP node `node` for `name`: reused while it is for `name`
   * and more than `reissueBeforeDays` days of validity are left, else issued anew.
   */
  selfSignedCertificate(node: string, name: string, days: number, reissueBeforeDays: number, now: Date = new Date()): IssuedCertificate {
    const certFile = join(this.dir, `derp-${node}.crt`);
    const keyFile = join(this.dir, `derp-${node}.key`);
    if (existsSync(certFile) && existsSync(keyFile)) {
      this.#checkPrivate(keyFile);
      const cert = new X509Certificate(readFileSync(certFile));
      const fresh = new Date(cert.validTo).getTime() - now.getTime() > reissueBeforeDays * 86400_000;
      // checkIP throws on anything but an IP literal: a DNS name is checked with checkHost alone.
      const forName = (isIP(name) !== 0 ? cert.checkIP(name) : cert.checkHost(name)) !== undefined;
      if (fresh && forName) return { certFile, keyFile, der: cert.raw };
    }
    this.#ensureDir();
    const issued = issueSelfSigned(name, days, now);
    // Key first, then certificate: a crash in between leaves a key without a matching certificate,
    // which the next run replaces.
    this.#writeAtomically(keyFile, issued.keyPem, 0o600);
    this.#writeAtomically(certFile, issued.certPem, 0o644);
    return { certFile, keyFile, der: issued.der };
  }

  /** Path of a secret file in this store (it may not exist yet). */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Reads a secret file, or undefined when it does not exist. */
  read(name: string): string | undefined {
    const path = this.path(name);
    if (!existsSync(path)) return undefined;
    this.#checkPrivate(path);
    return readFileSync(path, "utf8");
  }

  /** Writes a secret file atomically, mode 0600; returns its path. */
  write(name: string, content: string): string {
    this.#ensureDir();
    const path = this.path(name);
    this.#writeAtomically(path, content, 0o600);
    return path;
  }

  #writeAtomically(path: string, content: string, mode: number): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, content, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  }

  #checkPrivate(path: string): void {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new Error(`${path} is readable by others (mode 0${mode.toString(8)}); run: chmod 600 ${path}`);
  }

  #getOrCreate(name: string, create: () => string): SecretFile {
    const path = join(this.dir, name);
    if (!existsSync(path)) {
      this.#ensureDir();
      this.#writeAtomically(path, create(), 0o600);
    }
    this.#checkPrivate(path);
    return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
  }
}
